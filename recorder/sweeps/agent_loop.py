"""The agent loop: claim a trial, run it as a normal run, read its metric, tell Optuna.

In-process (`recorder.agent(sweep_id, function=train)`): the trial's parameters wait in
`_trial` until `train()` calls `recorder.init()`. From the shell (`loupe sweep agent`):
each trial is a subprocess whose `recorder.init()` reads them from LOUPE_SWEEP_* variables.

Several agents (processes, machines on one shared filesystem) cooperate through the
sweep's Optuna journal and O_EXCL claim files (store.py). An agent that dies leaves its
trial RUNNING in Optuna and its run `running` on disk (readers show it as crashed);
the next agent that looks, once the dead agent's heartbeat is stale (or at once on
the same host when its pid is gone), marks that trial FAIL with outcome "crashed" and
gives a grid point back so it is tried again.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import subprocess
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import layout
from ..atomic_json import read_json
from . import _trial, space
from .config import SweepConfig
from .store import SweepStore, stale_after_s

REAP_LOCK = ".reap.lock"


@dataclass
class TrialResult:
    number: int
    run_id: str
    params: dict[str, Any]
    outcome: str  # finished | failed | early_terminated | no_metric | crashed
    value: float | None = None
    error: str | None = None


def summary_metric(summary: dict[str, Any], name: str, goal: str) -> float | None:
    """The metric from a summary; a define_metric summary {"min": .., "max": ..} gives the goal's side."""
    v = summary.get(name)
    if isinstance(v, dict):
        prefer = ("min", "best", "last", "mean", "max", "first") if goal == "minimize" else (
            "max", "best", "last", "mean", "min", "first")
        for k in prefer:
            if k in v:
                v = v[k]
                break
        else:
            return None
    if isinstance(v, str):
        v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def make_sampler(cfg: SweepConfig, sweep_id: str, agent_no: int):
    """grid: the claimed point; random: RandomSampler; bayes: multivariate TPE. Seeded per agent."""
    import optuna

    base = cfg.seed if cfg.seed is not None else zlib.crc32(sweep_id.encode())
    seed = (base + agent_no) % (2**32)
    if cfg.method == "grid":
        from .grid import FixedSampler

        return FixedSampler()
    if cfg.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate / constant_liar are "experimental"
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


def format_arg(v: Any) -> str:
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
                out.extend(f"--{k}" if v is True else f"--{k}={format_arg(v)}" for k, v in params.items() if v is not False)
            elif part == "${args_json}":
                out.append(json.dumps(params))
            else:
                out.append(part)
        return out
    if program:
        prefix = [sys.executable, program] if program.endswith(".py") else [program]
        return prefix + args
    raise ValueError("the sweep config has no 'program' or 'command'; give the command after '--'")


class Agent:
    def __init__(self, store: SweepStore, function: Callable[[], Any] | None = None,
                 command: list[str] | None = None, count: int | None = None, quiet: bool = False) -> None:
        if function is None and command is None and not (store.config().program or store.config().command):
            raise ValueError("agent() needs function= (or a sweep config with 'program'/'command')")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"count must be a non-negative integer, not {count!r}")
        self.store = store
        self.cfg = store.config()
        self.function = function
        self.command = command
        self.count = count
        self.quiet = quiet
        self.agent_id = secrets.token_hex(6)
        self.results: list[TrialResult] = []
        self._grid_points: list[dict[str, Any]] | None = None

    # -- main loop ----------------------------------------------------------------------
    def run(self) -> list[TrialResult]:
        import optuna

        from .pruning import make_pruner
        from .store import AgentHeartbeat

        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))  # the agent prints its own lines
        beat = AgentHeartbeat(self.store, self.agent_id)
        beat.start()
        try:
            agent_no = self.store.claim_agent_number(self.agent_id)
            self.sampler = make_sampler(self.cfg, self.store.id, agent_no)
            self.study = self.store.study(self.sampler, make_pruner(self.cfg))
            self.dists = space.distributions(self.cfg)
            if self.cfg.method == "grid":
                from .grid import points

                self._grid_points = points(self.cfg)
            while self.count is None or len(self.results) < self.count:
                self.reap_trials()
                if not self._claim_cap():
                    self._say(f"run_cap {self.cfg.run_cap} reached")
                    break
                grid_index = None
                if self._grid_points is not None:
                    grid_index = self._claim_grid()
                    if grid_index is None:
                        self._say("grid exhausted")
                        break
                    self.sampler.next_params = self._grid_points[grid_index]
                trial = self.study.ask(self.dists)
                beat.trial = trial.number
                result = self._run(trial, grid_index)
                self.results.append(result)
                if self._target_reached(result):
                    self._say(f"metric target {self.cfg.metric.target} reached")
                    break
        finally:
            beat.trial = None
            beat.stop()
            optuna.logging.set_verbosity(verbosity)
        return self.results

    def _say(self, msg: str) -> None:
        if not self.quiet:
            print(f"loupe sweep {self.store.id}: {msg}", file=sys.stderr, flush=True)

    def _target_reached(self, r: TrialResult) -> bool:
        m = self.cfg.metric
        if m is None or m.target is None or r.value is None or r.outcome != "finished":
            return False
        return r.value <= m.target if m.goal == "minimize" else r.value >= m.target

    # -- claims ---------------------------------------------------------------------------
    def _claim_info(self) -> dict[str, Any]:
        from .store import hostname, iso_now

        return {"agent": self.agent_id, "host": hostname(), "pid": os.getpid(), "at": iso_now()}

    def _claim_cap(self) -> bool:
        cap = self.cfg.run_cap
        if cap is None:
            return True
        n = len(self.store.claims("cap-"))
        while n < cap:
            if self.store.claim(f"cap-{n}", self._claim_info()):
                return True
            n += 1
        return False

    def _claim_grid(self) -> int | None:
        assert self._grid_points is not None
        for attempt in range(2):
            taken = self.store.claims("grid-")
            for i in range(len(self._grid_points)):
                if f"grid-{i}" not in taken and self.store.claim(f"grid-{i}", self._claim_info()):
                    return i
            if attempt == 0 and not self.release_dead_grid_claims():
                break
        return None

    def release_dead_grid_claims(self) -> bool:
        """Give back grid points held by dead agents whose trial did not end; True if any."""
        from optuna.trial import TrialState

        lock = self.store.path / "claims" / REAP_LOCK
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > 60:
                    os.unlink(lock)  # left by a reaper that died; the next pass takes it
            except OSError:
                pass
            return False
        released = False
        try:
            self.reap_trials()
            done: set[int] = set()
            for t in self.study.get_trials(deepcopy=False):
                gi = (t.user_attrs.get("loupe") or {}).get("grid_index")
                if gi is None:
                    continue
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) or (
                    t.state == TrialState.FAIL and t.user_attrs.get("outcome") != "crashed"
                ):
                    done.add(gi)
            dead: dict[str, bool] = {}
            for name in sorted(self.store.claims("grid-")):
                i = int(name.split("-", 1)[1])
                if i in done:
                    continue
                info = self.store.read_claim(name)
                if info is None:
                    try:
                        age = time.time() - (self.store.path / "claims" / name).stat().st_mtime
                    except OSError:
                        continue
                    if age < stale_after_s():
                        continue
                    agent = None
                else:
                    agent = info.get("agent")
                if agent == self.agent_id:
                    continue
                if agent is not None and agent not in dead:
                    dead[agent] = self.store.agent_is_dead(agent)
                if agent is None or dead[agent]:
                    if self.store.release_claim(name, "crashed"):
                        self._say(f"grid point {i} was held by a dead agent; it will be run again")
                        released = True
        finally:
            try:
                os.unlink(lock)
            except OSError:
                pass
        return released

    def reap_trials(self) -> None:
        """Mark RUNNING trials of dead agents FAIL (outcome 'crashed')."""
        from optuna.trial import TrialState

        storage = self.study._storage
        dead: dict[str, bool] = {}
        now = time.time()
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            agent = (t.user_attrs.get("loupe") or {}).get("agent")
            if agent == self.agent_id:
                continue
            if agent is None:
                started = t.datetime_start.timestamp() if t.datetime_start else now
                if now - started < stale_after_s():
                    continue
            else:
                if agent not in dead:
                    dead[agent] = self.store.agent_is_dead(agent)
                if not dead[agent]:
                    continue
            try:
                storage.set_trial_user_attr(t._trial_id, "outcome", "crashed")
                storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
                self._say(f"trial {t.number} belonged to an agent that died; marked crashed")
            except Exception:
                pass  # another agent got there first

    # -- one trial ----------------------------------------------------------------------
    def _run(self, trial, grid_index: int | None) -> TrialResult:
        from .pruning import trial_reporter
        from .store import hostname

        run_id = layout.new_run_id()
        params = space.config_for(self.cfg, trial.params)
        trial.set_user_attr("loupe", {
            "agent": self.agent_id, "run_id": run_id, "grid_index": grid_index, "config": params,
            "host": hostname(), "pid": os.getpid(),
        })
        metric = self.cfg.metric
        et = self.cfg.early_terminate
        ctx = _trial.TrialContext(
            sweep_id=self.store.id, trial=trial.number, run_id=run_id, project=self.store.project,
            root=str(self.store.root), params=params, metric=metric.name if metric else None,
            reporter=trial_reporter(trial) if et is not None else None,
            max_report_step=et.max_iter if et is not None else None,
        )
        self._say(f"trial {trial.number} run {run_id} {json.dumps(params, default=str)}")
        try:
            if self.function is not None:
                outcome, error, summary = self._call_function(ctx)
            else:
                outcome, error, summary = self._call_command(ctx, trial)
        except KeyboardInterrupt:
            # Counted as crashed, so a grid point stopped by Ctrl-C is run again later.
            self._tell(trial, "crashed", None, "interrupted (KeyboardInterrupt)")
            raise
        value = None
        if outcome == "finished" and metric is not None:
            value = summary_metric(summary, metric.name, metric.goal)
            if value is None or not math.isfinite(value):
                outcome, value = "no_metric", None
                error = f"metric {metric.name!r} is not in the run's summary (or not a finite number)"
        self._tell(trial, outcome, value, error)
        shown = f" {metric.name}={value:.6g}" if value is not None and metric else ""
        self._say(f"trial {trial.number} {outcome}{shown}" + (f": {error.splitlines()[-1]}" if error else ""))
        return TrialResult(trial.number, run_id, params, outcome, value, error)

    def _call_function(self, ctx: _trial.TrialContext) -> tuple[str, str | None, dict[str, Any]]:
        outcome, error = "finished", None
        _trial.activate(ctx)
        try:
            self.function()
        except _trial.EarlyTerminated:
            outcome = "early_terminated"
        except KeyboardInterrupt as exc:
            self._finish_run(ctx, exc, 255)
            raise
        except (Exception, SystemExit) as exc:
            if isinstance(exc, SystemExit) and exc.code in (None, 0):
                pass
            else:
                outcome = "failed"
                error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                print(error, file=sys.stderr, end="", flush=True)
                self._finish_run(ctx, exc, 1)
        finally:
            _trial.activate(None)
        self._finish_run(ctx, None, 0)
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

    @staticmethod
    def _finish_run(ctx: _trial.TrialContext, exc: BaseException | None, exit_code: int) -> None:
        run = _trial.active_run_of(ctx)
        if run is None:
            return
        if exc is not None:
            run._record_exception(exc)
        run.finish(exit_code=exit_code)

    def _call_command(self, ctx: _trial.TrialContext, trial) -> tuple[str, str | None, dict[str, Any]]:
        argv = build_command(self.cfg, ctx.params, self.command)
        env = dict(os.environ)
        env.update({
            "LOUPE_DIR": str(self.store.root), "LOUPE_PROJECT": self.store.project,
            _trial.ENV_SWEEP_ID: self.store.id, _trial.ENV_PARAMS: json.dumps(ctx.params),
            _trial.ENV_TRIAL: str(trial.number), _trial.ENV_TRIAL_ID: str(trial._trial_id),
            _trial.ENV_RUN_ID: ctx.run_id, _trial.ENV_SWEEP_DIR: str(self.store.path.resolve()),
            "WANDB_SWEEP_ID": self.store.id,
        })
        if ctx.metric:
            env[_trial.ENV_METRIC] = ctx.metric
        if self.cfg.early_terminate is not None:
            env[_trial.ENV_PRUNE] = "1"
            if self.cfg.early_terminate.max_iter:
                env["LOUPE_SWEEP_MAX_ITER"] = str(self.cfg.early_terminate.max_iter)
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
        run_dir = self.store.root / self.store.project / ctx.run_id
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

    def _tell(self, trial, outcome: str, value: float | None, error: str | None) -> None:
        from optuna.trial import TrialState

        try:
            trial.set_user_attr("outcome", outcome)
            if error:
                trial.set_user_attr("error", error[-2000:])
            if outcome == "finished":
                self.study.tell(trial, value if value is not None else 0.0)
            elif outcome == "early_terminated":
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                self.study.tell(trial, state=TrialState.FAIL)
        except Exception as exc:  # e.g. another agent took this trial for dead meanwhile
            self._say(f"could not record trial {trial.number}: {exc}")


def run_agent(sweep_id: str, function: Callable[[], Any] | None = None, count: int | None = None,
              project: str | None = None, dir: Any = None, command: list[str] | None = None,
              quiet: bool = False) -> list[TrialResult]:
    store = SweepStore.find(sweep_id, project=project, dir=dir)
    return Agent(store, function=function, command=command, count=count, quiet=quiet).run()
