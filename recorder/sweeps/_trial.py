"""The trial an agent is running, and how `recorder.init()` inside it becomes the trial's run.

`recorder.init()` asks `pending()` first. Inside a trial (in-process: set by the agent
around `function()`; in a subprocess started by `loupe sweep agent`: read from the
LOUPE_SWEEP_* environment variables) the first init of the trial gets the sweep's
project, root and run id, and the chosen parameters on top of the config it passed,
as wandb's agent does. Nothing here imports optuna.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder import _active
from recorder.warn import warn_once

ENV_SWEEP_ID = "LOUPE_SWEEP_ID"
ENV_PARAMS = "LOUPE_SWEEP_PARAMS"
ENV_TRIAL = "LOUPE_SWEEP_TRIAL"
ENV_TRIAL_ID = "LOUPE_SWEEP_TRIAL_ID"
ENV_RUN_ID = "LOUPE_SWEEP_RUN_ID"
ENV_SWEEP_DIR = "LOUPE_SWEEP_DIR"
ENV_METRIC = "LOUPE_SWEEP_METRIC"
ENV_PRUNE = "LOUPE_SWEEP_PRUNE"


class EarlyTerminated(SystemExit):
    """Raised from `log()` when early_terminate stops the trial.

    A SystemExit (code 0) so that `except Exception` in training code does not swallow
    it and a script run by `loupe sweep agent` exits quietly; the run is already
    finished and marked `early_terminated` when it is raised.
    """

    def __init__(self, message: str = "stopped early by the sweep's early_terminate") -> None:
        super().__init__(0)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass
class TrialContext:
    sweep_id: str
    trial: int
    run_id: str
    project: str
    root: str
    params: dict[str, Any]
    metric: str | None = None
    # (value, step) -> True when the trial should stop; None when nothing is pruned.
    reporter: Callable[[float, int], bool] | None = None
    run: Any = None
    early_terminated: bool = False
    reports: int = 0
    max_report_step: int | None = None


_lock = threading.Lock()
_current: TrialContext | None = None
_env_context: TrialContext | None = None
_env_checked = False


def activate(ctx: TrialContext | None) -> None:
    global _current
    with _lock:
        _current = ctx


def current() -> TrialContext | None:
    return _current if _current is not None else _env_context


def _from_env() -> TrialContext | None:
    env = os.environ
    try:
        params = json.loads(env.get(ENV_PARAMS) or "{}")
        trial = int(env.get(ENV_TRIAL, "-1"))
    except ValueError:
        warn_once("sweep-env", f"{ENV_PARAMS} / {ENV_TRIAL} are not valid; this run is not part of the sweep")
        return None
    ctx = TrialContext(
        sweep_id=env[ENV_SWEEP_ID],
        trial=trial,
        run_id=env.get(ENV_RUN_ID) or "",
        project=env.get("LOUPE_PROJECT") or "default",
        root=env.get("LOUPE_DIR") or "runs",
        params=params if isinstance(params, dict) else {},
        metric=env.get(ENV_METRIC) or None,
    )
    if env.get(ENV_PRUNE) and ctx.metric and env.get(ENV_SWEEP_DIR) and env.get(ENV_TRIAL_ID):
        sweep_dir, trial_id = env[ENV_SWEEP_DIR], int(env[ENV_TRIAL_ID])
        holder: dict[str, Any] = {}

        def report(value: float, step: int) -> bool:
            # optuna loads only when the script logs the metric the first time.
            if "r" not in holder:
                from recorder.sweeps.pruning import child_reporter

                holder["r"] = child_reporter(sweep_dir, trial_id)
            return holder["r"](value, step)

        ctx.reporter = report
        max_iter = env.get("LOUPE_SWEEP_MAX_ITER")
        ctx.max_report_step = int(max_iter) if max_iter else None
    return ctx


def pending() -> TrialContext | None:
    """The trial whose run the next init() creates, or None (the usual case)."""
    global _env_context, _env_checked
    if _current is None and not _env_checked and ENV_SWEEP_ID in os.environ:
        with _lock:
            if not _env_checked:
                _env_checked = True
                _env_context = _from_env()
    ctx = current()
    if ctx is None or ctx.run is not None:
        return None
    return ctx


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def before_init(ctx: TrialContext, project: Any, dir: Any, config: Any, id: Any) -> tuple[Any, Any, Any, Any]:
    """The sweep's project, root, run id, and config with the trial's parameters on top."""
    if project and project != ctx.project:
        warn_once(
            f"sweep-project:{project}",
            f"init(project={project!r}) inside sweep {ctx.sweep_id}: "
            f"the run goes to the sweep's project {ctx.project!r}",
        )
    from recorder.run_config import _as_dict

    merged = _merge(_as_dict(config), ctx.params)
    return ctx.project, ctx.root, merged, (ctx.run_id or id)


def after_init(ctx: TrialContext, run: Any) -> None:
    ctx.run = run
    extra = dict(getattr(run, "extra_metadata", None) or {})
    extra.update({"sweep_id": ctx.sweep_id, "trial": ctx.trial})
    run.extra_metadata = extra
    files = getattr(run, "_files", None)
    if files is not None:
        files.write_run_json("running")  # say sweep_id now, not at the next heartbeat
    if ctx.reporter is not None and ctx.metric and not getattr(run, "disabled", False):
        _wrap_log(ctx, run, ctx.metric, ctx.reporter)  # a disabled run (e.g. rank > 0 under torchrun) reports nothing


def _metric_value(data: Any, name: str) -> float | None:
    if not isinstance(data, dict):
        return None
    v = data.get(name)
    if v is None and "." in name:  # log({"val": {"loss": x}}) is the metric "val.loss"
        cur: Any = data
        for part in name.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        v = cur
    item = getattr(v, "item", None)
    if callable(item):
        try:
            v = item()
        except Exception:
            return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _wrap_log(ctx: TrialContext, run: Any, metric: str, reporter: Callable[[float, int], bool]) -> None:
    original = run.log

    def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        original(data, step=step, commit=commit)
        value = _metric_value(data, metric)
        if value is None:
            return
        ctx.reports += 1
        if ctx.max_report_step is not None and ctx.reports >= ctx.max_report_step:
            return
        try:
            stop = reporter(value, ctx.reports)
        except Exception as exc:  # pruning must never break training
            warn_once(f"sweep-report:{type(exc).__name__}", f"sweep: could not report {metric}: {exc!r}")
            return
        if stop:
            ctx.early_terminated = True
            extra = dict(getattr(run, "extra_metadata", None) or {})
            extra["early_terminated"] = True
            run.extra_metadata = extra
            run.finish()
            raise EarlyTerminated(
                f"trial {ctx.trial} of sweep {ctx.sweep_id} stopped early at {ctx.metric} report {ctx.reports}"
            )

    run.log = log


def active_run_of(ctx: TrialContext) -> Any:
    """The trial's run if the function left it open (so the agent finishes it)."""
    run = ctx.run
    if run is not None and run in _active._runs:
        return run
    return None
