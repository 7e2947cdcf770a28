"""A DataTable whose rows hold no cells until they are drawn, and whose column widths
come from the caller.

Textual's DataTable takes every cell of every row up front (add_row), then parses and
measures each one on the next idle, though only the rows on screen are ever drawn. With
10,000 runs x 16 columns that was 160,000 cells made and measured before the runs pane
settled (seconds, and ~100 MB). Here a row is a key until the table first asks for one of
its cells; the cell is then made by the caller's function and kept. The caller, which
knows each cell's plain-text width, hands the widths over, so nothing is measured. Without
widths (`set_known_widths(None)`) the table measures the cells like DataTable does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, DuplicateKey, Row, RowKey

MakeCell = Callable[[str, str], Any]  # (row key, column key) -> the cell; KeyError: no such column


class _LazyCells(dict):
    """One row's cells by column key, each made the first time it is looked up."""

    __slots__ = ("_make", "_row")

    def __init__(self, make: MakeCell, row: str) -> None:
        super().__init__()
        self._make = make
        self._row = row

    def __missing__(self, column: ColumnKey) -> Any:
        cell = self[column] = self._make(self._row, str(column.value))
        return cell


class LazyTable(DataTable):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.known_widths: dict[str, int] | None = None

    def set_known_widths(self, widths: dict[str, int] | None) -> None:
        """Widths (in cells) by column key for the rows added next; None to measure again."""
        self.known_widths = widths

    def add_lazy_rows(self, keys: Sequence[str], make_cell: MakeCell) -> None:
        """Append one row per key, each one line high, whose cells `make_cell` makes when
        first needed (drawing, get_row, get_cell). Costs a few µs a row, whatever the columns."""
        start = self.row_count
        data, rows, locations = self._data, self.rows, self._row_locations
        for index, key in enumerate(keys, start):
            row_key = RowKey(key)
            if row_key in locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            locations[row_key] = index
            data[row_key] = _LazyCells(make_cell, key)
            rows[row_key] = Row(row_key, 1)
            if self.known_widths is None:
                self._new_rows.add(row_key)  # measured on idle, as add_row's are
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # revalidated against the new rows
        if start == 0 and self.row_count and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def widen(self, widths: dict[str, int]) -> None:
        """Grow columns to at least these widths (cells found wider after the first paint)."""
        grown = False
        for key, column in self.columns.items():
            width = widths.get(str(key.value), 0)
            if width > column.content_width:
                column.content_width = width
                grown = True
        if grown:
            self._require_update_dimensions = True
            self._update_count += 1  # the render caches are keyed by it
            self.check_idle()
            self.refresh()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        widths = self.known_widths
        if widths is None:
            super()._update_dimensions(new_rows)
            return
        for key, column in self.columns.items():
            column.content_width = max(column.content_width, widths.get(str(key.value), 0))
        # With no rows to measure, the base class only sets the virtual size.
        super()._update_dimensions(())
