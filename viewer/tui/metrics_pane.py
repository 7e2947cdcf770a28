"""The metrics grid: a plot per metric, sectioned by key prefix, selected runs overlaid.

Series come downsampled from the store (about two points per terminal column), are
smoothed in a worker, and only then reach plotext, so the event loop never builds a
100k-point plot. Live refreshes are throttled by the app.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from viewer.data.counted import counted
from viewer.data.metric_columns import hidden_keys
from viewer.data.metric_panels import (
    BASE_X,
    MAX_PLOTS,
    Panel,
    build_panels,
    overlay_note,
    plottable_metrics,
    step_metrics,
)
from viewer.data.sanitize import sanitize
from viewer.data.series_math import SMOOTHING_STEPS
from viewer.tui.metric_plot import MetricPlot
from viewer.tui.pane import Pane


def parse_range(text: str) -> tuple[float, float] | None:
    """`100:500`, `100..500` or `100 500` -> (100.0, 500.0); None when it is not a range."""
    parts = [p for p in text.replace("..", ":").replace(",", ":").replace(" ", ":").split(":") if p]
    if len(parts) != 2:
        return None
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (min(lo, hi), max(lo, hi)) if lo != hi else None


class ZoomPrompt(ModalScreen[tuple[float, float] | None]):
    """Ask for an x range to zoom into."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, x_axis: str) -> None:
        super().__init__()
        self.x_axis = x_axis

    def compose(self) -> ComposeResult:
        yield Input(placeholder=f"zoom {self.x_axis} range, e.g. 100:500")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(parse_range(event.value))


class MetricsPane(Pane):
    BINDINGS = [
        Binding("slash", "focus_filter", "Regex"),
        Binding("l", "log_y", "Log-Y"),
        Binding("X", "x_axis", "X-axis"),
        Binding("plus,equals_sign", "smooth(1)", "Smooth+"),
        Binding("minus", "smooth(-1)", "Smooth-"),
        Binding("m", "maximize", "Maximize"),
        Binding("z", "zoom", "Zoom"),
        Binding("Z", "unzoom", "Unzoom", show=False),
        Binding("e", "envelope", "Min/max", show=False),
        Binding("left_square_bracket", "cursor(-1)", "Cursor ◀", show=False),
        Binding("right_square_bracket", "cursor(1)", "Cursor ▶", show=False),
        Binding("escape", "clear_cursor", "Clear cursor", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pattern = ""
        self.log_y = False
        self.smoothing_index = 0
        self.x_axis = "_step"
        self.envelope = False
        self.panels: list[Panel] = []
        self.message = ""
        self._layout_key: tuple = ()
        self._step_metrics: list[str] = []  # define_metric x-axes of the selected runs
        # Downsampled rows per (run, x, points), kept until files change: going back to
        # runs already plotted costs no query.
        self._cache: dict[tuple, pa.Table] = {}
        self.x_range: tuple[float, float] | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="regex over metric names, e.g. ^val/|acc", id="metrics-filter", classes="compact-filter"
        )
        yield Static(id="metrics-status", markup=False)
        yield VerticalScroll(id="metrics-scroll")

    @property
    def smoothing(self) -> float:
        return SMOOTHING_STEPS[self.smoothing_index]

    def _grid_columns(self) -> int:
        width = self.size.width or 120
        return 1 if width < 90 else (3 if width >= 180 else 2)

    def _points(self) -> int:
        return max(50, min(1000, 2 * max(40, (self.size.width or 120) // self._grid_columns())))

    def x_axes(self) -> list[str]:
        return list(BASE_X) + [m for m in self._step_metrics if m not in BASE_X]

    # -- data -------------------------------------------------------------------------------
    def reload(self) -> None:
        if not self.runs:
            self.drop_fetches("metrics")
            self._show(([], "select runs in the Runs tab (space) to plot them", self._step_metrics))
            return
        store = self.store
        if store is None:
            return
        self.fetch(
            self._read,
            store,
            self.overlaid_run_ids,
            self.pattern,
            self.x_axis,
            self.smoothing,
            self._points(),
            self.x_range,
            apply=self._show,
            group="metrics",
            failed=lambda error: self._show(([], f"could not load metrics: {error}", self._step_metrics)),
        )

    def _read(
        self,
        store,
        run_ids: list[str],
        pattern: str,
        x_axis: str,
        smoothing: float,
        points: int,
        x_range: tuple[float, float] | None,
    ) -> tuple[list[Panel], str, list[str]]:
        """In a worker: the panels to draw, a note for the status line, the runs' step metrics."""
        names = store.metric_names(run_ids)
        hidden: set[str] = set()
        axes: list[str] = []
        for rid in run_ids:
            definitions = store.metric_definitions(rid).get("definitions", [])
            hidden |= hidden_keys(definitions, names)
            axes += [m for m in step_metrics(definitions) if m not in axes]
        metrics, error = plottable_metrics(names, hidden, pattern, x_axis)
        note = error
        if len(metrics) > MAX_PLOTS:
            note = f"showing {MAX_PLOTS} of {len(metrics)} metrics; narrow them with / (regex)"
            metrics = metrics[:MAX_PLOTS]
        if not metrics:
            return [], error or "no metrics logged by the selected runs", axes
        table = self._downsampled(store, run_ids, metrics, x_axis, points, x_range)
        return build_panels(table, metrics, run_ids, smoothing), note, axes

    def _downsampled(
        self,
        store,
        run_ids: list[str],
        metrics: list[str],
        x_axis: str,
        points: int,
        x_range: tuple[float, float] | None,
    ) -> pa.Table:
        """Every metric of each run is fetched once per (x, points, zoom); the regex filters after."""
        # The dict as it is now: when a live change replaces it meanwhile, what this
        # (older) fetch reads lands in the discarded one.
        cache = self._cache
        missing = [r for r in run_ids if (r, x_axis, points, x_range) not in cache]
        if missing:
            names = [m for m in store.metric_names(missing) if m != x_axis]
            fresh = store.downsampled(missing, names, points=points, x=x_axis, x_range=x_range)
            for rid in missing:
                cache[(rid, x_axis, points, x_range)] = fresh.filter(pc.equal(fresh.column("run_id"), rid))
        tables = [cache[(r, x_axis, points, x_range)] for r in run_ids]
        table = pa.concat_tables(tables) if tables else pa.table({})
        return table.filter(pc.is_in(table.column("metric"), value_set=pa.array(metrics, pa.string())))

    def runs_changed(self, changed: frozenset[str]) -> None:
        # Runs that did not change keep their downsampled rows: a live tick re-queries
        # only the runs that are still writing.
        if changed & set(self.run_ids):
            self._cache = {k: v for k, v in self._cache.items() if k[0] not in changed}
            self.request_refresh()

    def data_changed(self) -> None:
        self._cache = {}
        super().data_changed()

    def _show(self, shown: tuple[list[Panel], str, list[str]]) -> None:
        panels, message, self._step_metrics = shown
        self.panels = panels
        self.message = message
        scroll = self.query_one("#metrics-scroll", VerticalScroll)
        names = {r.id: (r.name or r.id) for r in self.runs}
        layout_key = tuple(p.metric for p in panels)
        if layout_key == self._layout_key and panels:
            # Same plots: update in place (live tailing must not rebuild the grid).
            plots = {p.panel.metric: p for p in self.query(MetricPlot)}
            for panel in panels:
                plot = plots.get(panel.metric)
                if plot is not None:
                    plot.run_colors = self.run_colors
                    plot.names = names
                    plot.update_panel(panel, self.log_y, self.x_axis, self.envelope)
        else:
            self._layout_key = layout_key
            scroll.remove_children()
            self.remove_class("has-maximized")
            widgets: list[Widget] = []
            sections: dict[str, list[MetricPlot]] = {}
            for panel in panels:
                sections.setdefault(panel.section, []).append(
                    MetricPlot(panel, self.run_colors, names, self.log_y, self.x_axis, self.envelope)
                )
            columns = self._grid_columns()
            for section, section_plots in sections.items():
                widgets.append(Label(Text(sanitize(section)), classes="section"))
                grid = Grid(*section_plots)
                # A section with fewer plots than columns uses the whole width.
                grid.styles.grid_size_columns = max(1, min(columns, len(section_plots)))
                widgets.append(grid)
            if widgets:
                scroll.mount(*widgets)
        self._update_status()

    def _update_status(self) -> None:
        parts = [
            counted(len(self.runs), "run"),
            counted(len(self.panels), "plot"),
            f"x: {self.x_axis}",
            f"smoothing {self.smoothing:g}",
            "log-y" if self.log_y else "linear",
        ]
        if self.envelope:
            parts.append("min/max shown")
        if self.x_range is not None:
            parts.append(f"zoom {self.x_range[0]:g}..{self.x_range[1]:g} (Z resets)")
        if overlay_note(len(self.runs)):
            parts.append(overlay_note(len(self.runs)))
        if self.message:
            parts.append(self.message)
        self.query_one("#metrics-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    # -- actions ----------------------------------------------------------------------------
    @on(Input.Changed, "#metrics-filter")
    def _pattern_changed(self, event: Input.Changed) -> None:
        self.pattern = event.value
        self.request_refresh()

    @on(Input.Submitted, "#metrics-filter")
    def _pattern_submitted(self) -> None:
        plots = list(self.query(MetricPlot))
        if plots:
            plots[0].focus()

    def action_focus_filter(self) -> None:
        self.query_one("#metrics-filter", Input).focus()

    def action_log_y(self) -> None:
        self.log_y = not self.log_y
        self._restyle()

    def action_envelope(self) -> None:
        self.envelope = not self.envelope
        self._restyle()

    def _restyle(self) -> None:
        for plot in self.query(MetricPlot):
            plot.update_panel(plot.panel, self.log_y, self.x_axis, self.envelope)
        self._update_status()

    def action_smooth(self, delta: int) -> None:
        self.smoothing_index = max(0, min(len(SMOOTHING_STEPS) - 1, self.smoothing_index + delta))
        self.request_refresh()

    def action_x_axis(self) -> None:
        axes = self.x_axes()
        self.x_axis = axes[(axes.index(self.x_axis) + 1) % len(axes)] if self.x_axis in axes else axes[0]
        self.request_refresh()

    def action_zoom(self) -> None:
        def done(result: tuple[float, float] | None) -> None:
            if result is not None:
                self.x_range = result
                self.request_refresh()

        self.app.push_screen(ZoomPrompt(self.x_axis), done)

    def action_unzoom(self) -> None:
        if self.x_range is not None:
            self.x_range = None
            self.request_refresh()

    def focused_plot(self) -> MetricPlot | None:
        focused = self.app.focused
        return focused if isinstance(focused, MetricPlot) else None

    def action_maximize(self) -> None:
        plot = self.focused_plot()
        if self.has_class("has-maximized"):
            self.remove_class("has-maximized")
            for p in self.query(MetricPlot):
                p.remove_class("maximized")
            for g in self.query(Grid):
                g.remove_class("holds-maximized")
            return
        if plot is None:
            plots = list(self.query(MetricPlot))
            if not plots:
                return
            plot = plots[0]
            plot.focus()
        plot.add_class("maximized")
        if plot.parent is not None:
            plot.parent.add_class("holds-maximized")
        self.add_class("has-maximized")

    def action_cursor(self, direction: int) -> None:
        plot = self.focused_plot()
        if plot is not None:
            plot.move_cursor(direction)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_cursor":
            # Only on a plot: from the filter input, esc leaves the input (the app's key).
            return self.focused_plot() is not None
        return True

    def action_clear_cursor(self) -> None:
        plot = self.focused_plot()
        if plot is not None:
            plot.cursor_x = None
