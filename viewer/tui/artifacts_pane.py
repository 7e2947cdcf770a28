"""The artifacts pane: collections under the roots, their versions, and the selected run's lineage.

Left, every artifact collection (`project/name`, type, version count) and registry
collection (`registry reg/col`); `/` narrows the list. Right, the chosen collection's
versions in a table (version, aliases, type, size, files, created, producer, consumers),
the highlighted version's detail (description, digest, metadata, files, producer and
consumer runs; for a registry member, the version it links to), and at the bottom the
first selected run's inputs, outputs and registry links (`[`/`]` cycle the selection).

All reads go through viewer.data.artifact_rows in thread workers. Names, aliases,
metadata and file paths are untrusted: shown as plain text (viewer.data.sanitize).
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from viewer.data.artifact_rows import Entry, VersionRow, load_entries, load_run_io, load_versions
from viewer.data.sanitize import sanitize
from viewer.tui.artifact_text import run_io_text, version_cells, version_detail
from viewer.tui.pane import Pane


class ArtifactsPane(Pane):
    selected_runs_only = False  # lists what is under the roots, whichever runs are selected
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("enter", "open", "Versions", show=False),
        Binding("left_square_bracket", "run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "run(1)", "Next run", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entries: list[Entry] = []
        self.shown: list[Entry] = []
        self.current: Entry | None = None
        self.rows: list[VersionRow] = []
        self.filter_text = ""
        self.message = ""
        self.run_io: dict[str, list[dict]] | None = None
        self._filling = False

    def compose(self) -> ComposeResult:
        yield Static(id="artifacts-status", markup=False)
        with Horizontal():
            with Vertical(id="artifacts-left"):
                yield OptionList(id="artifacts-collections")
                yield Input(placeholder="filter collections", id="artifacts-filter")
            with Vertical(id="artifacts-right"):
                yield DataTable(id="artifacts-versions", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="artifacts-detail-scroll"):
                    yield Static(id="artifacts-detail", markup=False)
                yield Static(id="artifacts-run", markup=False)

    def _set_status(self) -> None:
        parts = [f"{len(self.shown)} of {len(self.entries)} collections"]
        if self.current is not None:
            parts.append(f"{self.current.label}: {len(self.rows)} versions")
        if self.message:
            parts.append(self.message)
        self.query_one("#artifacts-status", Static).update(Text(sanitize("  ·  ".join(parts))))

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch(
            load_entries,
            self.roots,
            apply=self._entries_loaded,
            group="artifacts-entries",
            failed=lambda error: self._entries_loaded(([], [f"cannot list artifacts: {error}"])),
        )
        self._load_run_io()

    def _entries_loaded(self, loaded: tuple[list[Entry], list[str]]) -> None:
        entries, errors = loaded
        self.entries = entries
        self.message = errors[0] if errors else ""
        self._fill_list()
        if self.current is None:
            self.rows = []
            self._show_versions()
            detail = (
                "no artifacts under the roots yet (run.log_artifact writes them)"
                if not entries
                else "no collection matches the filter"
            )
            self.query_one("#artifacts-detail", Static).update(Text(detail, style="dim"))
        else:
            self._load_versions()
        self._set_status()

    def _fill_list(self) -> None:
        q = self.filter_text.strip().lower()
        self.shown = [e for e in self.entries if not q or q in e.label.lower() or q in (e.type or "").lower()]
        if self.current not in self.shown:
            same = [
                e
                for e in self.shown
                if self.current
                and (e.kind, e.root, e.group, e.name)
                == (self.current.kind, self.current.root, self.current.group, self.current.name)
            ]
            self.current = same[0] if same else (self.shown[0] if self.shown else None)
        options = self.query_one("#artifacts-collections", OptionList)
        self._filling = True
        try:
            options.clear_options()
            options.add_options([self._option(e) for e in self.shown])
            if self.current is not None:
                options.highlighted = self.shown.index(self.current)
        finally:
            self._filling = False

    @staticmethod
    def _option(e: Entry) -> Option:
        text = Text(sanitize(e.label), style="italic" if e.kind == "registry" else "")
        detail = f"  {e.type}" if e.type else ""
        text.append(sanitize(f"{detail} ·{e.versions}"), style="dim")
        return Option(text)

    @on(OptionList.OptionHighlighted, "#artifacts-collections")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._filling:
            return
        i = event.option_index
        if 0 <= i < len(self.shown) and self.shown[i] != self.current:
            self.current = self.shown[i]
            self._load_versions()

    @on(OptionList.OptionSelected, "#artifacts-collections")
    def _selected(self) -> None:
        self.action_open()

    def _load_versions(self) -> None:
        if self.current is None:
            return
        entry = self.current
        store = self.store

        def run_name(run_id: str) -> str | None:
            info = store.get(run_id) if store is not None else None
            return info.name if info is not None else None

        self.fetch(
            load_versions,
            entry,
            run_name,
            apply=partial(self._versions_loaded, entry),
            group="artifacts-versions",
            failed=lambda error: self._versions_loaded(entry, ([], [f"cannot read {entry.label}: {error}"])),
        )

    def _versions_loaded(self, entry: Entry, loaded: tuple[list[VersionRow], list[str]]) -> None:
        if entry != self.current:
            return
        rows, errors = loaded
        self.rows = rows
        if errors:
            self.message = f"{len(errors)} unreadable: {errors[0]}"
        self._show_versions()
        self._set_status()

    def _show_versions(self) -> None:
        table = self.query_one("#artifacts-versions", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        for col in ("version", "aliases", "type", "size", "files", "created", "producer", "used by"):
            table.add_column(col, key=col)
        for i, r in enumerate(self.rows):
            table.add_row(*version_cells(r), key=str(i))
        if self.rows:
            table.move_cursor(row=min(cursor or 0, len(self.rows) - 1))
            self._show_detail(table.cursor_row)
        elif self.current is not None:
            self.query_one("#artifacts-detail", Static).update(Text("no readable versions", style="dim"))

    @on(DataTable.RowHighlighted, "#artifacts-versions")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int | None) -> None:
        if self.current is None or index is None or not (0 <= index < len(self.rows)):
            return
        self.query_one("#artifacts-detail", Static).update(version_detail(self.current, self.rows[index]))

    # -- the selected run -------------------------------------------------------------------
    def selection_changed(self, runs, colors) -> None:
        previous = self.current_run.id if self.current_run is not None else None
        self.keep_showing(runs, previous)
        super().selection_changed(runs, colors)

    def _load_run_io(self) -> None:
        run = self.current_run
        box = self.query_one("#artifacts-run", Static)
        if run is None:
            self.drop_fetches("artifacts-run")
            self.run_io = None
            box.update(Text("select a run to see the artifacts it used and logged", style="dim"))
            return
        self.fetch(
            load_run_io,
            run.path,
            apply=self._run_io_loaded,
            group="artifacts-run",
            failed=lambda _error: self._run_io_loaded({"inputs": [], "outputs": [], "links": []}),
        )

    def _run_io_loaded(self, data: dict[str, list[dict]]) -> None:
        run = self.current_run
        if run is None:
            return
        self.run_io = data
        position = f"({self.run_index % len(self.runs) + 1}/{len(self.runs)}, [ ] switch)" if len(self.runs) > 1 else ""
        self.query_one("#artifacts-run", Static).update(run_io_text(run.name or run.id, data, position))

    # -- actions ----------------------------------------------------------------------------
    @on(Input.Changed, "#artifacts-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        before = self.current
        self._fill_list()
        if self.current != before:
            if self.current is None:
                self.rows = []
                self._show_versions()
                self.query_one("#artifacts-detail", Static).update(Text("no collection matches", style="dim"))
            else:
                self._load_versions()
        self._set_status()

    @on(Input.Submitted, "#artifacts-filter")
    def _filter_submitted(self) -> None:
        self.query_one("#artifacts-collections", OptionList).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#artifacts-filter", Input).focus()

    def action_open(self) -> None:
        self.query_one("#artifacts-versions", DataTable).focus()

    def action_run(self, delta: int) -> None:
        if self.step_run(delta):
            self._load_run_io()
