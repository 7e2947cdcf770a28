"""How the recorder spells what it writes, for writers and readers alike.

The file contract has two modules: `recorder.layout` says where every file is and what
it is called; this one says how lines and values inside them are encoded:

- journal rows (history, system, text, media index): one JSON object per line, NaN
  and +-inf kept apart under `_nf` because JSON has neither;
- console log lines: `2026-11-29T14:08:12.123Z O text` (UTC with milliseconds, O/E);
- ISO-8601 times in the JSON sidecars: UTC, microseconds, Z;
- user edits (`edits.json`): what a reader shows over run.json and summary.json, and
  the one locked read-modify-write that changes them (`edit_run`).

Only the standard library and orjson, so training code and the viewer import it cheaply.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from recorder import layout

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}


def encode_row(row: dict[str, Any]) -> bytes:
    """One journal line; a leading newline fences off any line torn by a failed write."""
    line = orjson.dumps(row)
    if b"null" in line:
        line = orjson.dumps(_with_nonfinite_marked(row))
    return b"\n" + line


def _with_nonfinite_marked(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN/inf (orjson writes null); keep them apart so a reader restores them.
    clean: dict[str, Any] = {}
    marked: dict[str, str] = {}
    for k, v in row.items():
        if type(v) is float and not math.isfinite(v):
            marked[k] = "nan" if v != v else _NONFINITE[v]
        else:
            clean[k] = v
    if marked:
        clean[layout.JOURNAL_NONFINITE_KEY] = marked
    return clean


def decode_journal(data: bytes) -> list[dict[str, Any]]:
    """Rows of a journal; torn or garbled lines (a crash mid-write) are skipped."""
    rows = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        marked = row.pop(layout.JOURNAL_NONFINITE_KEY, None)
        if isinstance(marked, dict):
            for k, v in marked.items():
                row[k] = float(v) if v in ("nan", "inf", "-inf") else None
        rows.append(row)
    return rows


# -- console log lines ----------------------------------------------------------

_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([OE]) (.*)$", re.DOTALL)


def format_log_time(t: float) -> str:
    ms = int((t % 1.0) * 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{min(ms, 999):03d}Z"


def parse_log_line(line: str) -> tuple[str | None, str, str]:
    """(ISO time or None, 'O' or 'E', text) of one output.log line.

    Lines not in the format (a log written by something else, a torn last line) come
    back whole as stdout text with no time, so a reader never has to reject a line.
    """
    if line.endswith("\n"):
        line = line[:-1]
    m = _LINE_RE.match(line)
    if m is None:
        return None, "O", line
    return m.group(1), m.group(2), m.group(3)


# -- times in the JSON sidecars -----------------------------------------------------

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime(FORMAT)


def parse_iso(value: Any) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (ours, or any with or without a zone,
    taken as UTC when it has none); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.timestamp()


# -- user edits (edits.json) ----------------------------------------------------------

MAX_TAG_LEN = 128


def read_edits(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's edits.json as a dict; {} when there is none or it cannot be read."""
    try:
        value = orjson.loads(Path(run_dir, layout.EDITS_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def apply_edits(
    run: dict[str, Any], summary: dict[str, Any], edits: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """run.json and summary.json as the user sees them: `edits` over copies of them (the
    same objects when there are no edits: callers never mutate them).

    A field of the wrong type in edits.json (a hand edit) is ignored, not an error. A
    summary key edited to null is removed."""
    if not edits:
        return run, summary
    run = dict(run)
    name = edits.get("name")
    if isinstance(name, str) and name:
        run["name"] = name
    tags = edits.get("tags")
    if isinstance(tags, list):
        run["tags"] = [t for t in tags if isinstance(t, str)]
    notes = edits.get("notes")
    if isinstance(notes, str):
        run["notes"] = notes
    changed = edits.get("summary")
    if not isinstance(changed, dict) or not changed:
        return run, summary
    out = dict(summary)
    for key, value in changed.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return run, out


def edit_run(
    run_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    tags: Iterable[str] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    notes: str | None = None,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Change what readers show for a run; returns the new edits.

    `tags` replaces the tag list; `add_tags` / `remove_tags` change the current one (as
    shown: recorded tags with earlier edits over them). `summary` sets keys (None
    removes one from what readers show). Arguments left at None change nothing.

    The recorder rewrites run.json from memory every few seconds, so edits never touch
    it: they go to edits.json, read-modified-written under a flock (two editors do not
    lose each other's change) and replaced atomically (a reader sees the old or the new
    file). Raises FileNotFoundError when `run_dir` is not a run, ValueError on a bad
    name or tag.
    """
    from recorder.atomic_json import locked, read_json, write_json

    run_dir = Path(run_dir)
    if not layout.is_run_dir(run_dir):
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {layout.RUN_FILE})")
    if name is not None:
        name = _check_text(name, "run name").strip()
        if not name:
            raise ValueError("a run name cannot be empty")
    new_tags = None if tags is None else [_check_tag(t) for t in tags]
    adding = [_check_tag(t) for t in add_tags]
    removing = {str(t).strip() for t in remove_tags}
    if notes is not None:
        notes = _check_text(notes, "notes")
    with locked(run_dir / layout.EDITS_LOCK):
        edits = read_edits(run_dir)
        if name is not None:
            edits["name"] = name
        if new_tags is not None or adding or removing:
            if new_tags is None:
                try:
                    recorded = read_json(run_dir / layout.RUN_FILE)
                except (OSError, ValueError):
                    recorded = {}
                shown, _ = apply_edits(recorded if isinstance(recorded, dict) else {}, {}, edits)
                new_tags = [t for t in shown.get("tags") or [] if isinstance(t, str)]
            merged = [t for t in dict.fromkeys([*new_tags, *adding]) if t not in removing]
            edits["tags"] = merged
        if notes is not None:
            edits["notes"] = notes
        if summary:
            kept = edits.get("summary") if isinstance(edits.get("summary"), dict) else {}
            edits["summary"] = {**kept, **{_check_text(k, "summary key"): v for k, v in summary.items()}}
        edits["edited_at"] = iso_now()
        write_json(run_dir / layout.EDITS_FILE, edits, fsync=True)
    return edits


def _check_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value


def _check_tag(tag: Any) -> str:
    tag = _check_text(tag, "a tag").strip()
    if not tag:
        raise ValueError("a tag cannot be empty")
    if "," in tag:
        raise ValueError(f"tag {tag!r} has a comma: tags are separated by commas")
    if len(tag) > MAX_TAG_LEN:
        raise ValueError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LEN} characters")
    return tag
