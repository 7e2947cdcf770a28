"""PyTorch Lightning logger writing Loupe runs (a drop-in for Lightning's WandbLogger).

    from recorder.integrations.lightning import Logger

    logger = Logger(project="mnist", log_model=True)        # pip install 'loupe[lightning]'
    trainer = lightning.Trainer(logger=logger, max_epochs=3)
    trainer.fit(model, datamodule)

- `save_hyperparameters()` / `log_hyperparams` go to the run's config.
- `self.log(...)` metrics are logged with a `trainer/global_step` column; every metric is
  plotted against it (`define_metric("*", step_metric="trainer/global_step")`), so train
  and validation rows line up whatever the run's own `_step` is.
- `log_model=True` logs the checkpoints of every ModelCheckpoint as `model` artifacts
  (`model-<run id>`, aliases `latest` and `best`) when training ends successfully;
  `log_model="all"` logs each checkpoint as soon as it is written.
- Only global rank 0 touches the run (other ranks get Lightning's dummy experiment).
- The end of `fit`/`test` (`finalize("success")`) finishes the run it started;
  `finalize("failed")` finishes it as failed. A later `trainer.test(...)` with the same
  logger reopens the same run (resume). A run the script started (or passed as
  `experiment=`) is left open for the script to finish.

Works with the `lightning` package and with the older `pytorch_lightning` one.
"""

from __future__ import annotations

import importlib.util
import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recorder.integrations._optional import require


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# The unified `lightning` package first; a script built on the older `pytorch_lightning`
# (installed alone) needs that package's Logger base class for its Trainer to accept us.
if not _installed("lightning") and _installed("pytorch_lightning"):
    import pytorch_lightning as _pl
    from pytorch_lightning.loggers.logger import rank_zero_experiment
    from pytorch_lightning.utilities.rank_zero import rank_zero_only
else:
    _pl = require("lightning.pytorch", "lightning", "PyTorch Lightning", "lightning")
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

import recorder
from recorder.warn import warn_once

__all__ = ["Logger"]

STEP_METRIC = "trainer/global_step"


class Logger(_pl.loggers.Logger):
    """Record a Lightning run with Loupe.

    Args:
        project: Loupe project (default LOUPE_PROJECT, WANDB_PROJECT, or "lightning_logs").
        name: run name. `id` / `version`: run id, to resume a run.
        dir: runs root (default LOUPE_DIR or ./runs).
        save_dir: where Lightning writes checkpoints when ModelCheckpoint has no dirpath
            (`<save_dir>/<project>/<run id>/checkpoints`); None: Lightning's default_root_dir.
        log_model: False, True (checkpoints at the end of training) or "all" (each one).
        prefix: put before every metric name, joined with "-" as Lightning's loggers do.
        checkpoint_name: artifact name for checkpoints (default `model-<run id>`).
        experiment: an existing recorder Run to log into instead of starting one.
        **init_kwargs: anything else recorder.init() takes (config, tags, group, mode...).
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        dir: str | os.PathLike | None = None,
        save_dir: str | os.PathLike | None = None,
        id: str | None = None,
        version: str | None = None,
        log_model: bool | str = False,
        prefix: str = "",
        checkpoint_name: str | None = None,
        experiment: Any = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        if log_model not in (False, True, "all"):
            raise ValueError(f"log_model={log_model!r} must be False, True or 'all'")
        self._project = (
            project or os.environ.get("LOUPE_PROJECT") or os.environ.get("WANDB_PROJECT") or "lightning_logs"
        )
        self._name = name
        self._dir = os.fspath(dir) if dir is not None else None
        self._save_dir = os.fspath(save_dir) if save_dir is not None else None
        self._id = version or id
        self._log_model = log_model
        self._prefix = prefix
        self._checkpoint_name = checkpoint_name
        self._experiment = experiment
        self._init_kwargs = init_kwargs
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callbacks: dict[int, Any] = {}
        self._owns_run = experiment is None

    # -- the run -----------------------------------------------------------------------
    @property
    @rank_zero_experiment
    def experiment(self) -> recorder.Run:
        """The recorder Run (on rank 0; other ranks get a dummy that ignores every call)."""
        run = self._experiment
        if run is not None and not getattr(run, "_finished", False):
            return run
        if run is not None:
            # trainer.test() after trainer.fit() finished it: continue the same run.
            kwargs = dict(self._init_kwargs, id=run.id, resume="allow")
        else:
            kwargs = dict(self._init_kwargs, id=self._id, name=self._name)
            if self._id:
                kwargs.setdefault("resume", "allow")
        kwargs.setdefault("reinit", "create_new")
        active = recorder.run
        if run is None and active is not None and self._id is None:
            # A run the script started itself (recorder.init before the Trainer) is reused,
            # as WandbLogger does with wandb.run; the script finishes it, not the logger.
            warn_once(
                "lightning-reuse",
                f"Logger: logging into the run already started ({active.id}); "
                "call recorder.finish() first for a new one",
            )
            self._experiment = active
            self._owns_run = False
        else:
            self._experiment = recorder.init(project=self._project, dir=self._dir, **kwargs)
            self._owns_run = True
        self._experiment.define_metric(STEP_METRIC)
        self._experiment.define_metric("*", step_metric=STEP_METRIC)
        return self._experiment

    @property
    def name(self) -> str:
        """The project (as WandbLogger does; the run's own name is `experiment.name`)."""
        return self._project

    @property
    def version(self) -> str | None:
        """The run id, without starting the run if it has not started."""
        return self._experiment.id if self._experiment is not None else self._id

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def root_dir(self) -> str | None:
        return self._dir

    # -- logging -----------------------------------------------------------------------
    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self.experiment.config.update(_plain_params(params), allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        row = {}
        for k, v in metrics.items():
            key = f"{self._prefix}{self.LOGGER_JOIN_CHAR}{k}" if self._prefix else k
            row[key] = v
        if step is not None:
            row[STEP_METRIC] = int(step)
        self.experiment.log(row)

    # -- checkpoints ---------------------------------------------------------------------
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if self._log_model == "all" or (
            self._log_model is True and getattr(checkpoint_callback, "save_top_k", 1) == -1
        ):
            self._log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        run = self._experiment
        if run is None or getattr(run, "_finished", False):
            return
        if status == "success":
            for callback in self._checkpoint_callbacks.values():
                self._log_checkpoints(callback)
        if self._owns_run:  # a run the script passed in or started is the script's to finish
            run.finish(exit_code=1 if status == "failed" else 0)

    @rank_zero_only
    def _log_checkpoints(self, callback: Any) -> None:
        from recorder.artifacts import Artifact

        run = self.experiment
        for mtime, path, score in _new_checkpoints(callback, self._logged_model_time):
            settings = {
                k: getattr(callback, k)
                for k in ("monitor", "mode", "save_last", "save_top_k", "save_weights_only", "_every_n_train_steps")
                if hasattr(callback, k)
            }
            metadata = {
                "score": score.item() if hasattr(score, "item") else score,
                "original_filename": Path(path).name,
                callback.__class__.__name__: settings,  # a weakref proxy: type() would say ProxyType
            }
            name = self._checkpoint_name or f"model-{run.id}"
            artifact = Artifact(name, type="model", metadata=metadata)
            artifact.add_file(path, name="model.ckpt")
            aliases = ["latest", "best"] if path == getattr(callback, "best_model_path", None) else ["latest"]
            run.log_artifact(artifact, aliases=aliases)
            self._logged_model_time[path] = mtime

    # Lightning pickles loggers for the "spawn" launchers: the Run stays in this process.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._experiment is not None:
            state["_id"] = self._experiment.id
        state["_experiment"] = None
        return state


def _plain_params(params: Any) -> dict[str, Any]:
    if isinstance(params, Namespace):
        params = vars(params)
    out: dict[str, Any] = {}
    for k, v in dict(params or {}).items():
        if isinstance(v, (Namespace, Mapping)):
            v = _plain_params(v)
        elif callable(v) and not isinstance(v, type):
            v = getattr(v, "__name__", None) or type(v).__name__
        elif isinstance(v, type):
            v = v.__name__
        out[str(k)] = v
    return out


def _new_checkpoints(callback: Any, logged: dict[str, float]) -> list[tuple[float, str, Any]]:
    """(mtime, path, score) of the callback's checkpoints not logged yet (or rewritten since)."""
    found: dict[str, Any] = {}
    if getattr(callback, "last_model_path", None) and hasattr(callback, "current_score"):
        found[callback.last_model_path] = callback.current_score
    if getattr(callback, "best_model_path", None) and hasattr(callback, "best_model_score"):
        found[callback.best_model_path] = callback.best_model_score
    for path, score in (getattr(callback, "best_k_models", None) or {}).items():
        found[path] = score
    out = []
    for path, score in found.items():
        try:
            mtime = Path(path).stat().st_mtime
        except OSError:
            continue
        if path not in logged or logged[path] < mtime:
            out.append((mtime, path, score))
    return sorted(out, key=lambda t: (t[0], t[1]))
