"""One metric's plot (plotext) with a readout line: each run's value at the cursor or last step."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..metric_panels import Panel
from ..sanitize import sanitize
from ..series_math import finite_points, format_value, positive_only, value_at
from .run_colors import RunColors


class SafePlot(PlotextPlot):
    """plotext can raise on odd data (log of an empty range); show a line instead of crashing."""

    def render(self):
        try:
            return super().render()
        except Exception as exc:  # plotext's internals, not our data flow
            return Text(f"cannot draw this plot: {exc}", style="dim")


class MetricPlot(Vertical, can_focus=True):
    """A focusable cell of the metrics grid; `[`/`]` move a cursor along x."""

    DEFAULT_CSS = """
    MetricPlot { height: 16; border: round $panel; padding: 0; }
    MetricPlot:focus { border: round $accent; }
    MetricPlot.maximized { height: 1fr; }
    MetricPlot > PlotextPlot { height: 1fr; }
    MetricPlot > .readout { height: auto; max-height: 3; padding: 0 1; }
    """

    cursor_x: reactive[float | None] = reactive(None)

    def __init__(self, panel: Panel, colors: RunColors, names: dict[str, str], log_y: bool, x_label: str,
                 envelope: bool) -> None:
        super().__init__()
        self.panel = panel
        self.run_colors = colors
        self.names = names
        self.log_y = log_y
        self.x_label = x_label
        self.envelope = envelope
        # A str title would be parsed as markup; Text is shown as is.
        self.border_title = Text(sanitize(panel.metric))

    def compose(self) -> ComposeResult:
        yield SafePlot()
        yield Static(classes="readout", markup=False)

    def on_mount(self) -> None:
        self.call_after_refresh(self.redraw)

    def update_panel(self, panel: Panel, log_y: bool, x_label: str, envelope: bool) -> None:
        self.panel, self.log_y, self.x_label, self.envelope = panel, log_y, x_label, envelope
        self.redraw()

    def redraw(self) -> None:
        try:
            plot = self.query_one(SafePlot)
        except NoMatches:
            return  # not composed yet; on_mount draws
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel(sanitize(self.x_label))
        log_y = self.log_y and any(positive_only(s.xs, s.ys)[0] for s in self.panel.series)
        plt.yscale("log" if log_y else "linear")
        for s in self.panel.series:
            color = self.run_colors.plot_color(s.run_id)
            xs, ys = (positive_only if log_y else finite_points)(s.xs, s.ys)
            if not xs:
                continue
            if self.envelope:
                for band in (s.lows, s.highs):
                    bx, by = (positive_only if log_y else finite_points)(s.xs, band)
                    if bx:
                        plt.plot(bx, by, color=color, marker="·")
            if len(xs) == 1:
                plt.scatter(xs, ys, color=color, marker="hd")
            else:
                plt.plot(xs, ys, color=color, marker="braille")
        all_x = [x for s in self.panel.series for x in s.xs]
        if len(set(all_x)) > 1:
            # Pin the x range: plotext's own padding let lines run past the frame.
            plt.xlim(min(all_x), max(all_x))
        if self.cursor_x is not None:
            plt.vline(self.cursor_x, "gray")
        plot.refresh()
        self._update_readout()

    def _update_readout(self) -> None:
        text = Text()
        for s in self.panel.series:
            color = self.run_colors.rich_color(s.run_id) or "white"
            if self.cursor_x is not None:
                hit = value_at(s.xs, s.ys, self.cursor_x)
                x, y = hit if hit else (None, None)
            else:
                x, y = s.last_x, s.last_y
            if text:
                text.append("  ")
            text.append("● ", style=color)
            text.append(sanitize(self.names.get(s.run_id, s.run_id))[:24] + ": ")
            text.append(format_value(y), style="bold")
            if x is not None:
                text.append(f" @{format_value(x)}", style="dim")
        if not self.panel.series:
            text.append("no data for the selected runs", style="dim")
        self.query_one(".readout", Static).update(text)

    def watch_cursor_x(self) -> None:
        self.redraw()

    def move_cursor(self, direction: int) -> None:
        """Step the cursor to the previous/next x among the plotted points."""
        xs = sorted({x for s in self.panel.series for x in s.xs})
        if not xs:
            return
        if self.cursor_x is None:
            self.cursor_x = xs[-1] if direction < 0 else xs[0]
            return
        i = min(range(len(xs)), key=lambda k: abs(xs[k] - self.cursor_x))
        self.cursor_x = xs[max(0, min(len(xs) - 1, i + direction))]
