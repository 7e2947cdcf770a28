"""The sweeps pane's charts: best so far, parameter importance bars, one scatter per parameter."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches

from viewer.data import sweep_index
from viewer.data.sanitize import sanitize
from viewer.tui.metric_plot import SafePlot
from viewer.tui.plot_axes import apply_axes
from viewer.tui.sweep_view import ParamPlotData, SweepView

BAR_WIDTH = 24
BEST_COLOR = (80, 200, 80)
POINT_COLOR = (90, 130, 255)


def importance_text(result: sweep_index.Importance | None, width: int = BAR_WIDTH) -> Text:
    """Ranked text bars: name, bar, share."""
    text = Text()
    text.append("Parameter importance", style="bold")
    if result is None:
        text.append("\ncomputing…", style="dim italic")
        return text
    if result.message:
        text.append("  " + sanitize(result.message), style="dim")
    if not result.ranked:
        return text
    names = [sanitize(n) for n, _ in result.ranked]
    pad = min(24, max(len(n) for n in names))
    top = max((s for _, s in result.ranked), default=0.0) or 1.0
    for name, (_, share) in zip(names, result.ranked):
        share = share if math.isfinite(share) else 0.0
        cells = share / top * width
        full = int(cells)
        bar = "█" * full + ("▌" if cells - full >= 0.5 else "")
        text.append("\n" + name[:pad].ljust(pad) + " ")
        text.append(bar.ljust(width + 1), style="green")
        text.append(f"{share:6.1%}")
    return text


class ParamPlot(Vertical):
    """One parameter against the metric; update_data redraws in place, so a reload keeps the widget."""

    def __init__(self, data: ParamPlotData, metric: str) -> None:
        super().__init__()
        self.data = data
        self.metric = metric
        self.border_title = Text(data.name)

    def compose(self) -> ComposeResult:
        yield SafePlot()

    def on_mount(self) -> None:
        self.redraw()

    def update_data(self, data: ParamPlotData, metric: str) -> None:
        self.data, self.metric = data, metric
        self.border_title = Text(data.name)
        self.redraw()

    def redraw(self) -> None:
        try:
            plot = self.query_one(SafePlot)
        except NoMatches:
            return  # not composed yet; on_mount draws
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        d = self.data
        if d.xs:
            plt.xscale("log" if d.log_x else "linear")
            plt.scatter(d.xs, d.ys, color=POINT_COLOR, marker="dot")
            if d.ticks:
                plt.xticks(d.ticks, d.labels)
                plt.xlim(-0.5, len(d.ticks) - 0.5)
        plt.ylabel(self.metric[:20])
        plot.refresh()


def draw_best(plot: SafePlot, view: SweepView) -> None:
    """Every finished value dotted, and the best so far as a line, against trial number."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    if view.values:
        plt.scatter([n for n, _ in view.values], [v for _, v in view.values], color=POINT_COLOR, marker="dot")
    if view.best:
        xs, ys = [n for n, _ in view.best], [v for _, v in view.best]
        if len(xs) == 1:
            plt.scatter(xs, ys, color=BEST_COLOR, marker="hd")
        else:
            # a step line: the best holds until a better trial finishes
            sx, sy = [xs[0]], [ys[0]]
            for x, y in zip(xs[1:], ys[1:]):
                sx += [x, x]
                sy += [sy[-1], y]
            plt.plot(sx, sy, color=BEST_COLOR, marker="braille")
    plt.xlabel("trial")
    plt.ylabel(sanitize(view.info.metric or "")[:20])
    all_x = [float(n) for n, _ in view.values + view.best]
    all_y = [float(v) for _, v in view.values + view.best]
    plot.axes = lambda plt, size: apply_axes(plt, size, all_x, all_y, x_axis="trial", integer_x=True)
    plot.refresh()
