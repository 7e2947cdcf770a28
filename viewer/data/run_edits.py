"""Editing a run from the dashboard: its name, tags and notes, through recorder.journal.

    save_edits(info, name=None, tags=None, notes=None)   # raises ValueError on a bad value
    parse_tags("a, b ,,c") -> ["a", "b", "c"]

The TUI imports no recorder module; this is its door to edit_run(), which writes the
run's edits.json under a lock (never run.json, which a live run keeps rewriting).
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder.journal import edit_run
from viewer.data.runs_table import RunInfo

__all__ = ["parse_tags", "save_edits"]


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
