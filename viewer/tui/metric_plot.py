"""One metric's plot (plotext) with a readout line: each run's value at the cursor or last step."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot
from textual_plotext.plotext_plot import Plot

from ..metric_panels import Panel
from ..sanitize import sanitize
from ..series_math import finite_points, format_value, positive_only, value_at
from .run_colors import RunColors


def draw_panel(plt: Any, panel: Panel, colors: RunColors, log_y: bool, x_label: str, envelope: bool,
               cursor_x: float | None) -> None:
    """Put a panel's series on a plotext figure (UI thread or a worker: it touches no widget)."""
    plt.clear_data()
    plt.clear_figure()
    plt.xlabel(sanitize(x_label))
    log_y = log_y and any(positive_only(s.xs, s.ys)[0] for s in panel.series)
    plt.yscale("log" if log_y else "linear")
    keep = positive_only if log_y else finite_points
    for s in panel.series:
        color = colors.plot_color(s.run_id)
        xs, ys = keep(s.xs, s.ys)
        if not xs:
            continue
        if envelope:
            for band in (s.lows, s.highs):
                bx, by = keep(s.xs, band)
                if bx:
                    plt.plot(bx, by, color=color, marker="·")
        if len(xs) == 1:
            plt.scatter(xs, ys, color=color, marker="hd")
        else:
            plt.plot(xs, ys, color=color, marker="braille")
    all_x = [x for s in panel.series for x in s.xs]
    if len(set(all_x)) > 1:
        # Pin the x range: plotext's own padding let lines run past the frame.
        plt.xlim(min(all_x), max(all_x))
    if cursor_x is not None:
        plt.vline(cursor_x, "gray")


def prebuild(panel: Panel, colors: RunColors, log_y: bool, x_label: str, envelope: bool,
             size: tuple[int, int], theme: str) -> str | None:
    """The plot as plotext's ANSI text, built in a worker so the event loop only pastes it."""
    width, height = size
    if width < 10 or height < 5:
        return None
    plt = Plot()
    try:
        draw_panel(plt, panel, colors, log_y, x_label, envelope, None)
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(theme)
        return plt.build()
    except Exception:
        return None  # the widget draws it itself (and reports any error)


class SafePlot(PlotextPlot):
    """A plotext plot that can show a figure built elsewhere, and never crashes the app."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prebuilt: tuple[tuple[int, int], str] | None = None

    @property
    def plotext_theme(self) -> str:
        return self._get_plotext_theme_name(self.app.theme)

    def render(self):
        prebuilt = self.prebuilt
        if prebuilt is not None and prebuilt[0] == (self.size.width, self.size.height):
            # Our own plotext output: SGR colours and sanitised labels only.
            return Text.from_ansi(prebuilt[1])
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

    def update_panel(self, panel: Panel, log_y: bool, x_label: str, envelope: bool,
                     prebuilt: tuple[tuple[int, int], str] | None = None) -> None:
        self.panel, self.log_y, self.x_label, self.envelope = panel, log_y, x_label, envelope
        self.redraw(prebuilt)

    @property
    def plot_size(self) -> tuple[int, int]:
        try:
            size = self.query_one(SafePlot).size
        except NoMatches:
            return (0, 0)
        return (size.width, size.height)

    @property
    def plotext_theme(self) -> str | None:
        try:
            return self.query_one(SafePlot).plotext_theme
        except NoMatches:
            return None

    def redraw(self, prebuilt: tuple[tuple[int, int], str] | None = None) -> None:
        try:
            plot = self.query_one(SafePlot)
        except NoMatches:
            return  # not composed yet; on_mount draws
        # The figure is kept current too: the cursor and a resize redraw from it.
        draw_panel(plot.plt, self.panel, self.run_colors, self.log_y, self.x_label, self.envelope, self.cursor_x)
        plot.prebuilt = prebuilt if self.cursor_x is None else None
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
