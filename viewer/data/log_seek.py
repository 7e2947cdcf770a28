"""Random access into a console log by time, and reading forward from an offset.

Complements viewer.data.log_tail (which reads from the end and pages backwards) for the
dashboard's "jump to a step's time": find the step's `_timestamp` in the history, then
binary-search the log by the times at the start of its lines, then read forward.
Every read is a capped `os.pread`, so a multi-gigabyte log costs a few dozen small reads.

    log_time(line) -> float | None                   Unix time of a LogLine (None: no time)
    offset_at_time(path, t) -> int                   first line whose time is >= t (file size: none)
    page_after(path, offset, max_lines, max_bytes)   lines starting at `offset` (a line start)
    step_time(store, run_id, step) -> float | None   `_timestamp` of the first step >= `step`

No Textual import: this is the data layer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from recorder.journal import parse_iso
from viewer.data.log_tail import DEFAULT_MAX_BYTES, LogLine, LogPage, parse_line

if TYPE_CHECKING:
    from viewer.data.store import Store

__all__ = ["log_time", "offset_at_time", "page_after", "parse_log_time", "step_time"]

_PROBE = 64 << 10


# A console line's time ('2026-11-29T14:08:12.123Z') in Unix seconds; None when absent.
parse_log_time = parse_iso


def log_time(line: LogLine) -> float | None:
    return parse_log_time(line.time)


def _first_time_after(fd: int, pos: int, size: int) -> tuple[int, float | None]:
    """(offset of the first line starting at or after `pos` that has a time, its time).

    Looks at most _PROBE bytes ahead; returns (size, None) when no timed line starts there.
    """
    if pos > 0:
        data = os.pread(fd, min(_PROBE, size - pos + 1), pos - 1)
        nl = data.find(b"\n")
        if nl < 0:
            return size, None
        base, data = pos + nl, data[nl + 1 :]
    else:
        base, data = 0, os.pread(fd, min(_PROBE, size), 0)
    off = 0
    while off < len(data):
        nl = data.find(b"\n", off)
        if nl < 0:
            # The last, possibly partial line: parse what is there if it reaches EOF.
            if base + len(data) < size:
                break
            nl = len(data)
        t = parse_log_time(parse_line(data[off:nl]).time)
        if t is not None:
            return base + off, t
        off = nl + 1
    return size, None


def offset_at_time(path: str | os.PathLike[str], t: float) -> int:
    """Byte offset of the first line whose time is >= `t` (lines are in time order)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return 0
    try:
        size = os.fstat(fd).st_size
        # Smallest position p whose first timed line (at or after p) has time >= t.
        lo, hi = 0, size
        while lo < hi:
            mid = (lo + hi) // 2
            off, lt = _first_time_after(fd, mid, size)
            if lt is None or lt >= t:
                hi = mid
            else:
                lo = off + 1  # every position up to `off` leads to this too-early line
        off, lt = _first_time_after(fd, lo, size)
        return off if lt is not None else size
    finally:
        os.close(fd)


def page_after(
    path: str | os.PathLike[str], offset: int, max_lines: int = 200, max_bytes: int = DEFAULT_MAX_BYTES
) -> LogPage:
    """Up to `max_lines` complete lines starting at byte `offset` (which starts a line).

    `page.end` is just after the last returned line: pass it back to read further.
    A trailing line without its newline yet is left for later (a follower reads it).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return LogPage([], offset, offset, offset == 0, 0)
    try:
        size = os.fstat(fd).st_size
        offset = max(0, min(offset, size))
        data = os.pread(fd, min(max_bytes, size - offset), offset)
    finally:
        os.close(fd)
    lines: list[LogLine] = []
    pos = 0
    while pos < len(data) and len(lines) < max_lines:
        nl = data.find(b"\n", pos)
        if nl < 0:
            if not lines and len(data) >= max_bytes:
                # One line longer than the window: show its start rather than nothing.
                lines.append(parse_line(data[pos:], offset + pos))
                pos = len(data)
            break
        lines.append(parse_line(data[pos:nl], offset + pos))
        pos = nl + 1
    return LogPage(lines, offset, offset + pos, offset == 0, size)


def step_time(store: Store, run_id: str, step: int) -> float | None:
    """`_timestamp` of the first logged step >= `step` (the last one when `step` is beyond)."""
    import pyarrow.compute as pc

    table = store.history(run_id, metrics=[])
    if table.num_rows == 0 or "_timestamp" not in table.column_names:
        return None
    steps = table.column("_step")
    mask = pc.greater_equal(steps, step)
    hit = table.filter(mask)
    if hit.num_rows:
        i = pc.index(hit.column("_step"), pc.min(hit.column("_step")))
        return hit.column("_timestamp")[i.as_py()].as_py()
    return table.column("_timestamp")[table.num_rows - 1].as_py()
