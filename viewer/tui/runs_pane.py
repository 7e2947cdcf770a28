"""The runs table: every run under the roots; search, expression filter, sort, group, select.

Selecting runs (space, `a` for all shown) gives each a colour used everywhere else.
Cells are Rich Text built from plain strings, so a run named `[@click=app.quit]` is
just text.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from viewer.data import run_table_model as model
from viewer.data.error_text import first_line
from viewer.data.run_colors import RunColors
from viewer.data.runs_table import RunInfo
from viewer.data.sanitize import sanitize
from viewer.tui.column_chooser import ColumnChooser
from viewer.tui.compare_screen import CompareScreen
from viewer.tui.lazy_table import LazyTable
from viewer.tui.manage_dialogs import RunEditScreen, TrashScreen
from viewer.tui.messages import RowsDrawn, SelectionChanged
from viewer.tui.pane import Pane
from viewer.tui.run_cells import MARK, state_cell, value_cell

if TYPE_CHECKING:
    from viewer.tui.app import LoupeApp

# Every row goes into the table at once, cells unmade (viewer.tui.lazy_table); column
# widths come from this many rows before the first paint, then from the rest this many
# per turn of the event loop.
FIRST_ROWS = 200
MORE_ROWS = 1_000


class RunsPane(Pane):
    BINDINGS = [
        Binding("space", "toggle_select", "Select"),
        Binding("a", "select_all", "Select shown"),
        Binding("x", "clear_selection", "Clear"),
        Binding("enter", "open", "Plot", show=False),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("g", "group", "Group"),
        Binding("c", "columns", "Columns"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("d", "compare", "Compare"),
        Binding("e", "edit", "Edit"),
        Binding("delete", "trash", "Delete"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[model.TableRow] = []
        self.shown: list[model.TableRow] = []
        self.selected: list[str] = []
        self.extra_columns: list[str] | None = None  # None: choose automatically
        self.sort_column: str | None = None
        self.sort_desc = False
        self.grouping: str | None = None
        self.filter_text = ""
        self.expr_ids: set[str] | None = None
        self.filter_error = ""
        # Row objects by run id, kept while the run's sidecars and state are unchanged;
        # and what the table was last built with. A live rescan then repaints only the
        # rows that changed instead of rebuilding 1,000 rows every few seconds.
        self._row_cache: dict[str, tuple[tuple, model.TableRow]] = {}
        self._drawn_layout: tuple | None = None
        self._auto_columns: list[str] = []
        self._auto_for: list[model.TableRow] | None = None
        # The rows on screen by run id, and what their lazily made cells need.
        self._shown_by_id: dict[str, model.TableRow] = {}
        self._group_of: dict[str, str | None] = {}
        self._drawn_columns: frozenset[str] = frozenset()
        # The timer that measures the next rows' widths.
        self._width_timer: Timer | None = None
        self._rows_drawn = False  # RowsDrawn is posted once, at the first row drawn

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="search, project:x tag:y, or  config.lr > 1e-3 and state = 'finished'",
            id="runs-filter",
            classes="compact-filter",
        )
        # Until the first scan is in (a slow network root): say so, not "0 runs".
        yield Static("scanning the roots for runs…", id="runs-status", markup=False)
        table = LazyTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.set_known_widths({})  # redraw works them out from the plain text of the cells
        yield table

    @property
    def table(self) -> LazyTable:
        return self.query_one("#runs-table", LazyTable)

    # -- data from the app ------------------------------------------------------------------
    def show_runs(self, runs: list[RunInfo], selected: list[str], colors: RunColors) -> None:
        self.rows = self._rows_for(runs)
        self.selected = list(selected)
        self.run_colors = colors
        if self.filter_text and model.looks_like_expression(self.filter_text):
            self._apply_expression(self.filter_text)  # ids may have changed
        self.redraw()

    def _rows_for(self, runs: list[RunInfo]) -> list[model.TableRow]:
        cache: dict[str, tuple[tuple, model.TableRow]] = {}
        rows = []
        for run in runs:
            key = (run.meta_signature, run.state)
            hit = self._row_cache.get(run.id)
            row = hit[1] if hit is not None and hit[0] == key else model.build_rows([run])[0]
            cache[run.id] = (key, row)
            rows.append(row)
        self._row_cache = cache
        return rows

    def show_selection(self, selected: list[str], colors: RunColors) -> None:
        # A run keeps its colour while selected: only runs that joined or left the
        # selection get a new mark (updating all 1,000 cells cost ~30 ms a keypress).
        flipped = set(self.selected).symmetric_difference(selected)
        self.selected = list(selected)
        self.run_colors = colors
        table = self.table
        for row in self.shown:
            if row.run.id in flipped:
                try:
                    table.update_cell(row.run.id, "state", self._cell("state", row)[0])
                except Exception:
                    pass
        self._update_status()

    def selection_changed(self, runs, colors) -> None:  # the runs pane drives selection
        pass

    # -- rendering ----------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        extra = self.extra_columns
        if extra is None:
            # Worked out once per list of rows, not on every sort or filter.
            if self._auto_for is not self.rows:
                self._auto_columns = model.auto_columns(self.rows)
                self._auto_for = self.rows
            extra = self._auto_columns
        return list(model.BASE_COLUMNS) + extra

    def redraw(self) -> None:
        rows = [r for r in self.rows if self._passes(r)]
        rows = model.sort_rows(rows, self.sort_column, self.sort_desc)
        groups = model.group_rows(rows, self.grouping)
        columns = self._columns()
        table = self.table
        layout = (tuple(columns), self.grouping, self.sort_column, self.sort_desc)
        ordered = [row for _, members in groups for row in members]
        if (
            layout == self._drawn_layout
            and not self.grouping
            and [r.run.id for r in ordered] == [r.run.id for r in self.shown]
        ):
            self._repaint_changed(ordered, columns)
            return
        self._drawn_layout = layout
        cursor_key = self._cursor_run()
        table.clear(columns=True)
        if self.grouping:
            table.add_column(self.grouping, key="__group")
        for col in columns:
            arrow = ""
            if col == self.sort_column:
                arrow = " ▼" if self.sort_desc else " ▲"
            table.add_column(Text(sanitize(col) + arrow), key=col)
        self.shown = ordered
        self._shown_by_id = {row.run.id: row for row in ordered}
        self._group_of = {row.run.id: group for group, members in groups for row in members} if self.grouping else {}
        self._drawn_columns = frozenset(columns)
        if self._width_timer is not None:
            self._width_timer.stop()  # the widths still to come were for the table just cleared
            self._width_timer = None
        widths = dict.fromkeys(columns, 0)
        widths["__group"] = 0
        self._measure(widths, 0, FIRST_ROWS)
        if table.known_widths is not None:
            table.set_known_widths(widths)
        table.add_lazy_rows([row.run.id for row in ordered], self._lazy_cell)
        if cursor_key is not None and cursor_key in self._shown_by_id:
            try:
                table.move_cursor(row=table.get_row_index(cursor_key))
            except Exception:
                pass
        self._update_status()

    def _lazy_cell(self, run_id: str, column: str) -> str:
        """A cell the table draws for the first time (viewer.tui.lazy_table)."""
        if not self._rows_drawn:
            self._rows_drawn = True
            self.app.post_message(RowsDrawn())
        row = self._shown_by_id[run_id]
        if column == "__group" and self.grouping:
            return f"[bold]{escape(sanitize(self._group_of.get(run_id) or ''))}[/]"
        if column not in self._drawn_columns:
            raise KeyError(column)
        return self._cell(column, row)[0]

    def _measure(self, widths: dict[str, int], start: int, count: int) -> None:
        """Widen `widths` to fit rows start..start+count of `shown`; the rest on a later turn.

        A row's widths cost ~50 µs: 10,000 runs in one go would hold the first paint and
        then keys for ~0.5 s. The cells themselves are not kept (the table makes those it
        draws), so a large root costs no memory for rows nobody scrolls to."""
        self._width_timer = None
        end = min(len(self.shown), start + count)
        columns = [c for c in widths if c != "__group"]
        for row in self.shown[start:end]:
            if self.grouping:
                widths["__group"] = max(widths["__group"], cell_len(sanitize(self._group_of.get(row.run.id) or "")))
            for col in columns:
                width = self._cell_width(col, row)
                if width > widths[col]:
                    widths[col] = width
        if start > 0:
            self.table.widen(widths)
        if end < len(self.shown):
            self._width_timer = self.set_timer(0.001, partial(self._measure, widths, end, MORE_ROWS))

    def _cell_width(self, column: str, row: model.TableRow) -> int:
        cell = row.cells.get(column)
        if cell is not None:
            return cell[1]
        if column == "state":
            return state_cell(row.values.get(column))[1]
        return value_cell(column, row.values.get(column))[1]

    def _repaint_changed(self, rows: list[model.TableRow], columns: list[str]) -> None:
        """Same rows in the same order: update the cells of rows whose content changed."""
        table = self.table
        before = {r.run.id: r for r in self.shown}
        widths: dict[str, int] = {}
        for row in rows:
            old = before[row.run.id]
            if old is row:
                continue
            for col in columns:
                markup, width = self._cell(col, row)
                if markup != self._cell(col, old)[0]:
                    # Not update_width: the table would measure every cell of a column
                    # that got narrower, making the cells of rows nobody has drawn.
                    table.update_cell(row.run.id, col, markup)
                    widths[col] = max(widths.get(col, 0), width)
        self.shown = rows
        self._shown_by_id = {row.run.id: row for row in rows}
        table.widen(widths)
        self._update_status()

    def _cell(self, column: str, row: model.TableRow) -> tuple[str, int]:
        """The cell as markup, and its width on screen.

        Cells are markup strings: our own styles around run text that is sanitised and
        escaped, so it can only ever be literal. (Text cells are as safe but the table
        measures each one through the console: 3x slower on 1,000 runs.) The width is
        taken from the plain text, so the table need not parse the markup to measure it.
        """
        value = row.values.get(column)
        if column == "state":
            text, width = state_cell(value)
            return self._mark(row.run.id) + text, width
        # The other cells depend on the row's values only, and a row object lives as long
        # as its run is unchanged: sorting or filtering 5,000 runs reuses them.
        cell = row.cells.get(column)
        if cell is None:
            cell = row.cells[column] = value_cell(column, value)
        return cell

    def _mark(self, run_id: str) -> str:
        if run_id in self.selected:
            return f"[{self.run_colors.rich_color(run_id) or 'white'}]{MARK}[/] "
        return "  "

    def _passes(self, row: model.TableRow) -> bool:
        if not self.filter_text:
            return True
        if self.expr_ids is not None:
            return row.run.id in self.expr_ids
        if model.looks_like_expression(self.filter_text):
            return True  # expression pending in the worker
        return model.text_match(row, self.filter_text)

    def show_failure(self, message: str) -> None:
        """The roots could not be read: the status line says why instead of 'scanning'."""
        self.query_one("#runs-status", Static).update(Text(sanitize(message), style="red"))

    def _update_status(self) -> None:
        parts = [f"{len(self.shown)} of {len(self.rows)} runs", f"{len(self.selected)} selected"]
        if self.sort_column:
            parts.append(f"sort {self.sort_column} {'desc' if self.sort_desc else 'asc'}")
        if self.grouping:
            parts.append(f"grouped by {self.grouping}")
        if self.filter_error:
            parts.append(f"filter error: {self.filter_error}")
        self.query_one("#runs-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    def _cursor_run(self) -> str | None:
        table = self.table
        if not self.shown or table.cursor_row is None or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row].run.id

    # -- filtering --------------------------------------------------------------------------
    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.filter_error = ""
        self.expr_ids = None
        if self.filter_text and model.looks_like_expression(self.filter_text):
            self._apply_expression(self.filter_text)
        else:
            self.drop_fetches("runs-filter")  # an expression typed before this must not land
        self.redraw()

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def _apply_expression(self, text: str) -> None:
        store = self.store
        if store is None:
            return

        def matching(expression: str) -> set[str]:
            return set(store.list_runs(filter=expression, columns=["id"]).column("id").to_pylist())

        def failed(exc: Exception) -> None:
            self._expression_done(set(), first_line(exc, 500))

        self.fetch(matching, text, apply=self._expression_done, group="runs-filter", failed=failed)

    def _expression_done(self, ids: set[str], error: str = "") -> None:
        self.expr_ids = ids  # empty on error: a filter that cannot run matches nothing
        self.filter_error = error
        self.redraw()

    # -- actions ----------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def action_toggle_select(self) -> None:
        rid = self._cursor_run()
        if rid is None:
            return
        ids = [i for i in self.selected if i != rid] if rid in self.selected else self.selected + [rid]
        self.post_message(SelectionChanged(ids))

    def action_select_all(self) -> None:
        self.post_message(SelectionChanged([r.run.id for r in self.shown]))

    def action_clear_selection(self) -> None:
        self.post_message(SelectionChanged([]))

    def action_open(self) -> None:
        rid = self._cursor_run()
        if rid is None:
            return
        if rid not in self.selected:
            self.post_message(SelectionChanged(self.selected + [rid]))
        cast("LoupeApp", self.app).action_tab("metrics")  # panes live in LoupeApp, which owns the tabs

    def action_sort(self) -> None:
        """Sort by the next column (row cursor: no column to point at; headers take clicks)."""
        columns = self._columns()
        nxt = (
            columns[0]
            if self.sort_column not in columns
            else columns[(columns.index(self.sort_column) + 1) % len(columns)]
        )
        self.sort_column, self.sort_desc = nxt, False
        self.redraw()

    def action_reverse(self) -> None:
        self.sort_desc = not self.sort_desc
        self.redraw()

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self._sort_by(str(event.column_key.value))

    def _sort_by(self, column: str) -> None:
        if column == "__group":
            return
        if self.sort_column == column:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_column, self.sort_desc = column, False
        self.redraw()

    def action_group(self) -> None:
        i = model.GROUPINGS.index(self.grouping)
        self.grouping = model.GROUPINGS[(i + 1) % len(model.GROUPINGS)]
        self.redraw()

    def action_columns(self) -> None:
        available = model.all_extra_columns(self.rows)
        chosen = self._columns()[len(model.BASE_COLUMNS) :]

        def done(result: list[str] | None) -> None:
            if result is not None:
                self.extra_columns = result
                self.redraw()

        self.app.push_screen(ColumnChooser(available, chosen), done)

    # -- compare and manage (the dialogs do the work: viewer.tui.manage_dialogs) ----------
    def _runs_by_id(self) -> dict[str, RunInfo]:
        return {row.run.id: row.run for row in self.rows}

    def action_compare(self) -> None:
        runs = [r for i in self.selected if (r := self._runs_by_id().get(i)) is not None]
        if len(runs) < 2:
            self.notify("select two or more runs (space) to compare them", markup=False)
            return
        self.app.push_screen(CompareScreen(runs))

    def action_edit(self) -> None:
        run = self._runs_by_id().get(self._cursor_run() or "")
        if run is not None:
            self.app.push_screen(RunEditScreen(run))

    def action_trash(self) -> None:
        """The selected runs when the cursor is on one of them, else the run under it."""
        rid = self._cursor_run()
        if rid is None:
            return
        ids = self.selected if rid in self.selected else [rid]
        by_id = self._runs_by_id()
        self.app.push_screen(TrashScreen([by_id[i] for i in ids if i in by_id]))
