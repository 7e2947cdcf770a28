"""A DataTable whose column widths come from the caller instead of from measuring cells.

Textual's DataTable parses and measures every cell of every new row on the next idle
(about 350 ms for 1,000 runs x 16 columns here), though only the visible rows are ever
drawn. The runs pane knows each cell's plain-text width while it builds the cell, so it
hands the widths over and the table skips the measuring. Without widths it behaves
exactly like DataTable.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable


class MeasuredTable(DataTable):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.known_widths: dict[str, int] | None = None

    def set_known_widths(self, widths: dict[str, int] | None) -> None:
        """Widths (in cells) by column key for the rows added next; None to measure again."""
        self.known_widths = widths

    def _update_dimensions(self, new_rows: Iterable) -> None:
        widths = self.known_widths
        if widths is None:
            super()._update_dimensions(new_rows)
            return
        for key, column in self.columns.items():
            column.content_width = max(column.content_width, widths.get(str(key.value), 0))
        # With no rows to measure, the base class only sets the virtual size.
        super()._update_dimensions(())
