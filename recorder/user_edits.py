"""Changing a run after the fact: its name, tags, notes and summary values.

    edit_run(run_dir, name=None, tags=None, add_tags=(), remove_tags=(), notes=None, summary=None)

The recorder rewrites run.json from memory every few seconds while a run is live, so an
edit never touches it: edits go to the run's edits.json (`recorder.layout.EDITS_FILE`),
which readers lay over run.json and summary.json (`recorder.journal.apply_edits`). Each
edit is a read-modify-write under a flock on `.edits.lock` (two editors do not lose each
other's change), replaced atomically and fsynced (a reader sees the old or the new file;
a power cut does not lose an edit that returned).

The dashboard, `loupe tag/note/rename` and wandb's `run.update()` (recorder.api_run)
call this.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recorder import layout
from recorder.atomic_json import locked, write_json
from recorder.journal import apply_edits, iso_now, read_edits, read_json_object

__all__ = ["MAX_TAG_LEN", "edit_run"]

MAX_TAG_LEN = 128


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
    """Change what readers show for the run in `run_dir`; returns the new edits.

    `tags` replaces the tag list; `add_tags` / `remove_tags` change the current one (as
    shown: recorded tags with earlier edits over them). `summary` sets keys (None removes
    one from what readers show). Arguments left at None change nothing. Raises
    FileNotFoundError when `run_dir` is not a run, ValueError on a bad name or tag.
    """
    run_dir = Path(run_dir)
    if not layout.is_run_dir(run_dir):
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {layout.RUN_FILE})")
    if name is not None:
        name = _text(name, "a run name").strip()
        if not name:
            raise ValueError("a run name cannot be empty")
    new_tags = None if tags is None else [_tag(t) for t in tags]
    adding = [_tag(t) for t in add_tags]
    removing = {str(t).strip() for t in remove_tags}
    if notes is not None:
        notes = _text(notes, "notes")
    values = {_text(k, "a summary key"): v for k, v in (summary or {}).items()}
    with locked(run_dir / layout.EDITS_LOCK):
        edits = read_edits(run_dir)
        if name is not None:
            edits["name"] = name
        if new_tags is not None or adding or removing:
            if new_tags is None:
                shown, _ = apply_edits(read_json_object(run_dir / layout.RUN_FILE) or {}, {}, edits)
                new_tags = [t for t in shown.get("tags") or [] if isinstance(t, str)]
            edits["tags"] = [t for t in dict.fromkeys([*new_tags, *adding]) if t not in removing]
        if notes is not None:
            edits["notes"] = notes
        if values:
            kept = edits.get("summary")
            edits["summary"] = {**(kept if isinstance(kept, dict) else {}), **values}
        edits["edited_at"] = iso_now()
        write_json(run_dir / layout.EDITS_FILE, edits, fsync=True)
    return edits


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value


def _tag(tag: Any) -> str:
    tag = _text(tag, "a tag").strip()
    if not tag:
        raise ValueError("a tag cannot be empty")
    if "," in tag:
        raise ValueError(f"tag {tag!r} has a comma: tags are separated by commas")
    if len(tag) > MAX_TAG_LEN:
        raise ValueError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LEN} characters")
    return tag
