"""Hugging Face Trainer: a tiny BERT built from a config (no downloads) trained on the CPU."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing below may reach the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip(
    "transformers", reason="transformers is not installed (pip install 'loupe[transformers]')"
)

from run_reading import read_stream

import recorder
from recorder.integrations.transformers import Callback, rewrite_logs


class Pairs(torch.utils.data.Dataset):
    """Sequences of 8 token ids; the label says whether token 7 appears."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 50, (n, 8), generator=g)
        self.labels = (self.ids == 7).any(dim=1).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


def _model():
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    return transformers.BertForSequenceClassification(config)


def _args(tmp_path: Path, **kw):
    base = dict(
        output_dir=str(tmp_path / "out"),
        report_to="none",
        per_device_train_batch_size=8,
        per_device_eval_batch_size=16,
        num_train_epochs=2,
        logging_steps=4,
        eval_strategy="epoch",
        save_strategy="no",
        learning_rate=1e-3,
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        dataloader_num_workers=0,
    )
    base.update(kw)
    return transformers.TrainingArguments(**base)


def _run_dir(runs_root: Path, project: str) -> Path:
    dirs = [p for p in (runs_root / project).iterdir() if (p / "run.json").exists()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_trainer_logs_config_train_eval_steps_and_final_model(runs_root, tmp_path):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    callback = Callback(project="hf", log_model="end")
    trainer = transformers.Trainer(
        model=_model(),
        args=_args(tmp_path, run_name="tiny-bert"),
        train_dataset=Pairs(64, 0),
        eval_dataset=Pairs(32, 1),
        callbacks=[callback],
    )
    trainer.train()
    metrics = trainer.evaluate()  # after train(): still the same run, at the last global step
    recorder.finish()

    run_dir = _run_dir(runs_root, "hf")
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["state"] == "finished" and meta["name"] == "tiny-bert"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["learning_rate"] == 1e-3 and config["num_train_epochs"] == 2  # TrainingArguments
    assert config["hidden_size"] == 16 and config["vocab_size"] == 50  # model config
    assert config["model/num_parameters"] == sum(p.numel() for p in trainer.model.parameters())

    rows = read_stream(run_dir)
    # 64 samples / 8 = 8 steps an epoch, 2 epochs: train logs every 4 steps, eval each epoch.
    assert [r["train/global_step"] for r in rows if r.get("train/loss") is not None] == [4, 8, 12, 16]
    assert [r["train/global_step"] for r in rows if r.get("eval/loss") is not None] == [8, 16, 16]
    assert all("train/learning_rate" in r for r in rows if r.get("train/loss") is not None)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["eval/loss"] == pytest.approx(metrics["eval_loss"])
    assert "train_runtime" in summary and "train/train_runtime" not in summary
    definitions = json.loads((run_dir / "metrics.json").read_text())["definitions"]
    assert any(d["name"] == "*" and d["step_metric"] == "train/global_step" for d in definitions)

    arts = recorder.Api(runs_root).run(f"hf/{meta['id']}").logged_artifacts()
    assert len(arts) == 1
    art = arts[0]
    assert art.type == "model" and art.name == f"model-{meta['id']}:v0" and "final" in art.aliases
    names = {f.path for f in art.files()}
    assert "config.json" in names and "model.safetensors" in names
    assert art.metadata["final_model"] is True and art.metadata["global_step"] == 16
    # The artifact is a loadable model, from disk only.
    folder = art.download(tmp_path / "dl")
    reloaded = transformers.BertForSequenceClassification.from_pretrained(folder, local_files_only=True)
    assert reloaded.config.hidden_size == 16


@pytest.mark.slow
def test_trainer_checkpoint_artifacts_every_save(runs_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LOUPE_LOG_MODEL", "checkpoint")
    callback = Callback(project="hf")
    trainer = transformers.Trainer(
        model=_model(),
        args=_args(tmp_path, save_strategy="epoch", eval_strategy="no"),
        train_dataset=Pairs(64, 0),
        callbacks=[callback],
    )
    trainer.train()
    run = callback.run
    run.finish()
    arts = recorder.Api(runs_root).run(f"hf/{run.id}").logged_artifacts()
    aliases = [a.aliases for a in arts]
    assert any("checkpoint_global_step_8" in a for a in aliases)
    assert any("checkpoint_global_step_16" in a for a in aliases)
    assert any("final" in a for a in aliases)


def test_callback_is_a_trainer_callback_and_rewrites_like_wandb():
    assert isinstance(Callback(), transformers.TrainerCallback)
    assert rewrite_logs({"loss": 1, "eval_loss": 2, "test_acc": 3}) == {"train/loss": 1, "eval/loss": 2, "test/acc": 3}
    with pytest.raises(ValueError):
        Callback(log_model="sometimes")


def test_callback_does_nothing_off_world_process_zero(runs_root, tmp_path):
    callback = Callback(project="hf")
    args = _args(tmp_path)
    state = transformers.TrainerState()
    state.is_world_process_zero = False
    callback.on_train_begin(args, state, transformers.TrainerControl(), model=_model())
    callback.on_log(args, state, transformers.TrainerControl(), logs={"loss": 1.0})
    assert callback.run is None and recorder.run is None
    assert not (runs_root / "hf").exists()
