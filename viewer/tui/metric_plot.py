"""One metric's plot (plotext) with a readout line: each run's value at the cursor or last step."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from viewer.data.axis_ticks import X_AXIS_LABELS
from viewer.data.metric_panels import Panel
from viewer.data.run_colors import RunColors
from viewer.data.sanitize import sanitize
from viewer.data.series_math import finite_points, format_value, positive_only, value_at
from viewer.tui.plot_axes import apply_axes

# Built figures by (what is drawn, size, theme): going back to runs already shown, or a
# repaint with nothing new, pastes the figure instead of running plotext's build again.
_FIGURES: OrderedDict[tuple, Text] = OrderedDict()
_FIGURES_MAX = 256


class SafePlot(PlotextPlot):
    """plotext can raise on odd data (log of an empty range); show a line instead of crashing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.figure_key: tuple | None = None
        # Puts the data on self.plt; run only when the figure must really be built.
        self.draw: Callable[[Any], None] | None = None
        # Puts ticks on self.plt for the plot's size, before every build (a resize needs other ticks).
        self.axes: Callable[[Any, tuple[int, int]], None] | None = None
        # The figure_key of what was last rendered: equal to figure_key once the plot
        # on screen shows the current data.
        self.painted_key: tuple | None = None

    def render(self):
        key = None
        if self.figure_key is not None:
            key = (self.figure_key, self.size.width, self.size.height, self.app.theme)
            cached = _FIGURES.get(key)
            if cached is not None:
                _FIGURES.move_to_end(key)
                self.painted_key = self.figure_key
                return cached
        try:
            if self.draw is not None:
                draw, self.draw = self.draw, None
                draw(self.plt)
            if self.axes is not None:
                self.axes(self.plt, (self.size.width, self.size.height))
            figure = super().render()
        except Exception as exc:  # plotext's internals, not our data flow
            return Text(f"cannot draw this plot: {exc}", style="dim")
        if key is not None:
            _FIGURES[key] = figure
            while len(_FIGURES) > _FIGURES_MAX:
                _FIGURES.popitem(last=False)
        self.painted_key = self.figure_key
        return figure


class MetricPlot(Vertical, can_focus=True):
    """A focusable cell of the metrics grid; `[`/`]` move a cursor along x."""

    cursor_x: reactive[float | None] = reactive(None)

    def __init__(
        self, panel: Panel, colors: RunColors, names: dict[str, str], log_y: bool, x_axis: str, envelope: bool
    ) -> None:
        super().__init__()
        self.panel = panel
        self.run_colors = colors
        self.names = names
        self.log_y = log_y
        self.x_axis = x_axis
        self.envelope = envelope
        # Every value the last figure drew, for its ticks: (xs, ys, log y).
        self._drawn: tuple[list[float], list[float], bool] = ([], [], False)
        # A str title would be parsed as markup; Text is shown as is.
        self.border_title = Text(sanitize(panel.metric))

    def compose(self) -> ComposeResult:
        yield SafePlot()
        yield Static(classes="readout", markup=False)

    def on_mount(self) -> None:
        self.call_after_refresh(self.redraw)

    def update_panel(self, panel: Panel, log_y: bool, x_axis: str, envelope: bool) -> None:
        self.panel, self.log_y, self.x_axis, self.envelope = panel, log_y, x_axis, envelope
        self.redraw()

    def redraw(self) -> None:
        try:
            plot = self.query_one(SafePlot)
        except NoMatches:
            return  # not composed yet; on_mount draws
        plot.figure_key = self._figure_key()
        plot.draw = self._draw_figure
        plot.axes = self._draw_axes
        plot.refresh()
        self._update_readout()

    def _draw_figure(self, plt: Any) -> None:
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel(sanitize(X_AXIS_LABELS.get(self.x_axis, self.x_axis)))
        log_y = self.log_y and any(positive_only(s.xs, s.ys)[0] for s in self.panel.series)
        plt.yscale("log" if log_y else "linear")
        drawn_x: list[float] = []
        drawn_y: list[float] = []
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
                        drawn_x += bx
                        drawn_y += by
            if len(xs) == 1:
                plt.scatter(xs, ys, color=color, marker="hd")
            else:
                plt.plot(xs, ys, color=color, marker="braille")
            drawn_x += xs
            drawn_y += ys
        self._drawn = (drawn_x, drawn_y, log_y)
        if self.cursor_x is not None:
            plt.vline(self.cursor_x, "gray")

    def _draw_axes(self, plt: Any, size: tuple[int, int]) -> None:
        xs, ys, log_y = self._drawn
        apply_axes(plt, size, xs, ys, x_axis=self.x_axis, log_y=log_y)

    def _figure_key(self) -> tuple:
        """Everything the figure depends on; equal keys draw identical plots."""
        series = tuple(
            (
                s.run_id,
                self.run_colors.plot_color(s.run_id),
                tuple(s.xs),
                tuple(s.ys),
                tuple(s.lows) if self.envelope else (),
                tuple(s.highs) if self.envelope else (),
            )
            for s in self.panel.series
        )
        return (self.panel.metric, series, self.log_y, self.x_axis, self.envelope, self.cursor_x)

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
        cursor = self.cursor_x
        i = min(range(len(xs)), key=lambda k: abs(xs[k] - cursor))
        self.cursor_x = xs[max(0, min(len(xs) - 1, i + direction))]
