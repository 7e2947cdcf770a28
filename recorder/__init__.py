"""Loupe's recorder: wandb's init/log/finish API, writing runs to local disk.

    import recorder as wandb
    run = wandb.init(project="demo", config={"lr": 1e-3})
    wandb.log({"loss": 0.5})
    wandb.finish()

Kept light to import (no pyarrow, textual or duckdb at import time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recorder import _active
from recorder.run_config import Config, ConfigError

if TYPE_CHECKING:
    from recorder.run_api import Run
from recorder.settings import resolve as _resolve_settings

__all__ = [
    "Config",
    "ConfigError",
    "Error",
    "Run",
    "define_metric",
    "finish",
    "init",
    "log",
    "save",
]
__version__ = "0.1.0"


class Error(RuntimeError):
    """Misuse of the module-level API (e.g. log() before init())."""


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Any = None,
    notes: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    dir: Any = None,
    id: str | None = None,
    resume: Any = None,
    mode: str | None = None,
    reinit: Any = None,
    entity: str | None = None,
    settings: Any = None,
    system_interval: float | None = None,
    capture_console: bool | None = None,
    distributed: str | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run (or return the active one, as wandb does in scripts unless reinit says otherwise).

    `entity`, `settings` and other wandb-only keywords are accepted and ignored.
    Under torchrun & co. only rank 0 records unless `distributed="all"` (or
    LOUPE_DISTRIBUTED=all): then each rank is its own run in one group.
    """
    # Inside a sweep agent's trial the first init() becomes the trial's run (recorder/sweeps/_trial.py).
    _sweep_trial = _sweep_trial_module()
    sweep_trial = _sweep_trial.pending() if _sweep_trial is not None else None
    if sweep_trial is not None:
        project, dir, config, id = _sweep_trial.before_init(sweep_trial, project, dir, config, id)
        reinit = "create_new"
    current = _active.current()
    if current is not None:
        policy = reinit if isinstance(reinit, str) else ("finish_previous" if reinit else "return_previous")
        if policy in ("return_previous", "default"):
            return current
        if policy == "finish_previous":
            current.finish()
        elif policy != "create_new":
            raise ValueError(f"reinit={reinit!r} is not one of return_previous, finish_previous, create_new")
    settings_ = _resolve_settings(mode, dir, project, system_interval, capture_console)
    from recorder.integrations import distributed as _distributed  # rank policy (rank0 / all)

    settings_, name, group, id, dist_meta = _distributed.before_init(distributed, settings_, name, group, id)
    from recorder.run_api import Run

    run = Run(
        settings_,
        name=name,
        config=config,
        tags=tags,
        notes=notes,
        group=group,
        job_type=job_type,
        id=id,
        resume=resume,
    )
    _distributed.after_init(dist_meta, run)
    if sweep_trial is not None:
        _sweep_trial.after_init(sweep_trial, run)
    _active.add(run)
    return run


def _sweep_trial_module() -> Any:
    # Loaded only by a sweep agent, or in a trial subprocess it started (LOUPE_SWEEP_ID set).
    import sys

    module = sys.modules.get("recorder.sweeps._trial")
    if module is None and "LOUPE_SWEEP_ID" in __import__("os").environ:
        from recorder.sweeps import _trial as module
    return module


def _require_run(what: str) -> Run:
    run = _active.current()
    if run is None:
        raise Error(f"call recorder.init() before recorder.{what}()")
    return run


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    # wandb-style scripts call this every step: one call fewer than _require_run, and
    # positional arguments.
    run = _active.current()
    if run is None:
        raise Error("call recorder.init() before recorder.log()")
    run.log(data, step, commit)


def define_metric(name: str, step_metric: str | None = None, **kwargs: Any):
    return _require_run("define_metric").define_metric(name, step_metric=step_metric, **kwargs)


def save(glob_str: Any, base_path: Any = None, policy: str = "live") -> list[str]:
    return _require_run("save").save(glob_str, base_path=base_path, policy=policy)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    run = _active.current()
    if run is not None:
        run.finish(exit_code=exit_code)


def log_artifact(
    artifact_or_path: Any, name: str | None = None, type: str | None = None, aliases: list[str] | None = None
) -> Any:
    return _require_run("log_artifact").log_artifact(artifact_or_path, name=name, type=type, aliases=aliases)


def use_artifact(artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None) -> Any:
    return _require_run("use_artifact").use_artifact(artifact_or_name, type=type, aliases=aliases)


def link_artifact(artifact: Any, target_path: str, aliases: list[str] | None = None) -> Any:
    return _require_run("link_artifact").link_artifact(artifact, target_path, aliases=aliases)


def log_model(path: Any, name: str | None = None, aliases: list[str] | None = None) -> Any:
    return _require_run("log_model").log_model(path, name=name, aliases=aliases)


def use_model(name: str) -> str:
    return _require_run("use_model").use_model(name)


def link_model(path: Any, registered_model_name: str, name: str | None = None, aliases: list[str] | None = None) -> Any:
    return _require_run("link_model").link_model(path, registered_model_name, name=name, aliases=aliases)


def watch(
    models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 100, **kwargs: Any
) -> None:
    _require_run("watch").watch(models, criterion=criterion, log=log, log_freq=log_freq)


def unwatch(models: Any = None) -> None:
    _require_run("unwatch").unwatch(models)


# Optional parts load on first touch, so `import recorder` stays fast and needs no numpy,
# PIL, optuna or torch.
_LAZY = {
    # Run (and the writer behind it) too: the viewer imports recorder.layout and
    # recorder.journal, and with them this package, on every `loupe` command, and the
    # writer's imports were ~50 ms of each.
    "Run": ("recorder.run_api", "Run"),
    "Artifact": ("recorder.artifacts", "Artifact"),
    "Api": ("recorder.api", "Api"),
    "Image": ("recorder.media", "Image"),
    "Histogram": ("recorder.media", "Histogram"),
    "Table": ("recorder.media", "Table"),
    "plot": ("recorder.plot", None),
    "sweep": ("recorder.sweeps", "sweep"),
    "agent": ("recorder.sweeps", "agent"),
    "integrations": ("recorder.integrations", None),
}


class _NoRunConfig(Config):
    """recorder.config before init(): a plain holder, like wandb's placeholder."""


_detached_config = _NoRunConfig()


def __getattr__(name: str) -> Any:
    # `recorder.run`, `.config` and `.summary` always mean the current run's.
    if name == "run":
        return _active.current()
    if name == "config":
        run = _active.current()
        return run.config if run is not None else _detached_config
    if name == "summary":
        run = _active.current()
        return run.summary if run is not None else {}
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name)
        return module if attr is None else getattr(module, attr)
    raise AttributeError(f"module 'recorder' has no attribute {name!r}")
