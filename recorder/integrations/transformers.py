"""Hugging Face Trainer callback writing Loupe runs (the counterpart of `report_to="wandb"`).

    from recorder.integrations.transformers import Callback   # pip install 'loupe[transformers]'

    args = TrainingArguments(output_dir="out", report_to="none", logging_steps=10)
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[Callback(project="nlp")])
    trainer.train()
    recorder.finish()          # or let the process exit; evaluate() after train() still logs

`report_to="none"` keeps the Trainer from also starting wandb, TensorBoard or others
that happen to be installed; the callback is then the only tracker.

- Config: the model's config (`model.config.to_dict()`), then `TrainingArguments.to_dict()`
  over it, flat as wandb's integration writes them, plus `model/num_parameters`.
- Metrics: every `on_log` becomes one row with `train/global_step`: keys are renamed as
  wandb does (`loss` -> `train/loss`, `eval_loss` -> `eval/loss`, `test_*` -> `test/*`);
  `define_metric("*", step_metric="train/global_step")` lines train and eval up. The
  end-of-training totals (`train_runtime`, `train_loss`, ...) go to the summary only.
- Model: `log_model="end"` (or True) saves the final model with `save_pretrained` and logs it
  as a `model` artifact `model-<run id>` (alias `final`); `"checkpoint"` also logs each
  `checkpoint-<step>` folder the Trainer saves. Default: env LOUPE_LOG_MODEL
  (WANDB_LOG_MODEL as a fallback), else off.
- Only the world process zero records (`state.is_world_process_zero`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from recorder.integrations._optional import require

_transformers = require("transformers", "transformers", "Hugging Face Transformers", "transformers")
# Imported by name at run time, so the checker cannot see the class: it is typed as Any.
_TrainerCallback: Any = _transformers.TrainerCallback

import recorder

__all__ = ["Callback", "rewrite_logs"]

STEP_METRIC = "train/global_step"
# Totals the Trainer logs once at the end of training: summary values, not curves.
SINGLE_VALUE_SCALARS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
    "total_flos",
)


def rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """Trainer log keys to sections: eval_x -> eval/x, test_x -> test/x, anything else -> train/x."""
    out: dict[str, Any] = {}
    for k, v in logs.items():
        if k.startswith("eval_"):
            out["eval/" + k[5:]] = v
        elif k.startswith("test_"):
            out["test/" + k[5:]] = v
        else:
            out["train/" + k] = v
    return out


def _log_model_mode(value: Any) -> str:
    if value is None:
        value = os.environ.get("LOUPE_LOG_MODEL") or os.environ.get("WANDB_LOG_MODEL") or "false"
    if value is True:
        return "end"
    if value is False:
        return "false"
    v = str(value).strip().lower()
    if v in ("end", "true", "1", "yes"):
        return "end"
    if v == "checkpoint":
        return "checkpoint"
    if v in ("false", "0", "no", "", "none"):
        return "false"
    raise ValueError(f"log_model={value!r} must be 'end', 'checkpoint' or False")


class Callback(_TrainerCallback):
    """Record a Trainer run with Loupe.

    Args:
        project: Loupe project (default LOUPE_PROJECT, WANDB_PROJECT, or "huggingface").
        name: run name (default `TrainingArguments.run_name` when it differs from output_dir).
        log_model: "end"/True, "checkpoint", False; None reads LOUPE_LOG_MODEL.
        run: an existing recorder Run to log into (the active run is used when there is one).
        **init_kwargs: anything else recorder.init() takes (dir, tags, group, config, mode...).
    """

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        log_model: Any = None,
        run: Any = None,
        **init_kwargs: Any,
    ) -> None:
        self._project = project
        self._name = name
        self._log_model = _log_model_mode(log_model)
        self._init_kwargs = init_kwargs
        self._run = run
        self._owns_run = False
        self._initialized = False

    @property
    def run(self) -> recorder.Run | None:
        return self._run

    # -- setup --------------------------------------------------------------------------
    def setup(self, args: Any, state: Any, model: Any = None) -> None:
        """Start (or adopt) the run and record the config; on world process zero only."""
        self._initialized = True
        if not state.is_world_process_zero:
            return
        if self._run is None or getattr(self._run, "_finished", False):
            self._run = None
            kwargs = dict(self._init_kwargs)
            name = self._name
            if state.trial_name is not None:  # hyperparameter search: one run per trial, grouped
                name = state.trial_name
                kwargs.setdefault("group", args.run_name or args.output_dir)
            elif name is None and args.run_name and args.run_name != args.output_dir:
                name = args.run_name
            active = recorder.run
            if active is not None and state.trial_name is None:
                self._run = active
            else:
                project = (
                    self._project or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "huggingface"
                )
                kwargs.setdefault("reinit", "create_new")
                self._run = recorder.init(project=project, name=name, **kwargs)
                self._owns_run = True
        run = self._run
        combined: dict[str, Any] = {}
        config = getattr(model, "config", None)
        if config is not None:
            combined.update(config if isinstance(config, dict) else config.to_dict())
        combined.update(args.to_dict())
        peft = getattr(model, "peft_config", None)
        if peft is not None:
            combined["peft_config"] = peft
        try:
            combined["model/num_parameters"] = model.num_parameters()
        except Exception:
            pass
        run.config.update(combined, allow_val_change=True)
        run.define_metric(STEP_METRIC)
        run.define_metric("*", step_metric=STEP_METRIC)

    # -- Trainer events -----------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.is_hyper_param_search and self._initialized and self._run is not None:
            if self._owns_run:
                self._run.finish()
            self._run = None
            self._initialized = False
        if not self._initialized:
            self.setup(args, state, model)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or self._run is None or not logs:
            return
        row = {}
        for k, v in logs.items():
            if k in SINGLE_VALUE_SCALARS:
                self._run.summary[k] = v
            else:
                row[k] = v
        self._run.log({**rewrite_logs(row), STEP_METRIC: state.global_step})

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero and self._run is not None and metrics:
            self._run.log({**rewrite_logs(metrics), STEP_METRIC: state.global_step})

    def on_save(self, args, state, control, **kwargs):
        if self._log_model != "checkpoint" or not state.is_world_process_zero or self._run is None:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not folder.is_dir():
            return
        aliases = [f"checkpoint_global_step_{state.global_step}"]
        if state.epoch is not None:
            aliases.append(f"epoch_{round(state.epoch, 2)}")
        self._log_folder(folder, {"global_step": state.global_step, "epoch": state.epoch}, aliases)

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if self._log_model == "false" or not state.is_world_process_zero or self._run is None or model is None:
            return
        with tempfile.TemporaryDirectory(prefix="loupe-model-") as tmp:
            save = getattr(model, "save_pretrained", None)
            if save is None:
                import torch

                torch.save(model.state_dict(), Path(tmp) / "pytorch_model.bin")
            else:
                save(tmp)
            if processing_class is not None and hasattr(processing_class, "save_pretrained"):
                processing_class.save_pretrained(tmp)
            metadata = {
                k: v
                for k, v in dict(self._run.summary).items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("_")
            }
            metadata.update(final_model=True, global_step=state.global_step)
            if args.load_best_model_at_end and state.best_metric is not None:
                metadata[f"eval/{args.metric_for_best_model}"] = state.best_metric
            self._log_folder(Path(tmp), metadata, ["final"])

    def _log_folder(self, folder: Path, metadata: dict[str, Any], aliases: list[str]) -> None:
        from recorder.artifacts import Artifact

        run = self._run
        metadata = dict(metadata)
        num = run.config.get("model/num_parameters")
        if num is not None:
            metadata["model/num_parameters"] = num
        artifact = Artifact(f"model-{run.id}", type="model", metadata=metadata)
        artifact.add_dir(folder)
        run.log_artifact(artifact, aliases=aliases)
