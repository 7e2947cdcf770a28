"""The artifacts pane's text: a version's detail, a run's inputs and outputs, table cells.

Everything from a record is untrusted (names, aliases, metadata, file paths), so it
goes through viewer.data.sanitize and is capped before it reaches a widget.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from viewer.data.artifact_rows import Entry, VersionRow
from viewer.data.byte_size import format_bytes
from viewer.data.sanitize import sanitize

MAX_FILES_SHOWN = 200
MAX_METADATA_LINES = 100
MAX_VALUE_CHARS = 200


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
    line(
        f"type {row.type or '?'}  ·  {format_bytes(row.size)}  ·  {row.file_count} files"
        + (f"  ·  created {row.created_at}" if row.created_at else "")
    )
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
        line(f"  {path}  {format_bytes(f.get('size'))}{extra}")
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


def version_cells(r: VersionRow) -> list[Text]:
    """One row of the versions table: version, aliases, type, size, files, created, producer, used by."""
    producer = ""
    if r.producer:
        producer = r.run_names.get(r.producer[0]) or r.producer[0]
    return [
        Text(f"v{r.version}"),
        Text(sanitize(", ".join(r.aliases)), style="cyan"),
        Text(sanitize(r.type or "")),
        Text(format_bytes(r.size), justify="right"),
        Text(str(r.file_count), justify="right"),
        Text(sanitize((r.created_at or "")[:19].replace("T", " "))),
        Text(sanitize(producer)),
        Text(str(len(r.consumers)), justify="right"),
    ]
