"""Logged charts (line, scatter, bar, histogram, line_series) drawn with plotext from their table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from viewer.data import media_index
from viewer.data.sanitize import sanitize
from viewer.tui.metric_plot import SafePlot

CHART_POINT_CAP = 2000  # points per series handed to plotext
SERIES_COLORS = (
    (0, 200, 200),
    (220, 80, 220),
    (230, 200, 40),
    (80, 200, 80),
    (230, 70, 70),
    (90, 130, 255),
    (255, 150, 40),
    (220, 220, 220),
)


def _strided(values: list, cap: int = CHART_POINT_CAP) -> list:
    if len(values) <= cap:
        return values
    step = len(values) / cap
    return [values[int(i * step)] for i in range(cap)]


def _numbers(values: list) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        if isinstance(v, bool) or (isinstance(v, (int, float)) and math.isfinite(v)):
            out.append(float(v))
        else:
            try:
                f = float(v)
                out.append(f if math.isfinite(f) else None)
            except (TypeError, ValueError):
                out.append(None)
    return out


@dataclass
class ChartData:
    chart: str
    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: list[tuple[str, list[float], list[float]]] = field(default_factory=list)  # name, xs, ys
    labels: list[str] = field(default_factory=list)  # bar charts
    values: list[float] = field(default_factory=list)  # bar heights or histogram values
    note: str = ""


def chart_data(c: media_index.Chart) -> ChartData:
    """A logged chart's table turned into plain lists for plotext (labels sanitised)."""
    spec, table = c.spec, c.table
    cols = set(table.column_names)

    def col(name: Any) -> list:
        return table.column(name).to_pylist() if isinstance(name, str) and name in cols else []

    title = sanitize(spec.get("title") or "")
    out = ChartData(c.chart, title)
    if c.chart in ("line", "scatter", "line_series"):
        x, y, stroke = spec.get("x"), spec.get("y"), spec.get("stroke")
        out.xlabel = sanitize(spec.get("xname") or x or "")
        out.ylabel = sanitize(y or "")
        xs, ys = _numbers(col(x)), _numbers(col(y))
        groups: dict[str, list[tuple[float, float]]] = {}
        strokes = col(stroke) if stroke else [None] * len(xs)
        for xv, yv, sv in zip(xs, ys, strokes):
            if xv is None or yv is None:
                continue
            groups.setdefault(sanitize("" if sv is None else sv), []).append((xv, yv))
        for name, pts in list(groups.items())[: len(SERIES_COLORS) * 2]:
            if c.chart != "scatter":
                pts.sort()
            pts = _strided(pts)
            out.series.append((name, [p[0] for p in pts], [p[1] for p in pts]))
        if len(groups) > len(SERIES_COLORS) * 2:
            out.note = f"showing {len(SERIES_COLORS) * 2} of {len(groups)} lines"
    elif c.chart == "bar":
        labels, values = col(spec.get("label")), _numbers(col(spec.get("value")))
        pairs = [(sanitize(lv)[:20], v) for lv, v in zip(labels, values) if v is not None]
        if len(pairs) > 60:
            out.note = f"showing 60 of {len(pairs)} bars"
            pairs = pairs[:60]
        out.labels = [p[0] for p in pairs]
        out.values = [p[1] for p in pairs]
        out.xlabel, out.ylabel = sanitize(spec.get("label") or ""), sanitize(spec.get("value") or "")
    elif c.chart == "histogram":
        out.values = [v for v in _numbers(col(spec.get("value"))) if v is not None]
        out.xlabel = sanitize(spec.get("value") or "")
    else:
        out.note = f"no drawing for chart type {sanitize(c.chart)!r}; its table is under the table view"
    return out


def draw_chart(plot: SafePlot, data: ChartData | None) -> None:
    """Draw a chart's lists onto the plot; None leaves it blank."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    if data is not None:
        if data.title:
            plt.title(data.title)
        if data.xlabel:
            plt.xlabel(data.xlabel)
        if data.ylabel:
            plt.ylabel(data.ylabel)
        if data.chart in ("line", "scatter", "line_series"):
            for i, (name, xs, ys) in enumerate(data.series):
                color = SERIES_COLORS[i % len(SERIES_COLORS)]
                label = name or None
                if data.chart == "scatter" or len(xs) == 1:
                    plt.scatter(xs, ys, color=color, label=label, marker="hd")
                else:
                    plt.plot(xs, ys, color=color, label=label, marker="braille")
        elif data.chart == "bar" and data.values:
            plt.bar(data.labels, data.values, color=SERIES_COLORS[0])
        elif data.chart == "histogram" and data.values:
            plt.hist(data.values, bins=min(40, max(5, int(math.sqrt(len(data.values))))), color=SERIES_COLORS[0])
    plot.refresh()
