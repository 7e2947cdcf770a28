"""What the logs pane reads through the store: the tail, one page either side of its window,
and the lines around a step or a search hit. Each function does file I/O, so call it from a thread worker.

A window that reaches the end of the log comes with the LogFollower that continues it:
new lines are read from the follower's offset, so nothing here reads past it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.data.log_search import find_line
from viewer.data.log_seek import offset_at_time, page_after, step_time
from viewer.data.log_tail import LogFollower, LogLine, LogPage, page_before

if TYPE_CHECKING:
    from viewer.data.store import Store

PAGE_LINES = 500
TAIL_LINES = 1_000
CONTEXT_LINES = 100  # lines shown above a step or a search hit jumped to


@dataclass
class LogWindow:
    """Lines to show, and where they sit in the file."""

    lines: list[LogLine]
    at_start: bool
    at_end: bool
    end_offset: int
    follower: LogFollower | None  # set only when the lines reach the end
    cursor_offset: int | None = None
    note: str = ""


def read_tail(store: Store, run_id: str) -> LogWindow:
    """The last TAIL_LINES lines; a failure comes back as an empty window with a note."""
    try:
        path = store.log_path(run_id)
        follower = store.follow_log(run_id)  # first, so no line falls between the two reads
        page = page_before(path, follower.offset, max_lines=TAIL_LINES)
        note = "" if page.lines or page.size else "no console output recorded"
        return LogWindow(page.lines, page.at_start, True, follower.offset, follower, note=note)
    except Exception as exc:
        return LogWindow([], True, True, 0, None, note=f"cannot read log: {exc}")


def read_older(store: Store, run_id: str, offset: int) -> LogPage:
    """The PAGE_LINES lines before `offset`."""
    return page_before(store.log_path(run_id), offset, max_lines=PAGE_LINES)


def read_newer(store: Store, run_id: str, offset: int) -> LogWindow:
    """The PAGE_LINES lines after `offset`, with a follower if they reach the end."""
    follower = store.follow_log(run_id)
    page = _page_up_to(store.log_path(run_id), offset, follower)
    at_end = page.end >= follower.offset
    return LogWindow(page.lines, False, at_end, page.end, follower if at_end else None)


def find_step(store: Store, run_id: str, step: int, start: int, end: int) -> int | LogWindow:
    """Where `step` was logged: its byte offset when the window [start, end) holds it,
    else a new window around it with the cursor there."""
    ts = step_time(store, run_id, step)
    if ts is None:
        raise LookupError(f"run has no history to find step {step}")
    path = store.log_path(run_id)
    offset = offset_at_time(path, ts)
    if start <= offset < end:
        return offset
    return _window_at(store, run_id, path, offset, note=f"step {step}")


def find_text(
    store: Store, run_id: str, query: str, offset: int, forward: bool, stop: Callable[[], bool] = lambda: False
) -> LogWindow | None:
    """A window around the next (forward from `offset`) or previous (before `offset`)
    line containing `query`, with the cursor on it; None when the log has none."""
    path = store.log_path(run_id)
    found = find_line(path, query, offset, forward, stop)
    if found is None:
        return None
    return _window_at(store, run_id, path, found, note=f"found /{query}")


def _window_at(store: Store, run_id: str, path: Path, offset: int, note: str) -> LogWindow:
    """Lines around the line starting at `offset`, with the cursor on it."""
    follower = store.follow_log(run_id)
    before = page_before(path, offset, max_lines=CONTEXT_LINES)
    after = _page_up_to(path, offset, follower)
    at_end = after.end >= follower.offset
    return LogWindow(
        before.lines + after.lines,
        before.at_start,
        at_end,
        after.end if after.lines else offset,
        follower if at_end else None,
        cursor_offset=offset,
        note=note,
    )


def _page_up_to(path: Path, offset: int, follower: LogFollower) -> LogPage:
    # Lines past the follower's offset are the follower's to read: reading them here too
    # would show them twice once following starts.
    return page_after(path, offset, max_lines=PAGE_LINES, max_bytes=max(1, min(follower.offset - offset, 1 << 20)))
