"""SQL tab: type a DuckDB query over runs/history/system/text/logs, see up to 500 rows.

The query runs in a thread worker through the store's sandboxed connection
(viewer.data.limited_query.limited_query); refusals and errors show inline, in red, as plain
text. Escape or ctrl+x interrupts a running query (Store.interrupt()). Up/Down in the
input walk the query history. Every cell and column name is sanitised plain Text.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from viewer.data.limited_query import DEFAULT_LIMIT, QueryCancelled, limited_query
from viewer.data.sanitize import sanitize
from viewer.tui.pane import Pane

if TYPE_CHECKING:
    from textual.timer import Timer

    from viewer.data.store import Store

MAX_CELL = 200
HISTORY_MAX = 200
EXAMPLE = 'SELECT id, name, state, "summary.loss" FROM runs ORDER BY created_at DESC'


def cell(value: Any) -> Text:
    """A result value as plain Text (never markup; escapes removed; long values cut)."""
    if value is None:
        return Text("NULL", style="dim italic")
    if isinstance(value, bool):
        s = "true" if value else "false"
    elif isinstance(value, float):
        s = "NaN" if math.isnan(value) else (f"{value:.6g}" if math.isfinite(value) else str(value))
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        s = value.isoformat()
    elif isinstance(value, bytes):
        s = value[:MAX_CELL].hex()
    else:
        s = str(value)
    s = sanitize(s)
    if len(s) > MAX_CELL:
        s = s[:MAX_CELL] + "…"
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return Text(s, justify="right" if numeric else "left", no_wrap=True)


class SqlPane(Pane):
    BINDINGS = [
        # Priority so the input's own ctrl+x (cut) does not swallow it while a query runs;
        # check_action lets both keys through when nothing runs.
        Binding("escape", "cancel", "Cancel query", priority=True),
        Binding("ctrl+x", "cancel", "Cancel query", show=False, priority=True),
        Binding("up", "history(-1)", "History", show=False),
        Binding("down", "history(1)", "History", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history: list[str] = []
        self._hist_pos = 0
        self._query_running = False
        self._t0 = 0.0
        self._timer: Timer | None = None
        self.last_sql = ""
        self.result_rows = 0
        self.result_more = False
        self.error_text = ""
        self.status_text = ""

    def compose(self):
        yield Input(placeholder=f"DuckDB SQL over runs, history, system, text, logs: e.g. {EXAMPLE}", id="sql-input")
        yield Static(id="sql-status")
        yield Static(id="sql-error")
        yield DataTable(id="sql-results", zebra_stripes=True, cursor_type="row")

    def pane_mounted(self) -> None:
        self._set_status("Enter runs the query · ↑/↓ history · Esc or ctrl+x cancels a running query")

    def focus_default(self) -> None:
        """The query box is this pane's main widget."""
        self.query_one("#sql-input", Input).focus()

    def reload(self) -> None:
        """Nothing to fetch on a selection change: queries run when submitted."""

    # -- running --------------------------------------------------------------------------
    @on(Input.Submitted, "#sql-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_query(event.value)

    def run_query(self, sql: str) -> None:
        sql = sql.strip()
        if not sql:
            return
        if not self.history or self.history[-1] != sql:
            self.history.append(sql)
            del self.history[:-HISTORY_MAX]
        self._hist_pos = len(self.history)
        store = self.store
        if store is None:
            self._show_error("the run store is still opening; try again in a moment")
            return
        if self._query_running:
            store.interrupt()  # a new query replaces the running one
        self._query_running = True
        self.last_sql = sql
        self._t0 = time.perf_counter()
        self._show_error("")
        self._set_status("running… 0.0 s")
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._tick)
        self.fetch(self._run_sql, store, sql, apply=self._finished, group="sql", failed=self._failed)

    @staticmethod
    def _run_sql(store: Store, sql: str) -> tuple[list[Text], list[list[Text]], bool, float]:
        """In a worker: the query's columns and cells as plain Text, whether more rows exist, seconds."""
        res = limited_query(store, sql, DEFAULT_LIMIT)
        table = res.table
        columns = [Text(sanitize(name), no_wrap=True) for name in table.column_names]
        data = [col.to_pylist() for col in table.columns]
        rows = [[cell(v) for v in row] for row in zip(*data)] if data else []
        return columns, rows, res.more, res.elapsed

    def _stopped(self) -> float:
        """The query is over: stop the clock; seconds since it started."""
        self._query_running = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        return time.perf_counter() - self._t0

    def _failed(self, error: Exception) -> None:
        elapsed = self._stopped()
        if isinstance(error, QueryCancelled):
            self._set_status(f"cancelled after {elapsed:.1f} s")
            return
        self._set_status(f"failed after {elapsed:.2f} s")
        self._show_error(str(error) or type(error).__name__)

    def _finished(self, result: tuple[list[Text], list[list[Text]], bool, float]) -> None:
        self._stopped()
        columns, rows, more, took = result
        table = self.query_one("#sql-results", DataTable)
        table.clear(columns=True)
        for i, c in enumerate(columns):
            table.add_column(c, key=f"c{i}")
        table.add_rows(rows)
        self.result_rows = len(rows)
        self.result_more = more
        shown = f"{len(rows)} of >{len(rows)} rows" if more else f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
        self._set_status(f"{shown} · {took:.2f} s")

    def _tick(self) -> None:
        if self._query_running:
            self._set_status(f"running… {time.perf_counter() - self._t0:.1f} s (Esc cancels)")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self._query_running
        return True

    def action_cancel(self) -> None:
        if not self._query_running:
            return
        store = self.store
        if store is not None:
            store.interrupt()
        self._set_status("cancelling…")

    @property
    def running(self) -> bool:
        return self._query_running

    # -- history --------------------------------------------------------------------------
    def action_history(self, delta: int) -> None:
        inp = self.query_one("#sql-input", Input)
        if not inp.has_focus or not self.history:
            return
        self._hist_pos = max(0, min(len(self.history), self._hist_pos + delta))
        inp.value = self.history[self._hist_pos] if self._hist_pos < len(self.history) else ""
        inp.cursor_position = len(inp.value)

    # -- display --------------------------------------------------------------------------
    def _set_status(self, text: str) -> None:
        self.status_text = text
        self.query_one("#sql-status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def _show_error(self, text: str) -> None:
        self.error_text = text = sanitize(text, keep_newlines=True)
        err = self.query_one("#sql-error", Static)
        err.update(Text(text, style="bold red"))
        err.set_class(bool(text), "visible")
