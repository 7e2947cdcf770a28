"""PyTorch Lightning: a tiny real model trained on the CPU, logged through the Logger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch", reason="lightning is not installed (pip install 'loupe[lightning]')")

from run_reading import read_stream

import recorder
from recorder.integrations.lightning import Logger


class TinyRegressor(pl.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader(n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)


def _trainer(tmp_path: Path, logger, **kw) -> pl.Trainer:
    kw.setdefault("max_epochs", 2)
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=logger,
        default_root_dir=tmp_path,
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kw,
    )


def _run_dir(runs_root: Path, project: str) -> Path:
    dirs = [p for p in (runs_root / project).iterdir() if (p / "run.json").exists()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_lightning_fit_logs_config_steps_and_checkpoint_artifact(runs_root, tmp_path):
    torch.manual_seed(0)
    logger = Logger(project="pl", name="tiny", log_model=True, tags=["lightning"])
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val/loss", save_top_k=1)
    trainer = _trainer(tmp_path, logger, callbacks=[ckpt])
    trainer.fit(TinyRegressor(lr=0.05, hidden=8), _loader(), _loader(32, seed=1))

    run_dir = _run_dir(runs_root, "pl")
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["state"] == "finished" and meta["name"] == "tiny" and meta["tags"] == ["lightning"]
    assert logger.version == meta["id"] and logger.name == "pl"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["lr"] == 0.05 and config["hidden"] == 8

    rows = read_stream(run_dir)
    train = [r for r in rows if r.get("train/loss") is not None]
    val = [r for r in rows if r.get("val/loss") is not None]
    # 64 samples / 16 = 4 batches an epoch, 2 epochs = global steps 0..7, logged every 2nd.
    assert [r["trainer/global_step"] for r in train] == [1, 3, 5, 7]
    assert [r["trainer/global_step"] for r in val] == [3, 7]
    assert all(r["epoch"] in (0, 1) for r in rows if r.get("epoch") is not None)
    definitions = json.loads((run_dir / "metrics.json").read_text())["definitions"]
    assert {"name": "*", "step_metric": "trainer/global_step"}.items() <= next(
        d for d in definitions if d["name"] == "*"
    ).items()

    # log_model=True: the checkpoints are logged once training ended successfully.
    arts = recorder.Api(runs_root).run(f"pl/{meta['id']}").logged_artifacts()
    assert arts, "no checkpoint artifact"
    art = arts[-1]
    assert art.type == "model" and art.name.startswith(f"model-{meta['id']}")
    assert "best" in art.aliases and "latest" in art.aliases
    assert [f.path for f in art.files()] == ["model.ckpt"]
    assert art.metadata["original_filename"].endswith(".ckpt")
    assert art.metadata["ModelCheckpoint"]["monitor"] == "val/loss"
    # The stored file is a real, loadable Lightning checkpoint.
    stored = Path(art.download(tmp_path / "dl")) / "model.ckpt"
    state = torch.load(stored, weights_only=False)
    assert state["global_step"] == 8 and state["hyper_parameters"]["hidden"] == 8


def test_lightning_log_model_all_then_test_reopens_same_run(runs_root, tmp_path):
    logger = Logger(project="pl", log_model="all", prefix="fold0")
    ckpt = pl.callbacks.ModelCheckpoint(save_top_k=-1, every_n_epochs=1)
    trainer = _trainer(tmp_path, logger, callbacks=[ckpt])
    model = TinyRegressor()
    trainer.fit(model, _loader(), _loader(32, seed=1))
    run_id = logger.version
    arts = recorder.Api(runs_root).run(f"pl/{run_id}").logged_artifacts()
    assert len(arts) == 2  # one per epoch, logged as each was written

    trainer.test(model, _loader(16, seed=2))
    run_dir = _run_dir(runs_root, "pl")
    assert run_dir.name == run_id  # the same run, resumed
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["state"] == "finished" and meta["resumed"] is True
    rows = read_stream(run_dir)
    assert any(r.get("fold0-train/loss") is not None for r in rows)
    assert [r["trainer/global_step"] for r in rows if r.get("fold0-test/loss") is not None] == [8]


def test_lightning_failed_fit_marks_run_failed(runs_root, tmp_path):
    class Boom(TinyRegressor):
        def training_step(self, batch, batch_idx):
            if self.global_step == 2:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    logger = Logger(project="pl")
    with pytest.raises(RuntimeError, match="boom"):
        _trainer(tmp_path, logger, enable_checkpointing=False).fit(Boom(), _loader())
    meta = json.loads((_run_dir(runs_root, "pl") / "run.json").read_text())
    assert meta["state"] == "failed" and meta["exit_code"] == 1


def test_lightning_reuses_a_run_the_script_started(runs_root, tmp_path):
    run = recorder.init(project="pl", config={"dataset": "random"})
    logger = Logger(project="pl")
    _trainer(tmp_path, logger, max_epochs=1, enable_checkpointing=False).fit(TinyRegressor(), _loader())
    assert logger.experiment is run and not run._finished  # the script's run is the script's to finish
    run.finish()
    config = json.loads((Path(run.dir) / "config.json").read_text())
    assert config["dataset"] == "random" and config["lr"] == 0.05


def test_lightning_disabled_mode_writes_nothing(runs_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LOUPE_MODE", "disabled")
    logger = Logger(project="pl", log_model=True)
    _trainer(tmp_path, logger, max_epochs=1).fit(TinyRegressor(), _loader(), _loader(16, seed=1))
    assert logger.experiment.disabled
    assert not (runs_root / "pl").exists()


def test_lightning_logger_is_a_real_lightning_logger():
    assert isinstance(Logger(), pl.loggers.Logger)
