"""The compare view (`d` on the runs table): the selected runs side by side.

Config keys that differ come first; the ones all runs share are folded into one line
(`f` shows them). Summary metrics follow, the best value of each row in bold green with
a `*` (the rule is viewer.data.run_compare's, and the help screen's). The comparison is
built in a thread worker from the store; every cell is a Rich Text of sanitised run
text, so a run named `[@click=app.quit]` is only ever those characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from viewer.data.run_compare import RunComparison, compare_runs, format_value
from viewer.data.sanitize import sanitize
from viewer.tui.latest_fetch import FetchesLatest

if TYPE_CHECKING:
    from viewer.data.runs_table import RunInfo

# Rows per section put into the table: a 10,000-key config would freeze it for seconds.
MAX_SECTION_ROWS = 500
BEST_STYLE = "bold green"
BEST_MARK = " *"
CELL_WIDTH = 32


def _compare(store, runs: list[RunInfo]) -> RunComparison:
    """In a worker: the comparison, with each run's metric goals from its definitions."""
    definitions = []
    if store is not None:
        for run in runs:
            try:
                definitions.append(store.metric_definitions(run.id))
            except Exception:
                definitions.append({})  # a run removed meanwhile: no goals from it
    return compare_runs(runs, definitions)


class CompareScreen(FetchesLatest, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("f", "fold", "Same config keys"),
    ]

    def __init__(self, runs: list[RunInfo]) -> None:
        super().__init__()
        self.runs = list(runs)
        self.comparison: RunComparison | None = None
        self.show_same = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"comparing {len(self.runs)} runs…"), id="compare-title")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self._load()

    def _load(self) -> None:
        self.fetch(_compare, getattr(self.app, "store", None), self.runs, apply=self._show, group="compare")

    def _show(self, comparison: RunComparison) -> None:
        self.comparison = comparison
        self._fill()

    def _fill(self) -> None:
        c = self.comparison
        if c is None:
            return
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_column(Text("key"), key="key")
        for i, label in enumerate(c.labels):
            table.add_column(Text(_cut(sanitize(label)), style="bold"), key=f"run{i}")
        self._section(table, "metadata", [r for r in c.metadata if r.key != "name"])
        n_same = len(c.config_same)
        total = len(c.config_differ) + n_same
        # Headings sit in the key column: kept short, so they do not widen it.
        self._section(table, f"config: {len(c.config_differ)} of {total} differ", c.config_differ)
        if n_same:
            if self.show_same:
                self._section(table, f"config: {n_same} the same", c.config_same)
            else:
                self._heading(table, f"▸ {n_same} the same (f)", "same")
        self._section(table, "summary (* best)", c.summary)
        if cursor is not None and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        differ = len(c.config_differ)
        self.query_one("#compare-title", Static).update(
            Text(
                f"{len(c.runs)} runs · {differ} config key{' differs' if differ == 1 else 's differ'}"
                f", {n_same} the same{' (f shows them)' if n_same and not self.show_same else ''}"
                " · * best (? says how) · esc closes"
            )
        )

    def _heading(self, table: DataTable, title: str, key: str) -> None:
        blanks: list[Any] = [""] * len(self.runs)
        table.add_row(Text(title, style="bold underline"), *blanks, key=f"§{key}")

    def _section(self, table: DataTable, title: str, rows: Any) -> None:
        self._heading(table, title, title)
        rows = list(rows)
        for row in rows[:MAX_SECTION_ROWS]:
            cells = []
            for i, v in enumerate(row.values):
                text = _cut(sanitize(format_value(row.key, v)))
                cells.append(Text(text + BEST_MARK, style=BEST_STYLE) if i in row.best else Text(text))
            table.add_row(Text("  " + _cut(sanitize(row.key))), *cells)
        if len(rows) > MAX_SECTION_ROWS:
            more = len(rows) - MAX_SECTION_ROWS
            table.add_row(Text(f"  … {more} more (loupe diff lists them all)", style="dim"), *[""] * len(self.runs))

    def action_fold(self) -> None:
        self.show_same = not self.show_same
        self._fill()

    def action_close(self) -> None:
        self.dismiss(None)


def _cut(text: str) -> str:
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"
