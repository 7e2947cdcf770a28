"""Keras 3 callback writing Loupe runs (the counterpart of wandb's WandbMetricsLogger).

    from recorder.integrations.keras import Callback   # pip install 'loupe[keras]'

    model.fit(x, y, epochs=10, validation_split=0.1,
              callbacks=[Callback(project="mnist", config={"dataset": "mnist"}, log_freq=50)])
    recorder.finish()          # or let the process exit

- Config: your `config`, then `epochs`, `steps_per_epoch`, `optimizer` (its get_config())
  and `model` (name, num_parameters, layers), recorded when training begins.
- Every epoch: one row of `epoch/<metric>` (`epoch/loss`, `epoch/val_loss`, ...), with
  `epoch/epoch` and `epoch/learning_rate`; plotted against `epoch/epoch`.
- `log_freq=N` (or "batch" for every batch) also logs `batch/<metric>` every N training
  batches, with `batch/batch_step` counting batches over the whole fit.
- `log_model=True`: the trained model (`model.keras`) becomes a `model` artifact
  `model-<run id>` (alias `final`) when training ends.

Keras 3 picks its backend when first imported: set KERAS_BACKEND (torch, jax or
tensorflow) before importing this module.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from recorder.integrations._optional import require

keras = require(
    "keras",
    "keras",
    "Keras 3",
    "keras",
    hint="Keras 3 also needs a backend: install torch, jax or tensorflow and set KERAS_BACKEND",
)
# Imported by name at run time, so the checker cannot see the class: it is typed as Any.
_KerasCallback: Any = keras.callbacks.Callback

import recorder

__all__ = ["Callback"]


def _number(value: Any) -> Any:
    try:
        return float(keras.ops.convert_to_numpy(value))
    except Exception:
        return value


class Callback(_KerasCallback):
    """Record a Keras `fit` with Loupe.

    Args:
        project, name: as recorder.init(); project defaults to LOUPE_PROJECT or "keras".
        config: hyperparameters of yours, recorded with the model's and optimizer's.
        log_freq: "epoch" (default), "batch", or every N batches as well as each epoch.
        log_model: log the trained model as an artifact when training ends.
        run: an existing recorder Run to log into (the active run is used when there is one).
        **init_kwargs: anything else recorder.init() takes (dir, tags, group, mode...).
    """

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        config: Any = None,
        log_freq: str | int = "epoch",
        log_model: bool = False,
        run: Any = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        if log_freq == "epoch":
            self._batch_every = 0
        elif log_freq == "batch":
            self._batch_every = 1
        elif isinstance(log_freq, int) and not isinstance(log_freq, bool) and log_freq > 0:
            self._batch_every = log_freq
        else:
            raise ValueError(f"log_freq={log_freq!r} must be 'epoch', 'batch' or a positive number of batches")
        self._project = project
        self._name = name
        self._config = config
        self._log_model = bool(log_model)
        self._init_kwargs = init_kwargs
        self._run = run
        self._batch_step = 0

    @property
    def run(self) -> recorder.Run | None:
        return self._run

    def _start(self) -> recorder.Run:
        if self._run is None or getattr(self._run, "_finished", False):
            active = recorder.run
            if active is not None:
                self._run = active
            else:
                project = self._project or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "keras"
                kwargs = dict(self._init_kwargs)
                kwargs.setdefault("reinit", "create_new")
                self._run = recorder.init(project=project, name=self._name, **kwargs)
        return self._run

    # -- Keras events -------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        run = self._start()
        config: dict[str, Any] = {}
        if self._config:
            from recorder.run_config import _as_dict

            config.update(_as_dict(self._config))
        params = self.params or {}
        if params.get("epochs") is not None:
            config["epochs"] = params["epochs"]
        if params.get("steps") is not None:
            config["steps_per_epoch"] = params["steps"]
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            try:
                config["optimizer"] = {
                    k: _number(v) if not isinstance(v, (str, dict, type(None))) else v
                    for k, v in optimizer.get_config().items()
                }
            except Exception:
                config["optimizer"] = {"name": type(optimizer).__name__}
        try:
            config["model"] = {
                "name": model.name,
                "num_parameters": int(model.count_params()),
                "layers": len(model.layers),
            }
        except Exception:
            pass
        run.config.update(config, allow_val_change=True)
        run.define_metric("epoch/epoch")
        run.define_metric("epoch/*", step_metric="epoch/epoch")
        if self._batch_every:
            run.define_metric("batch/batch_step")
            run.define_metric("batch/*", step_metric="batch/batch_step")

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        lr = _number(getattr(optimizer, "learning_rate", None))
        return lr if isinstance(lr, float) else None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._run is None:
            return
        row = {f"epoch/{k}": _number(v) for k, v in (logs or {}).items()}
        row["epoch/epoch"] = epoch
        lr = self._learning_rate()
        if lr is not None:
            row["epoch/learning_rate"] = lr
        self._run.log(row)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._run is None or not self._batch_every:
            return
        self._batch_step += 1
        if self._batch_step % self._batch_every:
            return
        row = {f"batch/{k}": _number(v) for k, v in (logs or {}).items()}
        row["batch/batch_step"] = self._batch_step
        lr = self._learning_rate()
        if lr is not None:
            row["batch/learning_rate"] = lr
        self._run.log(row)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._run is None or not self._log_model:
            return
        from recorder.artifacts import Artifact

        run = self._run
        with tempfile.TemporaryDirectory(prefix="loupe-keras-") as tmp:
            path = Path(tmp) / "model.keras"
            self.model.save(path)
            metadata = {
                k: v
                for k, v in dict(run.summary).items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("_")
            }
            artifact = Artifact(f"model-{run.id}", type="model", metadata=metadata)
            artifact.add_file(path)
            run.log_artifact(artifact, aliases=["final"])
