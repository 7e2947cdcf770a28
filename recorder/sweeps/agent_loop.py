"""The agent loop: claim a trial, run it as a normal run, read its metric, tell Optuna.

Several agents (processes, machines on one shared filesystem) cooperate through the
sweep's Optuna journal and O_EXCL claim files (store.py): a run_cap slot and, for grid
sweeps, a grid point are claimed before each trial. How a trial's code is started and
its outcome read is in trial_launch.py; cleaning up after agents that died (their trials
marked crashed, their grid points given back) is in dead_agents.py, and runs at the top
of every iteration of the loop.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recorder import layout
from recorder.sweeps import _trial, space
from recorder.sweeps.config import SweepConfig
from recorder.sweeps.dead_agents import reap_trials, release_dead_grid_claims
from recorder.sweeps.sweep_store import SweepStore
from recorder.sweeps.trial_launch import call_command, call_function

if TYPE_CHECKING:
    import optuna


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
        prefer = (
            ("min", "best", "last", "mean", "max", "first")
            if goal == "minimize"
            else ("max", "best", "last", "mean", "min", "first")
        )
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


def make_sampler(
    cfg: SweepConfig, sweep_id: str, agent_no: int, claimed: dict[str, Any]
) -> optuna.samplers.BaseSampler:
    """grid: the point in `claimed` (filled before each study.ask); random: RandomSampler; bayes: multivariate TPE. Seeded per agent."""
    import optuna

    base = cfg.seed if cfg.seed is not None else zlib.crc32(sweep_id.encode())
    seed = (base + agent_no) % (2**32)
    if cfg.method == "grid":
        from recorder.sweeps.grid import fixed_sampler

        return fixed_sampler(claimed)
    if cfg.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate / constant_liar are "experimental"
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


class Agent:
    """One agent: runs trials of the sweep in `store` until `count`, run_cap, the grid or the metric target ends it."""

    def __init__(
        self,
        store: SweepStore,
        function: Callable[[], Any] | None = None,
        command: list[str] | None = None,
        count: int | None = None,
        quiet: bool = False,
    ) -> None:
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
        self._claimed: dict[str, Any] = {}  # the grid point the fixed sampler hands out next

    # -- main loop ----------------------------------------------------------------------
    def run(self) -> list[TrialResult]:
        import optuna

        from recorder.sweeps.pruning import make_pruner
        from recorder.sweeps.sweep_store import AgentHeartbeat

        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))  # the agent prints its own lines
        beat = AgentHeartbeat(self.store, self.agent_id)
        beat.start()
        try:
            agent_no = self.store.claim_agent_number(self.agent_id)
            self.sampler = make_sampler(self.cfg, self.store.id, agent_no, self._claimed)
            self.study = self.store.study(self.sampler, make_pruner(self.cfg))
            self.dists = space.distributions(self.cfg)
            if self.cfg.method == "grid":
                from recorder.sweeps.grid import points

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
                    self._claimed.clear()
                    self._claimed.update(self._grid_points[grid_index])
                trial = self.study.ask(self.dists)
                beat.trial = trial.number
                result = self._run(trial, grid_index)
                self.results.append(result)
                if self._target_reached(result):
                    assert self.cfg.metric is not None  # a target is reached only when there is a metric
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
        from recorder.journal import iso_now
        from recorder.sweeps.sweep_store import hostname

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

    # -- agents that died ---------------------------------------------------------------
    def release_dead_grid_claims(self) -> bool:
        """Give back grid points held by dead agents whose trial did not end; True if any."""
        return release_dead_grid_claims(self.study, self.store, self.agent_id, self._say)

    def reap_trials(self) -> None:
        """Mark RUNNING trials of dead agents FAIL (outcome 'crashed')."""
        reap_trials(self.study, self.store, self.agent_id, self._say)

    # -- one trial ----------------------------------------------------------------------
    def _run(self, trial, grid_index: int | None) -> TrialResult:
        from recorder.sweeps.pruning import trial_reporter
        from recorder.sweeps.sweep_store import hostname

        run_id = layout.new_run_id()
        params = space.config_for(self.cfg, trial.params)
        trial.set_user_attr(
            "loupe",
            {
                "agent": self.agent_id,
                "run_id": run_id,
                "grid_index": grid_index,
                "config": params,
                "host": hostname(),
                "pid": os.getpid(),
            },
        )
        metric = self.cfg.metric
        et = self.cfg.early_terminate
        ctx = _trial.TrialContext(
            sweep_id=self.store.id,
            trial=trial.number,
            run_id=run_id,
            project=self.store.project,
            root=str(self.store.root),
            params=params,
            metric=metric.name if metric else None,
            reporter=trial_reporter(trial) if et is not None else None,
            max_report_step=et.max_iter if et is not None else None,
        )
        self._say(f"trial {trial.number} run {run_id} {json.dumps(params, default=str)}")
        try:
            if self.function is not None:
                outcome, error, summary = call_function(self.function, ctx)
            else:
                outcome, error, summary = call_command(self.store, self.cfg, ctx, trial, self.command)
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


def run_agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    count: int | None = None,
    project: str | None = None,
    dir: Any = None,
    command: list[str] | None = None,
    quiet: bool = False,
) -> list[TrialResult]:
    store = SweepStore.find(sweep_id, project=project, dir=dir)
    return Agent(store, function=function, command=command, count=count, quiet=quiet).run()
