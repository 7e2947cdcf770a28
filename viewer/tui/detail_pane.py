"""Detail tab: one run's overview (metadata, error, files, artifacts) and its config/summary.

Data comes from viewer.data.run_details.load_details in a thread worker. Config and summary
rows go into a DataTable as plain Text, at most ROW_LIMIT at a time ("N more: refine the
filter"): a 10,000-key config is filtered in a worker and never floods the UI thread
(measured: adding 10k rows to a DataTable froze the UI for 1.4 s).

Keys: / filter box, escape back to the table, [ / ] previous/next selected run.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from viewer.data.byte_size import format_bytes
from viewer.data.run_details import RunDetails, filter_rows, load_details
from viewer.data.sanitize import sanitize
from viewer.tui.pane import Pane

ROW_LIMIT = 500


def overview_text(d: RunDetails, color: str | None = None) -> Text:
    """The left column: every string is sanitised already; built as Text, never markup."""
    t = Text()
    t.append("● ", color or "white")
    t.append(d.title + "\n\n", "bold")
    width = max((len(k) for k, _ in d.overview), default=8)
    for k, v in d.overview:
        t.append(f"{k:<{width}}  ", "dim")
        style = ""
        if k == "state":
            style = "green" if v.startswith("running") else ("red" if v.startswith(("failed", "crashed")) else "")
        t.append(v + "\n", style)
    if d.error:
        t.append("\nerror\n", "bold red")
        t.append(d.error.rstrip("\n") + "\n", "red")
    t.append(f"\nsaved files ({len(d.files)}{'+' if d.files_capped else ''})\n", "bold")
    if not d.files:
        t.append("  none\n", "dim")
    for path, size in d.files:
        t.append(f"  {path}", "")
        t.append(f"  {format_bytes(size)}\n", "dim")
    if d.artifacts:
        for kind in ("inputs", "outputs", "links"):
            items = d.artifacts.get(kind)
            if items:
                t.append(f"\nartifact {kind}\n", "bold")
                for label in items:
                    t.append(f"  {label}\n")
    return t


class DetailPane(Pane):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("left_square_bracket", "cycle_run(-1)", "Prev run"),
        Binding("right_square_bracket", "cycle_run(1)", "Next run"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.details: RunDetails | None = None
        self.shown_rows: list[tuple[str, str, str]] = []
        self.total_matches = 0
        self._shown: str | None = None
        self._sig: tuple | None = None

    def compose(self):
        with Horizontal(id="detail-split"):
            with VerticalScroll(id="detail-overview"):
                yield Static(
                    Text("No run selected: pick one in the Runs tab (1).", style="dim"), id="detail-overview-text"
                )
            with Vertical(id="detail-right"):
                yield Input(
                    placeholder="/ filter config and summary (key or value)",
                    id="detail-filter",
                    classes="compact-filter",
                )
                yield Static(id="detail-count")
                yield DataTable(id="detail-table", zebra_stripes=True, cursor_type="row")

    def pane_mounted(self) -> None:
        table = self.query_one("#detail-table", DataTable)
        table.add_column(Text("section"), key="section", width=7)
        table.add_column(Text("key"), key="key")
        table.add_column(Text("value"), key="value")

    # -- loading --------------------------------------------------------------------------
    def selection_changed(self, runs, colors) -> None:
        if self._shown is not None:
            self.keep_showing(runs, self._shown)
        super().selection_changed(runs, colors)

    @staticmethod
    def _signature(run) -> tuple:
        # The store hands out new dicts only when a sidecar changed.
        return (run.id, run.state, id(run.config), id(run.summary), id(run.run_json))

    def data_changed(self) -> None:
        run = self.current_run
        if run is not None and self._sig == self._signature(run):
            return  # live refresh, nothing about this run changed: keep the table as it is
        super().data_changed()

    def reload(self) -> None:
        run = self.current_run
        self._sig = self._signature(run) if run is not None else None
        # A filter still running applies to the run shown before: it must not land.
        self.drop_fetches("detail-filter")
        if run is None:
            self.drop_fetches("detail-load")
            self._shown = None
            self.details = None
            self.query_one("#detail-overview-text", Static).update(
                Text("No run selected: pick one in the Runs tab (1).", style="dim")
            )
            self._show_rows(([], 0, []))
            return
        store = self.store
        if store is None:
            return
        self._shown = run.id
        query = self.query_one("#detail-filter", Input).value
        run_id = run.id

        def failed(error: Exception) -> None:
            message = f"cannot read run {run_id}: {error}"
            self.query_one("#detail-overview-text", Static).update(Text(sanitize(message), style="red"))

        self.fetch(self._read, store, run_id, query, apply=self._loaded, group="detail-load", failed=failed)

    @classmethod
    def _read(cls, store, run_id: str, query: str) -> tuple[RunDetails, list, list, int]:
        d = load_details(store, run_id)
        rows, total = filter_rows(d.rows, query, ROW_LIMIT)
        return d, rows, cls._cells(rows), total

    def _loaded(self, loaded: tuple[RunDetails, list, list, int]) -> None:
        d, rows, cells, total = loaded
        self.details = d
        color = self.run_colors.rich_color(d.run_id) if self.run_colors.get(d.run_id) else None
        text = overview_text(d, color)
        if len(self.runs) > 1:
            text.append(f"\nrun {self.run_index + 1} of {len(self.runs)} selected ([ and ] switch)", "dim")
        self.query_one("#detail-overview-text", Static).update(text)
        self._show_rows((rows, total, cells))

    # -- filtering ------------------------------------------------------------------------
    @staticmethod
    def _cells(rows: list[tuple[str, str, str]]) -> list[tuple[Text, Text, Text]]:
        return [(Text(s, style="dim" if s == "summary" else "cyan"), Text(k), Text(v)) for s, k, v in rows]

    @on(Input.Changed, "#detail-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.details is None:
            return
        self.fetch(self._filtered, self.details, event.value, apply=self._show_rows, group="detail-filter")

    @on(Input.Submitted, "#detail-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_focus_table()

    @classmethod
    def _filtered(cls, d: RunDetails, query: str) -> tuple[list, int, list]:
        rows, total = filter_rows(d.rows, query, ROW_LIMIT)
        if get_current_worker().is_cancelled:
            return rows, total, []  # superseded by the next keystroke: not shown
        return rows, total, cls._cells(rows)

    def _show_rows(self, shown: tuple[list, int, list]) -> None:
        rows, total, cells = shown
        table = self.query_one("#detail-table", DataTable)
        keep = table.cursor_row if rows and rows[:1] == self.shown_rows[:1] else 0
        table.clear()
        table.add_rows(cells)
        if 0 < keep < table.row_count:
            table.move_cursor(row=keep, animate=False)
        self.shown_rows = rows
        self.total_matches = total
        n_all = len(self.details.rows) if self.details else 0
        if total > len(rows):
            msg = f"{len(rows)} of {total} matches shown: {total - len(rows)} more, refine the filter"
        elif self.query_one("#detail-filter", Input).value.strip():
            msg = f"{total} of {n_all} keys match"
        else:
            msg = f"{n_all} config and summary keys"
        self.query_one("#detail-count", Static).update(Text(msg, no_wrap=True, overflow="ellipsis"))

    # -- actions --------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.query_one("#detail-filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#detail-table", DataTable).focus()

    def action_cycle_run(self, delta: int) -> None:
        if self.step_run(delta):
            self.reload()

    def focus_default(self) -> None:
        self.action_focus_table()
