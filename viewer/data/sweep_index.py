"""Sweeps for the viewer and the CLI, read from disk (no Textual, no server).

    list_sweeps(roots)                 -> [SweepInfo]          every <root>/<project>/_sweeps/<id>
    sweeps_under(folders)              -> [SweepInfo]          roots, project folders or run folders
    load_sweep(root, sweep_id)         -> Sweep                info + trials
    sweep.sorted_trials()              -> trials, best first, trials without a value last
    sweep.best_so_far()                -> [(trial number, completed at, best value so far)]
    sweep.param_points(name)           -> [(param value, metric value)] for a scatter
    param_importance(sweep)            -> Importance(ranked [(param, share)], message)

Trials are read from the sweep's Optuna journal (optuna is needed for trials; without it
the sweeps are still listed and `Sweep.message` says why there are no trials). A
trial's `state` is one of finished, failed, early_terminated, no_metric, running,
crashed: a RUNNING trial whose run is gone (run.json decided as crashed, see
docs/format.md) or whose agent is gone shows as crashed before any agent reaps it.
Strings that came from configs and params are returned raw: render them with
markup off (see viewer/data/sanitize.py).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import journal, layout

TRIAL_STATES = ("finished", "early_terminated", "no_metric", "failed", "crashed", "running")


@dataclass
class SweepInfo:
    id: str
    project: str
    path: Path
    root: Path
    name: str | None
    method: str
    metric: str | None
    goal: str
    created_at: str | None
    config: dict[str, Any]


@dataclass
class TrialRow:
    number: int
    run_id: str | None
    params: dict[str, Any]  # flat: "optimizer.lr" -> value
    config: dict[str, Any]  # nested, as the run saw it
    value: float | None
    state: str
    started_at: float | None
    completed_at: float | None
    error: str | None = None
    intermediate: dict[int, float] = field(default_factory=dict)


@dataclass
class Sweep:
    info: SweepInfo
    trials: list[TrialRow]
    message: str | None = None

    @property
    def goal(self) -> str:
        return self.info.goal

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in TRIAL_STATES}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def sorted_trials(self) -> list[TrialRow]:
        sign = -1.0 if self.goal == "maximize" else 1.0
        return sorted(
            self.trials, key=lambda t: (t.value is None, sign * t.value if t.value is not None else 0.0, t.number)
        )

    def best(self) -> TrialRow | None:
        ranked = [t for t in self.sorted_trials() if t.value is not None and t.state == "finished"]
        return ranked[0] if ranked else None

    def best_so_far(self) -> list[tuple[int, float | None, float]]:
        """In completion order: (trial number, completed_at, best finished value up to then)."""
        done = [t for t in self.trials if t.value is not None and t.state == "finished"]
        done.sort(key=lambda t: (t.completed_at or 0.0, t.number))
        out, best = [], None
        for t in done:
            if best is None or (t.value > best if self.goal == "maximize" else t.value < best):
                best = t.value
            out.append((t.number, t.completed_at, best))
        return out

    def param_names(self) -> list[str]:
        names: list[str] = []
        for t in self.trials:
            for k in t.params:
                if k not in names:
                    names.append(k)
        return names

    def param_points(self, name: str) -> list[tuple[Any, float]]:
        return [
            (t.params[name], t.value)
            for t in self.trials
            if name in t.params and t.value is not None and t.state == "finished"
        ]


def _sweep_info(path: Path) -> SweepInfo | None:
    meta = journal.read_json_object(path / layout.SWEEP_FILE)
    if meta is None:
        return None
    metric = meta.get("metric") if isinstance(meta.get("metric"), dict) else None
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    return SweepInfo(
        id=path.name,
        project=path.parent.parent.name,
        path=path,
        root=path.parent.parent.parent,
        name=meta.get("name"),
        method=str(meta.get("method") or config.get("method") or "?"),
        metric=metric.get("name") if metric else None,
        goal=(metric.get("goal") if metric else None) or "minimize",
        created_at=meta.get("created_at"),
        config=config,
    )


def list_sweeps(roots: Iterable[Path | str], project: str | None = None) -> list[SweepInfo]:
    """Every sweep under the roots (one project if given), oldest first."""
    out: list[SweepInfo] = []
    for root in roots:
        root = Path(root)
        try:
            projects = [root / project] if project else sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for p in projects:
            try:
                entries = sorted((p / layout.SWEEPS_DIR).iterdir())
            except OSError:
                continue
            for e in entries:
                info = _sweep_info(e)
                if info is not None:
                    out.append(info)
    out.sort(key=lambda s: (s.created_at or "", s.id))
    return out


def sweeps_under(roots: Iterable[Path | str]) -> list[SweepInfo]:
    """Like list_sweeps, but each folder may also be a project folder or a run folder (as the
    viewer's roots may be): those list their project's sweeps."""
    out: dict[Path, SweepInfo] = {}
    for root in map(Path, roots):
        if layout.is_run_dir(root):
            found = list_sweeps([root.parent.parent], root.parent.name)
        elif (root / layout.SWEEPS_DIR).is_dir():
            found = list_sweeps([root.parent], root.name)
        else:
            found = list_sweeps([root])
        for info in found:
            out.setdefault(info.path, info)
    return sorted(out.values(), key=lambda s: (s.created_at or "", s.id))


def param_spec(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The search spec of a flat parameter name ("optimizer.lr") in a sweep config, or {}."""
    params = config.get("parameters") if isinstance(config, dict) else None
    parts = name.split(".")
    for i, part in enumerate(parts):
        if not isinstance(params, dict) or not isinstance(params.get(part), dict):
            return {}
        spec = params[part]
        if i == len(parts) - 1:
            return spec
        params = spec.get("parameters")
    return {}


def find_sweep(roots: Iterable[Path | str], sweep_id: str) -> SweepInfo | None:
    """By id, or 'project/id' / 'entity/project/id'."""
    parts = [p for p in str(sweep_id).split("/") if p]
    if not parts:
        return None
    sid, project = parts[-1], (parts[-2] if len(parts) >= 2 else None)
    for info in list_sweeps(roots, project):
        if info.id == sid:
            return info
    return None


def _run_state(run_dir: Path) -> str | None:
    run_json = journal.read_json_object(run_dir / layout.RUN_FILE)
    if run_json is None:
        return None
    from viewer.data.run_state import decide_state

    return decide_state(run_json).state


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(_flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
    return out


def _ts(d: Any) -> float | None:
    try:
        return d.timestamp() if d is not None else None
    except Exception:
        return None


def load_sweep(info: SweepInfo) -> Sweep:
    try:
        from optuna.trial import TrialState
    except ImportError:
        return Sweep(info, [], "install optuna (pip install 'loupe[sweeps]') to read this sweep's trials")
    path = info.path / layout.SWEEP_JOURNAL_FILE
    if not path.is_file():
        return Sweep(info, [], f"{path} is missing")
    try:
        frozen = _open_study(info).get_trials(deepcopy=False)
    except Exception as exc:
        return Sweep(info, [], f"cannot read the sweep's journal: {exc}")
    trials = []
    for t in frozen:
        loupe = t.user_attrs.get("loupe") or {}
        config = loupe.get("config") if isinstance(loupe.get("config"), dict) else {}
        run_id = loupe.get("run_id")
        outcome = t.user_attrs.get("outcome")
        value = None
        if t.state == TrialState.RUNNING:
            state = "running"
            if run_id:
                rs = _run_state(info.root / info.project / str(run_id))
                if rs in ("crashed", "failed", "finished"):
                    # the run is over but nobody told Optuna: its agent died
                    state = "crashed"
            agent = loupe.get("agent")
            if state == "running" and agent and _agent_gone(info.path, agent):
                state = "crashed"
        elif t.state == TrialState.COMPLETE:
            state = "finished"
            value = t.value if info.metric else None
        elif t.state == TrialState.PRUNED:
            state = "early_terminated"
        elif t.state == TrialState.FAIL:
            state = outcome if outcome in ("crashed", "no_metric") else "failed"
        else:
            state = t.state.name.lower()
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value)):
            value = None
        trials.append(
            TrialRow(
                number=t.number,
                run_id=run_id,
                params=_flat(config) or dict(t.params),
                config=config,
                value=value,
                state=state,
                started_at=_ts(t.datetime_start),
                completed_at=_ts(t.datetime_complete),
                error=t.user_attrs.get("error"),
                intermediate=dict(t.intermediate_values),
            )
        )
    return Sweep(info, trials)


def _open_study(info: SweepInfo) -> Any:
    """The sweep's study, read with Optuna's public JournalStorage API. Reading takes no
    lock (only appends do), so the viewer never blocks or is blocked by an agent."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning / FutureWarning on older Optuna
        try:
            from optuna.storages.journal import JournalFileBackend
        except ImportError:  # optuna < 4.0
            from optuna.storages import JournalFileStorage as JournalFileBackend  # type: ignore[attr-defined,no-redef]
        storage = optuna.storages.JournalStorage(JournalFileBackend(str(info.path / layout.SWEEP_JOURNAL_FILE)))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))
    try:
        return optuna.load_study(study_name=info.id, storage=storage)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _agent_gone(sweep_path: Path, agent: str) -> bool:
    """Whether a trial's agent has died (the recorder's reaper applies the same rule)."""
    try:
        path = layout.sweep_agent_file(sweep_path, str(agent))
    except ValueError:
        return False  # not an agent id the recorder writes: leave the trial as the journal says
    return journal.sweep_agent_gone(journal.read_json_object(path))


@dataclass
class Importance:
    ranked: list[tuple[str, float]]
    message: str | None = None


def param_importance(sweep: Sweep, min_trials: int = 4) -> Importance:
    """Each searched parameter's share of the metric's variance (Optuna's evaluators, offline).

    Tries fANOVA (needs scikit-learn), then PED-ANOVA, then mean decrease in impurity; returns
    an empty list with a message when none works or there are too few finished trials.
    """
    try:
        import optuna
    except ImportError:
        return Importance([], "install optuna to compute parameter importance")
    if sweep.info.metric is None:
        return Importance([], "the sweep has no metric")
    done = [t for t in sweep.trials if t.state == "finished" and t.value is not None]
    if len(done) < min_trials:
        return Importance([], f"needs at least {min_trials} finished trials (has {len(done)})")
    try:
        study = _open_study(sweep.info)
    except Exception as exc:
        return Importance([], f"cannot read the sweep's journal: {exc}")
    import warnings

    evaluators = []
    try:
        from optuna.importance import FanovaImportanceEvaluator

        evaluators.append(("fANOVA", lambda: FanovaImportanceEvaluator(seed=0)))
    except ImportError:
        pass
    try:
        from optuna.importance import PedAnovaImportanceEvaluator

        evaluators.append(("PED-ANOVA", lambda: PedAnovaImportanceEvaluator()))
    except ImportError:
        pass
    try:
        from optuna.importance import MeanDecreaseImpurityImportanceEvaluator

        evaluators.append(("mean decrease impurity", lambda: MeanDecreaseImpurityImportanceEvaluator(seed=0)))
    except ImportError:
        pass
    errors = []
    for label, make in evaluators:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = optuna.importance.get_param_importances(study, evaluator=make())
            ranked = sorted(((k, float(v)) for k, v in imp.items()), key=lambda kv: -kv[1])
            return Importance(ranked, f"by {label}")
        except Exception as exc:
            errors.append(f"{label}: {exc}")
    return Importance([], "parameter importance unavailable (" + "; ".join(errors or ["no evaluator"]) + ")")


def default_roots() -> list[Path]:
    return [Path(os.environ.get("LOUPE_DIR") or "runs")]
