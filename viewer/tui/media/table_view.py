"""The table view: a logged table's rows in a DataTable, sorted by header and filtered by text.

Sorting and filtering run in a thread worker over the rows the loader read; only the first
TABLE_ROW_CAP matches go into the DataTable, since it slows down with many rows.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from viewer.data.sanitize import sanitize
from viewer.tui.latest_fetch import FetchesLatest
from viewer.tui.media.media_item import ItemView
from viewer.tui.media.value_format import fmt

TABLE_ROW_CAP = 1000  # rows put in the DataTable at once
CELL_CHARS = 80
FILTER_DEBOUNCE_S = 0.15


def cell_text(value: Any) -> Text:
    """A cell as plain text, cut at CELL_CHARS; numbers right-aligned so columns line up."""
    s = sanitize(fmt(value) if value is not None else "")
    if len(s) > CELL_CHARS:
        s = s[: CELL_CHARS - 1] + "…"
    text = Text(s)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text.justify = "right"
    return text


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (0, float(value) if math.isfinite(value) else math.inf, "")
    return (1, 0.0, str(value))


def table_view(rows: list[tuple], query: str, sort_col: int | None, desc: bool) -> list[int]:
    """Indices of the rows whose cell text holds `query` (case-insensitive), sorted by a column."""
    q = query.strip().lower()
    if q:
        idx = [i for i, r in enumerate(rows) if any(q in str(v).lower() for v in r if v is not None)]
    else:
        idx = list(range(len(rows)))
    if sort_col is not None:
        present = [i for i in idx if rows[i][sort_col] is not None]
        missing = [i for i in idx if rows[i][sort_col] is None]
        present.sort(key=lambda i: _sort_key(rows[i][sort_col]), reverse=desc)
        idx = present + missing  # empty cells last either way
    return idx


def _shown_cells(view: ItemView, query: str, sort_col: int | None, desc: bool) -> tuple[list[list[Text]], int]:
    """In a worker: the cells of the first TABLE_ROW_CAP matching rows in order, and how many match."""
    idx = table_view(view.rows, query, sort_col, desc)
    return [[cell_text(v) for v in view.rows[i]] for i in idx[:TABLE_ROW_CAP]], len(idx)


class TableBrowser(FetchesLatest, Vertical):
    """The rows of `view` when it is a table view; filter box and sort order live here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The pane's current view: a sort or filter finishing for any other is dropped.
        self.view: ItemView | None = None
        self.table_filter = ""
        self.sort_col: int | None = None
        self.sort_desc = False
        self.table_shown = 0
        self.table_matched = 0
        self._filter_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="media-table-info", classes="info", markup=False)
        yield Input(placeholder="filter rows by cell text", id="media-table-filter")
        yield DataTable(id="media-table", zebra_stripes=True)

    def show(self, view: ItemView) -> None:
        """Put a newly loaded table view on screen, keeping the filter and sort."""
        self.view = view
        self.query_one("#media-table-info", Static).update(Text(sanitize(view.info)))
        self.refresh_table_view()

    def reset(self) -> None:
        """Forget the filter and sort (another key or run is about to be shown)."""
        self.table_filter, self.sort_col, self.sort_desc = "", None, False
        try:
            box = self.query_one("#media-table-filter", Input)
        except Exception:
            return
        if box.value:
            with box.prevent(Input.Changed):
                box.value = ""

    def refresh_table_view(self) -> None:
        """Filter and sort the rows again in a worker; the newest request wins."""
        view = self.view
        if view is None or view.kind != "table":
            return
        self.fetch(
            _shown_cells,
            view,
            self.table_filter,
            self.sort_col,
            self.sort_desc,
            apply=partial(self._table_ready, view),
            group="media-table",
        )

    def _table_ready(self, view: ItemView, shown: tuple[list[list[Text]], int]) -> None:
        if view is not self.view:
            return
        cells, matched = shown
        table = self.query_one("#media-table", DataTable)
        table.clear(columns=True)
        for i, name in enumerate(view.columns):
            arrow = (" ▼" if self.sort_desc else " ▲") if i == self.sort_col else ""
            table.add_column(Text(name + arrow), key=f"c{i}")
        for row in cells:
            table.add_row(*row)
        self.table_shown, self.table_matched = len(cells), matched
        info = view.info
        if self.table_filter:
            info += f"  ·  {matched} match"
        if matched > len(cells):
            info += f"  ·  showing {len(cells)}, {matched - len(cells)} more (filter or sort to see others)"
        self.query_one("#media-table-info", Static).update(Text(sanitize(info)))

    @on(DataTable.HeaderSelected, "#media-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(int(str(event.column_key.value)[1:]))

    def sort_by(self, column: int) -> None:
        """Sort by a column, ascending; the same column again flips the order."""
        if self.sort_col == column:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_col, self.sort_desc = column, False
        self.refresh_table_view()

    @on(Input.Changed, "#media-table-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table_filter = event.value
        # Typing fast over a big table: one refresh once the keys pause.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE_S, self.refresh_table_view)

    @on(Input.Submitted, "#media-table-filter")
    def _filter_submitted(self) -> None:
        self.focus_table()

    def focus_filter(self) -> None:
        self.query_one("#media-table-filter", Input).focus()

    def focus_table(self) -> None:
        self.query_one("#media-table", DataTable).focus()
