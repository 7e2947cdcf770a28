"""Launching one trial's code and reading how it ended.

In-process (`recorder.agent(sweep_id, function=train)`): the trial's parameters wait in
_trial until `train()` calls `recorder.init()`. From the shell (`loupe sweep agent`):
the trial is a subprocess, started with wandb's command macros, whose `recorder.init()`
reads them from LOUPE_SWEEP_* variables. Either way the outcome (finished, failed,
early_terminated, crashed) and the summary come back to the agent loop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder import layout
from recorder.atomic_json import read_json
from recorder.sweeps import _trial
from recorder.sweeps.config import SweepConfig
from recorder.sweeps.sweep_store import SweepStore

if TYPE_CHECKING:
    import optuna


def format_arg(v: Any) -> str:
    """One parameter value as a command-line argument: JSON for dicts, lists and None."""
    if isinstance(v, (dict, list)) or v is None:
        return json.dumps(v)
    return str(v)


def build_command(cfg: SweepConfig, params: dict[str, Any], override: list[str] | None) -> list[str]:
    """argv for one trial, with wandb's macros (${interpreter} ${program} ${args} ...)."""
    args = [f"--{k}={format_arg(v)}" for k, v in params.items()]
    if override:
        return list(override) + args
    program = cfg.program
    if cfg.command:
        out: list[str] = []
        for part in cfg.command:
            if part == "${env}":
                continue
            elif part == "${interpreter}":
                out.append(sys.executable)
            elif part == "${program}":
                if not program:
                    raise ValueError("the sweep's command uses ${program} but the config has no 'program'")
                out.append(program)
            elif part == "${args}":
                out.extend(args)
            elif part == "${args_no_hyphens}":
                out.extend(f"{k}={format_arg(v)}" for k, v in params.items())
            elif part == "${args_no_boolean_flags}":
                out.extend(
                    f"--{k}" if v is True else f"--{k}={format_arg(v)}" for k, v in params.items() if v is not False
                )
            elif part == "${args_json}":
                out.append(json.dumps(params))
            else:
                out.append(part)
        return out
    if program:
        prefix = [sys.executable, program] if program.endswith(".py") else [program]
        return prefix + args
    raise ValueError("the sweep config has no 'program' or 'command'; give the command after '--'")


def call_function(function: Callable[[], Any], ctx: _trial.TrialContext) -> tuple[str, str | None, dict[str, Any]]:
    """Run `function` in this process as the trial; returns (outcome, error, the run's summary)."""
    outcome, error = "finished", None
    _trial.activate(ctx)
    try:
        function()
    except _trial.EarlyTerminated:
        outcome = "early_terminated"
    except KeyboardInterrupt as exc:
        _finish_run(ctx, exc, 255)
        raise
    except (Exception, SystemExit) as exc:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            pass
        else:
            outcome = "failed"
            error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            print(error, file=sys.stderr, end="", flush=True)
            _finish_run(ctx, exc, 1)
    finally:
        _trial.activate(None)
    _finish_run(ctx, None, 0)
    run = ctx.run
    if run is None:
        if outcome == "finished":
            outcome, error = "failed", "the function never called recorder.init(), so the trial has no run"
        return outcome, error, {}
    if outcome == "finished" and (getattr(run, "_files", None) is not None and run._files.error):
        outcome = "failed"
        error = run._files.error.get("message") or "the run failed"
    try:
        summary = dict(run.summary)
    except Exception:
        summary = {}
    return outcome, error, summary


def _finish_run(ctx: _trial.TrialContext, exc: BaseException | None, exit_code: int) -> None:
    run = _trial.active_run_of(ctx)
    if run is None:
        return
    if exc is not None:
        run._record_exception(exc)
    run.finish(exit_code=exit_code)


def call_command(
    store: SweepStore,
    cfg: SweepConfig,
    ctx: _trial.TrialContext,
    trial: optuna.trial.Trial,
    override: list[str] | None,
) -> tuple[str, str | None, dict[str, Any]]:
    """Run the trial as a subprocess (its recorder.init() reads LOUPE_SWEEP_*); returns
    (outcome, error, the run's summary), read back from the run folder it wrote."""
    argv = build_command(cfg, ctx.params, override)
    env = dict(os.environ)
    env.update(
        {
            "LOUPE_DIR": str(store.root),
            "LOUPE_PROJECT": store.project,
            _trial.ENV_SWEEP_ID: store.id,
            _trial.ENV_PARAMS: json.dumps(ctx.params),
            _trial.ENV_TRIAL: str(trial.number),
            _trial.ENV_TRIAL_ID: str(trial._trial_id),
            _trial.ENV_RUN_ID: ctx.run_id,
            _trial.ENV_SWEEP_DIR: str(store.path.resolve()),
            "WANDB_SWEEP_ID": store.id,
        }
    )
    if ctx.metric:
        env[_trial.ENV_METRIC] = ctx.metric
    if cfg.early_terminate is not None:
        env[_trial.ENV_PRUNE] = "1"
        if cfg.early_terminate.max_iter:
            env["LOUPE_SWEEP_MAX_ITER"] = str(cfg.early_terminate.max_iter)
    try:
        proc = subprocess.Popen(argv, env=env)
    except OSError as exc:
        return "failed", f"cannot start {argv[0]!r}: {exc}", {}
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    run_dir = store.root / store.project / ctx.run_id
    try:
        run_json = read_json(run_dir / layout.RUN_FILE)
    except Exception:
        return "failed", f"the program exited with code {rc} and never called recorder.init()", {}
    if run_json.get("early_terminated"):
        return "early_terminated", None, {}
    state = run_json.get("state")
    if rc != 0 or state == "failed":
        err = (run_json.get("error") or {}).get("message") or f"the program exited with code {rc}"
        return "failed", err, {}
    if state != "finished":
        return "crashed", f"the program exited with code {rc} and left its run {state!r}", {}
    try:
        summary = read_json(run_dir / layout.SUMMARY_FILE)
    except Exception:
        summary = {}
    return "finished", None, summary if isinstance(summary, dict) else {}
