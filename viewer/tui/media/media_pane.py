"""The media pane: one run's images, histograms, tables and charts, browsed by key and step.

For the first selected run (`[`/`]` cycle through the selection) a key list shows what
was logged; `k` narrows it to one kind. The chosen key is drawn by kind:

    image       half-block pixels ('▀', fg = upper pixel, bg = lower) sized to the pane;
                without Pillow, the file's path and size instead
    histogram   a step x bin heatmap over every logged step, and one step's bars (plotext)
    table       a DataTable: header click sorts, `/` filters over cell text, 1,000 rows shown
    confusion   a grid of counts, shaded by share of the row
    chart       line / scatter / bar / histogram / line_series drawn from the chart's table

`left`/`right` (or `,`/`.`) move between logged steps (the last step follows live runs),
`v` cycles the images logged as a list at one step. Decoding, resizing, re-binning and
sorting run in thread workers through viewer.data.media_index; every caption, key and cell is
plain text (viewer.data.sanitize), never markup.

This module routes keys and starts the fetches. What a fetch reads is media_item; how each
kind is drawn is media_image, media_histogram, media_table, media_confusion and media_chart.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import ContentSwitcher, OptionList, Static
from textual.widgets.option_list import Option

from viewer.data import media_index
from viewer.data.sanitize import sanitize
from viewer.tui.media.chart_view import draw_chart
from viewer.tui.media.histogram_view import draw_bars
from viewer.tui.media.media_item import ItemView, filter_kind, load_item, view_kind
from viewer.tui.media.table_view import TableBrowser
from viewer.tui.metric_plot import SafePlot
from viewer.tui.pane import Pane

KIND_FILTERS = ("all", "image", "histogram", "table", "chart")


class MediaPane(Pane):
    BINDINGS = [
        Binding("left_square_bracket", "run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "run(1)", "Next run", show=False),
        Binding("left,comma", "step(-1)", "Step ◀"),
        Binding("right,full_stop", "step(1)", "Step ▶"),
        Binding("v", "next_image", "Next image", show=False),
        Binding("k", "kind", "Kind"),
        Binding("slash", "focus_filter", "Filter", show=False),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tables = TableBrowser(id="view-table")
        self.run_index = 0
        self.kind_filter = "all"
        self.keys: list[media_index.MediaKey] = []
        self.shown_keys: list[media_index.MediaKey] = []
        self.current: media_index.MediaKey | None = None
        self.wanted_step: int | None = None  # None: follow the last step
        self.image_idx = 0
        self.view: ItemView | None = None
        self.message = ""
        self._filling_keys = False

    def compose(self) -> ComposeResult:
        yield Static(id="media-status", markup=False)
        with Horizontal():
            yield OptionList(id="media-keys")
            with ContentSwitcher(id="media-view", initial="view-empty"):
                yield Static(id="view-empty", markup=False)
                with Vertical(id="view-image"):
                    yield Static(id="media-image-info", classes="info", markup=False)
                    yield Static(id="media-caption", markup=False)
                    yield Static(id="media-image", markup=False)
                with Vertical(id="view-histogram"):
                    yield Static(id="media-hist-info", classes="info", markup=False)
                    yield Static(id="media-heatmap", markup=False)
                    yield SafePlot(id="media-bars")
                yield self._tables
                with Vertical(id="view-confusion"):
                    yield Static(id="media-confusion-info", classes="info", markup=False)
                    with ScrollableContainer(id="media-confusion-scroll"):
                        yield Static(id="media-confusion", markup=False)
                with Vertical(id="view-chart"):
                    yield Static(id="media-chart-info", classes="info", markup=False)
                    yield SafePlot(id="media-chart")

    # -- helpers ----------------------------------------------------------------------------
    @property
    def view(self) -> ItemView | None:
        """The chosen key's view as last loaded (None while there is none)."""
        return self._view

    @view.setter
    def view(self, view: ItemView | None) -> None:
        self._view = view
        # A table sort still running for the view this one replaces must not land.
        self._tables.view = view

    @property
    def current_run(self):
        if not self.runs:
            return None
        return self.runs[self.run_index % len(self.runs)]

    def _view_size(self) -> tuple[int, int]:
        w, h = self.query_one("#media-view").size
        if w < 10 or h < 6:
            w, h = max(40, (self.size.width or 120) - 36), max(12, (self.size.height or 30) - 2)
        return w, h

    def _set_status(self) -> None:
        run = self.current_run
        parts = []
        if run is not None:
            parts.append(f"run {run.name or run.id}")
            if len(self.runs) > 1:
                parts.append(f"{self.run_index % len(self.runs) + 1}/{len(self.runs)} selected ([ ] switch)")
            parts.append(f"{len(self.shown_keys)} of {len(self.keys)} keys")
            if self.kind_filter != "all":
                parts.append(f"kind: {self.kind_filter} (k)")
        if self.message:
            parts.append(self.message)
        self.query_one("#media-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    def _empty(self, message: str) -> None:
        self.query_one("#view-empty", Static).update(Text(sanitize(message)))
        self.query_one(ContentSwitcher).current = "view-empty"

    # -- keys -------------------------------------------------------------------------------
    def reload(self) -> None:
        run = self.current_run
        if run is None:
            self.drop_fetches("media-keys", "media-item")
            self.keys, self.shown_keys, self.current, self.view = [], [], None, None
            self._fill_keys()
            self._empty("select a run in the Runs tab to see its images, histograms and tables")
            self._set_status()
            return
        self.fetch(
            media_index.keys,
            run.path,
            apply=self._keys_loaded,
            group="media-keys",
            failed=lambda error: self._keys_loaded([], f"cannot read media: {error}"),
        )

    def _keys_loaded(self, keys: list[media_index.MediaKey], error: str = "") -> None:
        self.keys = keys
        self.message = error
        self._fill_keys()
        if not self.shown_keys:
            self.current, self.view = None, None
            self._empty(
                error
                or (
                    "this run logged no images, histograms, tables or charts"
                    if not keys
                    else f"no {self.kind_filter} keys (k changes the kind)"
                )
            )
            self._set_status()
            return
        self._set_status()
        self.load_current()

    def _fill_keys(self) -> None:
        self.shown_keys = [k for k in self.keys if self.kind_filter in ("all", filter_kind(k))]
        current = (self.current.key, self.current.kind) if self.current else None
        same = [(k.key, k.kind) for k in self.shown_keys]
        if current not in same:
            self.current = self.shown_keys[0] if self.shown_keys else None
            self.wanted_step, self.image_idx = None, 0
            self._tables.reset()
        else:
            self.current = self.shown_keys[same.index(current)]
        options = self.query_one("#media-keys", OptionList)
        self._filling_keys = True
        try:
            options.clear_options()
            options.add_options([self._key_option(k) for k in self.shown_keys])
            if self.current is not None:
                options.highlighted = self.shown_keys.index(self.current)
        finally:
            self._filling_keys = False

    @staticmethod
    def _key_option(mk: media_index.MediaKey) -> Option:
        kind = view_kind(mk)
        label = {
            "image": "img",
            "histogram": "hist",
            "table": "table",
            "confusion": "confusion",
            "chart": sanitize(mk.chart or "chart"),
        }[kind]
        text = Text(sanitize(mk.key))
        text.append(f"  {label}", style="dim")
        text.append(f" ×{mk.steps}" if mk.steps > 1 else "", style="dim")
        return Option(text)

    @on(OptionList.OptionHighlighted, "#media-keys")
    def _key_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._filling_keys:
            return
        i = event.option_index
        if 0 <= i < len(self.shown_keys) and self.shown_keys[i] != self.current:
            self.current = self.shown_keys[i]
            self.wanted_step, self.image_idx = None, 0
            self._tables.reset()
            self.load_current()

    @on(OptionList.OptionSelected, "#media-keys")
    def _key_selected(self) -> None:
        self.action_open()

    # -- one key's view ---------------------------------------------------------------------
    def load_current(self) -> None:
        run, mk = self.current_run, self.current
        if run is None or mk is None:
            return
        if self.view is None or self.view.key != mk.key:
            self.query_one("#view-empty", Static).update(Text("loading…", style="dim"))
        w, h = self._view_size()
        if view_kind(mk) == "image":
            h -= 3  # info and caption lines

        def failed(error: Exception) -> None:
            self._item_loaded(
                ItemView("empty", mk.key, [], None, body=Text(sanitize(f"cannot load {mk.key}: {error}")))
            )

        self.fetch(
            load_item,
            run.path,
            mk,
            self.wanted_step,
            self.image_idx,
            (w, h),
            apply=self._item_loaded,
            group="media-item",
            failed=failed,
        )

    def _item_loaded(self, view: ItemView) -> None:
        self.view = view
        switcher = self.query_one(ContentSwitcher)
        if view.kind == "empty":
            self._empty(view.body.plain if view.body else "")
            return
        if view.kind == "image":
            self.query_one("#media-image-info", Static).update(Text(sanitize(view.info)))
            caption = self.query_one("#media-caption", Static)
            caption.update(Text(view.caption))
            caption.display = bool(view.caption)
            self.query_one("#media-image", Static).update(view.body or Text(""))
        elif view.kind == "histogram":
            self.query_one("#media-hist-info", Static).update(Text(sanitize(view.info)))
            self.query_one("#media-heatmap", Static).update(view.body or Text(""))
            draw_bars(self.query_one("#media-bars", SafePlot), view.bars, view.step)
        elif view.kind == "confusion":
            self.query_one("#media-confusion-info", Static).update(Text(sanitize(view.info)))
            self.query_one("#media-confusion", Static).update(view.body or Text(""))
        elif view.kind == "chart":
            self.query_one("#media-chart-info", Static).update(Text(sanitize(view.info)))
            draw_chart(self.query_one("#media-chart", SafePlot), view.chart)
        elif view.kind == "table":
            self._tables.show(view)
        switcher.current = f"view-{view.kind}"
        self.call_after_refresh(self._keep_focus)

    def _keep_focus(self) -> None:
        # Switching views hides the focused table: keep the pane's keys working.
        focused = self.screen.focused
        if self.is_showing and (focused is None or not focused.visible or focused.region.area == 0):
            self.query_one("#media-keys", OptionList).focus()

    def sort_by(self, column: int) -> None:
        """Sort the shown table by a column (again: the other way), as a header click does."""
        self._tables.sort_by(column)

    # -- actions ----------------------------------------------------------------------------
    def action_run(self, delta: int) -> None:
        if len(self.runs) < 2:
            return
        self.run_index = (self.run_index + delta) % len(self.runs)
        self.current, self.view = None, None
        self.wanted_step, self.image_idx = None, 0
        self._tables.reset()
        self.reload()

    def selection_changed(self, runs, colors) -> None:
        previous = self.current_run.id if self.current_run is not None else None
        ids = [r.id for r in runs]
        self.run_index = ids.index(previous) if previous in ids else 0
        super().selection_changed(runs, colors)

    def action_step(self, delta: int) -> None:
        view = self.view
        if view is None or not view.steps or view.step is None:
            return
        i = view.steps.index(view.step) if view.step in view.steps else len(view.steps) - 1
        j = max(0, min(len(view.steps) - 1, i + delta))
        if j == i:
            return
        self.wanted_step = None if j == len(view.steps) - 1 else view.steps[j]
        self.image_idx = 0
        self.load_current()

    def action_next_image(self) -> None:
        view = self.view
        if view is None or view.kind != "image" or view.image_count < 2:
            return
        self.image_idx = (view.image_idx + 1) % view.image_count
        self.load_current()

    def action_kind(self) -> None:
        self.kind_filter = KIND_FILTERS[(KIND_FILTERS.index(self.kind_filter) + 1) % len(KIND_FILTERS)]
        self._keys_loaded(self.keys, self.message)

    def action_focus_filter(self) -> None:
        if self.view is not None and self.view.kind == "table":
            self._tables.focus_filter()

    def action_open(self) -> None:
        if self.view is not None and self.view.kind == "table":
            self._tables.focus_table()

    def on_resize(self) -> None:
        if self.view is not None and self.view.kind in ("image", "histogram"):
            self.set_timer(0.2, self._resized)

    def _resized(self) -> None:
        if self.view is not None and self.view.kind in ("image", "histogram") and self.is_showing:
            self.load_current()
