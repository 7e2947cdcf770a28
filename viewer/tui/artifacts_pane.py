"""The artifacts pane: collections under the roots, their versions, and the selected run's lineage.

Left, every artifact collection (`project/name`, type, version count) and registry
collection (`registry reg/col`); `/` narrows the list. Right, the chosen collection's
versions in a table (version, aliases, type, size, files, created, producer, consumers),
the highlighted version's detail (description, digest, metadata, files, producer and
consumer runs; for a registry member, the version it links to), and at the bottom the
first selected run's inputs, outputs and registry links (`[`/`]` cycle the selection).

All reads go through recorder.artifacts.index in thread workers. Names, aliases,
metadata and file paths are untrusted: shown as plain text (viewer.sanitize).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from recorder.artifacts import index as artifact_index

from ..sanitize import sanitize
from .pane import Pane

MAX_FILES_SHOWN = 200
MAX_METADATA_LINES = 100
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class Entry:
    kind: str            # artifact | registry
    root: Path
    group: str           # project, or registry name
    name: str            # artifact name, or registry collection
    versions: int
    type: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "registry":
            return f"registry {self.group}/{self.name}"
        return f"{self.group}/{self.name}"


@dataclass
class VersionRow:
    version: int
    aliases: list[str]
    type: str | None
    size: int | None
    file_count: int
    created_at: str | None
    digest: str | None
    description: str | None = None
    metadata: Any = None
    files: list[dict] = field(default_factory=list)
    skipped: list[Any] = field(default_factory=list)
    producer: tuple[str, str | None] | None = None          # run id, run project
    consumers: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # run id, project, at
    source: str | None = None                                # registry member: project/name:vN
    linked_at: str | None = None
    run_names: dict[str, str] = field(default_factory=dict)


def human_size(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    if isinstance(value, str):
        s = value
    else:
        try:
            s = json.dumps(value, default=str, ensure_ascii=False)
        except Exception:
            s = str(value)
    s = sanitize(s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def metadata_lines(meta: Any, prefix: str = "", out: list[str] | None = None) -> list[str]:
    """Nested metadata as `a.b: value` lines (sanitised, capped)."""
    out = [] if out is None else out
    if isinstance(meta, dict):
        for k, v in meta.items():
            if len(out) >= MAX_METADATA_LINES:
                break
            key = f"{prefix}{_text(k, 80)}"
            if isinstance(v, dict) and v:
                metadata_lines(v, key + ".", out)
            else:
                out.append(f"{key}: {_text(v)}")
    elif meta not in (None, {}):
        out.append(_text(meta))
    return out


def _run_label(run_id: str, project: str | None, names: dict[str, str]) -> str:
    name = names.get(run_id)
    where = f"{project}/" if project else ""
    return f"{name} ({where}{run_id})" if name and name != run_id else f"{where}{run_id}"


def version_detail(entry: Entry, row: VersionRow) -> Text:
    """The highlighted version, as plain text with a few bold headings."""
    text = Text()

    def head(title: str) -> None:
        if text:
            text.append("\n\n")
        text.append(title, style="bold")

    def line(s: str, style: str = "") -> None:
        text.append("\n" + sanitize(s), style=style)

    text.append(sanitize(f"{entry.label}:v{row.version}"), style="bold")
    if row.aliases:
        text.append("  " + sanitize(", ".join(row.aliases)), style="cyan")
    line(f"type {row.type or '?'}  ·  {human_size(row.size)}  ·  {row.file_count} files"
         + (f"  ·  created {row.created_at}" if row.created_at else ""))
    if row.digest:
        line(f"digest {row.digest}", "dim")
    if row.source:
        line(f"links to {row.source}" + (f" (linked {row.linked_at})" if row.linked_at else ""))
    if row.description:
        head("Description")
        text.append("\n" + sanitize(row.description, keep_newlines=True))
    meta = metadata_lines(row.metadata)
    if meta:
        head("Metadata")
        for m in meta:
            line("  " + m)
        if len(meta) >= MAX_METADATA_LINES:
            line("  … (more not shown)", "dim")
    head(f"Files ({row.file_count})")
    for f in row.files[:MAX_FILES_SHOWN]:
        ref = f.get("ref")
        path = _text(f.get("path"), 300)
        extra = f"  → {_text(ref, 300)}" if ref else ""
        line(f"  {path}  {human_size(f.get('size'))}{extra}")
    if len(row.files) > MAX_FILES_SHOWN:
        line(f"  … {len(row.files) - MAX_FILES_SHOWN} more", "dim")
    if not row.files:
        line("  (none)", "dim")
    if row.skipped:
        line(f"  {len(row.skipped)} skipped when added: " + _text(row.skipped, 300), "yellow")
    head("Produced by")
    if row.producer:
        line("  " + _run_label(row.producer[0], row.producer[1], row.run_names))
    else:
        line("  (no run: logged through the API)" if entry.kind == "artifact" else "  (see the linked version)", "dim")
    head(f"Used by ({len(row.consumers)})")
    for run_id, project, at in row.consumers:
        line("  " + _run_label(run_id, project, row.run_names) + (f"  at {at}" if at else ""))
    if not row.consumers:
        line("  (no run used it)", "dim")
    return text


def run_io_text(name: str, data: dict[str, list[dict]], position: str = "") -> Text:
    """A run's inputs, outputs and registry links as plain text."""
    text = Text()
    text.append(sanitize(f"Run {name}"), style="bold")
    if position:
        text.append(f"  {position}", style="dim")

    def ref(item: dict) -> str:
        s = f"{item.get('project') or '?'}/{item.get('name') or '?'}:v{item.get('version', '?')}"
        if item.get("type"):
            s += f" ({item['type']})"
        if item.get("target"):
            s += f" → {item['target']}"
        return sanitize(s)

    for key, title in (("inputs", "inputs"), ("outputs", "outputs"), ("links", "linked")):
        items = data.get(key) or []
        text.append(f"\n{title}: ", style="bold")
        if items:
            text.append(",  ".join(ref(i) for i in items[:50] if isinstance(i, dict)))
            if len(items) > 50:
                text.append(f"  … {len(items) - 50} more", style="dim")
        else:
            text.append("none", style="dim")
    return text


# -- data loading (pure; called from workers) -----------------------------------------------
def load_entries(roots: list[Path]) -> tuple[list[Entry], list[str]]:
    entries: list[Entry] = []
    errors: list[str] = []
    seen_registries: set[Path] = set()
    for root, project in artifact_index.locate(roots):
        try:
            for r in artifact_index.collection_rows(root, project):
                entries.append(Entry("artifact", root, r["project"], r["name"], r["versions"], r["type"]))
            if root not in seen_registries:
                seen_registries.add(root)
                for r in artifact_index.registry_rows(root):
                    entries.append(Entry("registry", root, r["registry"], r["collection"], r["versions"]))
        except Exception as exc:
            errors.append(f"{root}: {exc}")
    return entries, errors


def load_versions(entry: Entry, run_name=None) -> tuple[list[VersionRow], list[str]]:
    """The entry's versions, newest first, with producers and consumers (and run names)."""
    errors: list[str] = []
    rows: list[VersionRow] = []
    if entry.kind == "artifact":
        records = artifact_index.versions(entry.root, entry.group, entry.name, errors)
        usage = artifact_index.usage_rows(entry.root, errors, records=records)
        for rec in records:
            rows.append(_row_from_record(rec, rec["version"], rec.get("aliases") or []))
        by_version = {r.version: r for r in rows}
        for u in usage:
            if u["project"] != entry.group or u["name"] != entry.name:
                continue
            row = by_version.get(u["version"])
            if row is None:
                continue
            if u["role"] == "output":
                row.producer = row.producer or (u["run_id"], u.get("run_project"))
            elif u["role"] == "input":
                row.consumers.append((u["run_id"], u.get("run_project"), u.get("at")))
    else:
        cache: dict[tuple[str, str], dict[int, dict]] = {}
        for link in artifact_index.link_rows(entry.root, errors):
            if link["registry"] != entry.group or link["collection"] != entry.name:
                continue
            sp, sn, sv = link.get("source_project"), link.get("source_name"), link.get("source_version")
            source = None
            if isinstance(sp, str) and isinstance(sn, str):
                if (sp, sn) not in cache:
                    try:
                        cache[(sp, sn)] = {r["version"]: r for r in artifact_index.versions(entry.root, sp, sn, errors)}
                    except Exception as exc:  # a hostile source name in a damaged link record
                        errors.append(f"{sp}/{sn}: {exc}")
                        cache[(sp, sn)] = {}
                source = cache[(sp, sn)].get(sv)
            row = _row_from_record(source or {"type": link.get("type")}, link["version"], link.get("aliases") or [])
            row.source = f"{sp}/{sn}:v{sv}"
            row.linked_at = link.get("linked_at")
            if link.get("run_id"):
                row.producer = (link["run_id"], None)
            rows.append(row)
    if run_name is not None:
        ids = {r.producer[0] for r in rows if r.producer} | {c[0] for r in rows for c in r.consumers}
        names = {i: n for i in ids if (n := run_name(i))}
        for r in rows:
            r.run_names = names
    rows.sort(key=lambda r: -r.version)
    return rows, errors


def _row_from_record(rec: dict, version: int, aliases: list[str]) -> VersionRow:
    entries = [e for e in rec.get("entries") or [] if isinstance(e, dict)]
    producer = rec.get("producer") if isinstance(rec.get("producer"), dict) else {}
    return VersionRow(
        version=version, aliases=[str(a) for a in aliases], type=rec.get("type"), size=rec.get("size"),
        file_count=int(rec.get("file_count") or len(entries)), created_at=rec.get("created_at"),
        digest=rec.get("digest"), description=rec.get("description"), metadata=rec.get("metadata"),
        files=entries, skipped=list(rec.get("skipped") or []),
        producer=(producer["run_id"], producer.get("project")) if producer.get("run_id") else None,
    )


# -- the pane -------------------------------------------------------------------------------
class ArtifactsPane(Pane):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("enter", "open", "Versions", show=False),
        Binding("left_square_bracket", "run(-1)", "Prev run", show=False),
        Binding("right_square_bracket", "run(1)", "Next run", show=False),
    ]
    DEFAULT_CSS = """
    ArtifactsPane { height: 1fr; }
    ArtifactsPane #artifacts-status { height: 1; color: $text-muted; padding: 0 1; }
    ArtifactsPane #artifacts-left { width: 40; height: 1fr; }
    ArtifactsPane #artifacts-filter { height: 3; }
    ArtifactsPane #artifacts-collections { height: 1fr; border: round $panel; }
    ArtifactsPane #artifacts-collections:focus { border: round $accent; }
    ArtifactsPane #artifacts-right { width: 1fr; height: 1fr; }
    ArtifactsPane #artifacts-versions { height: 12; }
    ArtifactsPane #artifacts-detail-scroll { height: 1fr; border: round $panel; }
    ArtifactsPane #artifacts-detail { padding: 0 1; }
    ArtifactsPane #artifacts-run { height: auto; max-height: 8; border: round $panel; padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entries: list[Entry] = []
        self.shown: list[Entry] = []
        self.current: Entry | None = None
        self.rows: list[VersionRow] = []
        self.filter_text = ""
        self.message = ""
        self.run_io: dict[str, list[dict]] | None = None
        self._entries_gen = 0
        self._versions_gen = 0
        self._run_gen = 0
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
        self._entries_gen += 1
        self._fetch_entries(self._entries_gen, self.roots)
        self._load_run_io()

    @work(thread=True, exclusive=True, group="artifacts-entries", exit_on_error=False)
    def _fetch_entries(self, gen: int, roots: list[Path]) -> None:
        try:
            entries, errors = load_entries(roots)
        except Exception as exc:
            entries, errors = [], [f"cannot list artifacts: {exc}"]
        self.app.call_from_thread(self._entries_loaded, gen, entries, errors)

    def _entries_loaded(self, gen: int, entries: list[Entry], errors: list[str]) -> None:
        if gen != self._entries_gen:
            return
        self.entries = entries
        self.message = errors[0] if errors else ""
        self._fill_list()
        if self.current is None:
            self.rows = []
            self._show_versions()
            detail = ("no artifacts under the roots yet (run.log_artifact writes them)" if not entries
                      else "no collection matches the filter")
            self.query_one("#artifacts-detail", Static).update(Text(detail, style="dim"))
        else:
            self._load_versions()
        self._set_status()

    def _fill_list(self) -> None:
        q = self.filter_text.strip().lower()
        self.shown = [e for e in self.entries if not q or q in e.label.lower() or q in (e.type or "").lower()]
        if self.current not in self.shown:
            same = [e for e in self.shown if self.current and (e.kind, e.root, e.group, e.name) ==
                    (self.current.kind, self.current.root, self.current.group, self.current.name)]
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
        self._versions_gen += 1
        self._fetch_versions(self._versions_gen, self.current)

    @work(thread=True, exclusive=True, group="artifacts-versions", exit_on_error=False)
    def _fetch_versions(self, gen: int, entry: Entry) -> None:
        store = self.store

        def run_name(run_id: str) -> str | None:
            info = store.get(run_id) if store is not None else None
            return info.name if info is not None else None

        try:
            rows, errors = load_versions(entry, run_name)
        except Exception as exc:
            rows, errors = [], [f"cannot read {entry.label}: {exc}"]
        self.app.call_from_thread(self._versions_loaded, gen, entry, rows, errors)

    def _versions_loaded(self, gen: int, entry: Entry, rows: list[VersionRow], errors: list[str]) -> None:
        if gen != self._versions_gen or entry != self.current:
            return
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
            producer = ""
            if r.producer:
                producer = r.run_names.get(r.producer[0]) or r.producer[0]
            table.add_row(
                Text(f"v{r.version}"), Text(sanitize(", ".join(r.aliases)), style="cyan"), Text(sanitize(r.type or "")),
                Text(human_size(r.size), justify="right"), Text(str(r.file_count), justify="right"),
                Text(sanitize((r.created_at or "")[:19].replace("T", " "))), Text(sanitize(producer)),
                Text(str(len(r.consumers)), justify="right"), key=str(i))
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
        self._run_gen += 1
        box = self.query_one("#artifacts-run", Static)
        if run is None:
            self.run_io = None
            box.update(Text("select a run to see the artifacts it used and logged", style="dim"))
            return
        self._fetch_run_io(self._run_gen, run.path)

    @work(thread=True, exclusive=True, group="artifacts-run", exit_on_error=False)
    def _fetch_run_io(self, gen: int, run_dir: Path) -> None:
        try:
            data = artifact_index.run_artifacts(run_dir)
        except Exception:
            data = {"inputs": [], "outputs": [], "links": []}
        self.app.call_from_thread(self._run_io_loaded, gen, data)

    def _run_io_loaded(self, gen: int, data: dict[str, list[dict]]) -> None:
        run = self.current_run
        if gen != self._run_gen or run is None:
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
