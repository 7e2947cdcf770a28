"""Everything the sweeps pane draws for one sweep, built off the UI thread.

sweep_view() turns a loaded sweep_index.Sweep into a SweepView (header text, sorted
trials, best-so-far line, one ParamPlotData per parameter), so the pane's worker does
the work and the UI thread only hands the result to widgets. Names and parameter
values come from the sweep's files and are sanitised here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from rich.text import Text

from viewer.data import sweep_index
from viewer.data.sanitize import sanitize

MAX_PARAM_PLOTS = 12
MAX_PARAM_COLUMNS = 8
STATE_STYLE = {
    "finished": "cyan",
    "running": "bold green",
    "failed": "bold red",
    "crashed": "bold magenta",
    "early_terminated": "yellow",
    "no_metric": "dim",
}


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.5g}" if math.isfinite(v) else str(v)
    return "" if v is None else str(v)


@dataclass
class ParamPlotData:
    name: str
    xs: list[float]
    ys: list[float]
    ticks: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    log_x: bool = False


@dataclass
class SweepView:
    info: sweep_index.SweepInfo
    header: Text
    trials: list[sweep_index.TrialRow]
    param_columns: list[str]
    best: list[tuple[int, float]]  # (trial number, best so far)
    values: list[tuple[int, float]]  # every finished (trial number, value)
    params: list[ParamPlotData]
    message: str | None = None
    more_params: int = 0


def _is_number(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def param_plot_data(sweep: sweep_index.Sweep, name: str) -> ParamPlotData:
    """Points of one parameter against the metric; categories become 0..k-1 with tick labels."""
    points = [(x, y) for x, y in sweep.param_points(name) if _is_number(y)]
    spec = sweep_index.param_spec(sweep.info.config, name)
    out = ParamPlotData(sanitize(name), [], [])
    if points and all(_is_number(x) for x, _ in points):
        out.xs = [float(x) for x, _ in points]
        out.ys = [float(y) for _, y in points]
        out.log_x = "log" in str(spec.get("distribution") or "") and all(x > 0 for x in out.xs)
        return out
    cats: list[str] = []
    for v in spec.get("values") or []:
        label = sanitize(fmt(v))
        if label not in cats:
            cats.append(label)
    for x, _ in points:
        label = sanitize(fmt(x))
        if label not in cats:
            cats.append(label)
    pos = {c: i for i, c in enumerate(cats)}
    out.xs = [float(pos[sanitize(fmt(x))]) for x, _ in points]
    out.ys = [float(y) for _, y in points]
    out.ticks = [float(i) for i in range(len(cats))]
    out.labels = [c[:10] for c in cats]
    return out


def sweep_view(sweep: sweep_index.Sweep) -> SweepView:
    """Everything the pane draws for one sweep (pure; call from a worker)."""
    info = sweep.info
    counts = {k: v for k, v in sweep.counts().items() if v}
    header = Text()
    header.append(sanitize(info.name or info.id), style="bold")
    header.append(sanitize(f"  {info.project}/{info.id}"), style="dim")
    header.append(
        "\n"
        + sanitize(
            f"method {info.method}  ·  metric {info.metric or '(none)'} ({info.goal})  ·  {len(sweep.trials)} trials"
        )
    )
    if counts:
        header.append(": " + sanitize(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())))
    best = sweep.best()
    if best is not None:
        header.append("\n")
        header.append(sanitize(f"best: trial {best.number} = {fmt(best.value)}"), style="bold green")
        params = ", ".join(f"{k}={fmt(v)}" for k, v in best.params.items())
        if params:
            header.append(sanitize(f"  ({params})"[:300]), style="green")
    if sweep.message:
        header.append("\n" + sanitize(sweep.message), style="yellow")
    names = sweep.param_names()
    trials = sweep.sorted_trials()
    finished = [(t.number, float(t.value)) for t in sweep.trials if t.state == "finished" and _is_number(t.value)]
    finished.sort()
    best_line = [(n, float(v)) for n, _, v in sweep.best_so_far() if _is_number(v)]
    best_line.sort()
    return SweepView(
        info=info,
        header=header,
        trials=trials,
        param_columns=names[:MAX_PARAM_COLUMNS],
        best=best_line,
        values=finished,
        params=[param_plot_data(sweep, n) for n in names[:MAX_PARAM_PLOTS]],
        message=sweep.message,
        more_params=max(0, len(names) - MAX_PARAM_PLOTS),
    )


def trial_cells(rank: int, t: sweep_index.TrialRow, param_columns: list[str]) -> list[Text]:
    """One row of the trials table: rank, trial, state, value, run, then the parameters."""
    cells = [
        Text(str(rank) if t.value is not None else "", justify="right"),
        Text(str(t.number), justify="right"),
        Text(sanitize(t.state.replace("_", " ")), style=STATE_STYLE.get(t.state, "")),
        Text(fmt(t.value), justify="right", style="bold" if rank == 1 and t.value is not None else ""),
        Text(sanitize(t.run_id or "")),
    ]
    for name in param_columns:
        v = t.params.get(name)
        cells.append(Text(sanitize(fmt(v))[:40], justify="right" if _is_number(v) else "left"))
    return cells
