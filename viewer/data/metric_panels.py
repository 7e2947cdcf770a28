"""From downsampled rows to the plots of the metrics grid: sections, series, readouts.

Pure Python (no Textual, no SQL): the metrics pane calls it in a worker on the
result of Store.downsampled(), and tests call it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from viewer.data.series_math import ema

BASE_X = ("_step", "_runtime", "_timestamp")
MAX_PLOTS = 48
# Runs drawn over each other in one plot. Past this the lines are unreadable and the
# cost is not: 1,000 selected runs took minutes to query and draw. The first selected
# are drawn and the status line says how many more there are.
MAX_OVERLAID_RUNS = 20


def overlay_note(selected: int) -> str:
    """The status text when more runs are selected than a plot overlays; '' otherwise."""
    if selected <= MAX_OVERLAID_RUNS:
        return ""
    return f"plotting the first {MAX_OVERLAID_RUNS} of {selected} selected runs"


@dataclass
class Series:
    run_id: str
    xs: list[float]
    ys: list[float]  # bucket means, smoothed when asked
    lows: list[float]  # bucket minimum (raw): spikes a mean would hide
    highs: list[float]
    last_x: float | None = None
    last_y: float | None = None  # raw value at the largest x


@dataclass
class Panel:
    metric: str
    series: list[Series] = field(default_factory=list)

    @property
    def section(self) -> str:
        return section_of(self.metric)


def section_of(metric: str) -> str:
    """`train/loss` -> `train`; metrics without a '/' share the `charts` section."""
    return metric.split("/", 1)[0] if "/" in metric else "charts"


def plottable_metrics(names: list[str], hidden: set[str], pattern: str, x_axis: str) -> tuple[list[str], str]:
    """Metric names the grid shows, and an error text when the regex does not compile."""
    error = ""
    regex = None
    if pattern:
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            error = f"bad regex: {exc}"
    out = []
    for name in names:
        if name in BASE_X or name == x_axis or name in hidden:
            continue
        if regex is not None and not regex.search(name):
            continue
        out.append(name)
    out.sort(key=lambda n: (section_of(n) == "charts", section_of(n), n))
    return out, error


def build_panels(table: pa.Table, metrics: list[str], run_order: list[str], smoothing: float) -> list[Panel]:
    """One panel per metric (in `metrics` order), one series per run (in `run_order`)."""
    cols = {
        name: table.column(name).to_pylist()
        for name in ("run_id", "metric", "x", "min", "max", "mean", "last", "x_max")
    }
    grouped: dict[tuple[str, str], list[int]] = {}
    for i, (rid, metric) in enumerate(zip(cols["run_id"], cols["metric"])):
        grouped.setdefault((metric, rid), []).append(i)
    panels = []
    for metric in metrics:
        panel = Panel(metric)
        for rid in run_order:
            idx = grouped.get((metric, rid))
            if not idx:
                continue
            idx.sort(key=lambda i: cols["x"][i])
            xs = [cols["x"][i] for i in idx]
            means = [cols["mean"][i] for i in idx]
            last = idx[-1]
            panel.series.append(
                Series(
                    run_id=rid,
                    xs=xs,
                    ys=ema(means, smoothing),
                    lows=[cols["min"][i] for i in idx],
                    highs=[cols["max"][i] for i in idx],
                    last_x=cols["x_max"][last],
                    last_y=cols["last"][last],
                )
            )
        panels.append(panel)
    return panels


def step_metrics(definitions: list[dict]) -> list[str]:
    """Custom x-axes declared with define_metric(step_metric=...)."""
    found = []
    for d in definitions if isinstance(definitions, list) else []:  # metrics.json may hold anything
        sm = d.get("step_metric") if isinstance(d, dict) else None
        if isinstance(sm, str) and sm and sm not in found:
            found.append(sm)
    return found
