"""Editing runs from the dashboard and the CLI: name, tags and notes, through recorder.user_edits.

    save_edits(info, name=None, tags=None, notes=None)   # the edit form; ValueError on a bad value
    parse_tags("a, b ,,c") -> ["a", "b", "c"]
    edit_run(run_dir, ...)                               # recorder.user_edits.edit_run (loupe tag/...)

The one viewer module that imports the writer of edits.json (docs/architecture.md lists
it): editing is writing, and edit_run() is the one locked read-modify-write, never a copy.
The TUI imports no recorder module, so this is its door to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder.user_edits import edit_run
from viewer.data.runs_table import RunInfo

__all__ = ["edit_run", "parse_tags", "save_edits"]


def parse_tags(text: str) -> list[str]:
    """Tags typed as one comma-separated line, in order, blanks and repeats dropped."""
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def save_edits(
    info: RunInfo, name: str | None = None, tags: Sequence[str] | None = None, notes: str | None = None
) -> None:
    """Write only what differs from what the run shows now, so an unchanged field in the
    form does not pin the recorded value."""
    edit_run(
        info.path,
        name=name if name is not None and name != (info.name or "") else None,
        tags=list(tags) if tags is not None and tuple(tags) != tuple(info.tags) else None,
        notes=notes if notes is not None and notes != (info.notes or "") else None,
    )
