"""Histogram views: every logged step as a heatmap, and one step's bars."""

from __future__ import annotations

import math

from rich.color import Color
from rich.style import Style
from rich.text import Text

from viewer.data.axis_ticks import number_ticks
from viewer.data.sanitize import sanitize
from viewer.tui.media.image_view import HALF
from viewer.tui.media.value_format import fmt
from viewer.tui.metric_plot import SafePlot

# A dark-to-bright ramp (viridis-like) for heatmaps.
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def ramp_color(v: float) -> tuple[int, int, int]:
    """0..1 onto RAMP (values outside are clamped)."""
    if not math.isfinite(v):
        v = 0.0
    v = min(1.0, max(0.0, v)) * (len(RAMP) - 1)
    i = min(len(RAMP) - 2, int(v))
    f = v - i
    a, b = RAMP[i], RAMP[i + 1]
    return tuple(int(round(a[k] + (b[k] - a[k]) * f)) for k in range(3))  # type: ignore[return-value]


def heatmap_text(
    steps: list[int], edges: list[float], rows: list[list[float]], height: int, marked_step: int | None = None
) -> Text:
    """Steps down, bins across: half-block cells coloured by each step's counts (row-normalised).

    At most 2*height steps are drawn (evenly sampled, the last always kept); the left column
    names the step of each text row, ▶ marks the row holding `marked_step`.
    """
    text = Text(no_wrap=True, overflow="crop")
    if not rows or not edges:
        text.append("no histogram data", style="dim")
        return text
    n = len(rows)
    limit = max(2, 2 * max(1, height))
    if n > limit:
        picks = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    else:
        picks = list(range(n))
    bins = len(rows[0])
    norm = []
    for i in picks:
        row = rows[i]
        peak = max(row) if row else 0.0
        norm.append([(c / peak) if peak > 0 else 0.0 for c in row])
    empty = (0, 0, 0)
    label_w = max(len(str(s)) for s in steps) + 2
    for r in range(0, len(picks), 2):
        if r:
            text.append("\n")
        upper, lower = picks[r], picks[r + 1] if r + 1 < len(picks) else None
        held = {steps[upper]} | ({steps[lower]} if lower is not None else set())
        mark = "▶" if marked_step is not None and marked_step in held else " "
        text.append(f"{mark}{steps[upper]:>{label_w - 2}} ", style="bold" if mark != " " else "dim")
        for b in range(bins):
            tv = norm[r][b]
            top = ramp_color(tv) if tv > 0 else empty
            if lower is not None:
                bv = norm[r + 1][b]
                bottom = ramp_color(bv) if bv > 0 else empty
                text.append(HALF, Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
            else:
                text.append(HALF, Style(color=Color.from_rgb(*top)))
    text.append("\n")
    lo, hi = fmt(edges[0]), fmt(edges[-1])
    gap = max(1, bins - len(lo) - len(hi))
    text.append(" " * label_w + lo + " " * gap + hi, style="dim")
    return text


def draw_bars(plot: SafePlot, bars: tuple[list[float], list[float]] | None, step: int | None) -> None:
    """One step's bin counts as a bar chart (bin centres across, about five round ticks)."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    if bars and bars[0]:
        centers, counts = bars
        plt.bar(centers, counts, color=(90, 130, 255), width=1.0)
        ticks = number_ticks(min(centers), max(centers), 5)
        plt.xticks(ticks.values, ticks.labels)
        plt.title(sanitize(f"step {step}"))
    plot.refresh()
