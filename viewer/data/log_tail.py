"""Read a run's console log (output.log) from the end, page backwards, and follow it.

A log can be gigabytes, or one line with no newline at all, so nothing here reads a
whole file: every read is a seek plus a capped `os.pread` (default 1 MiB), and memory
stays bounded by that cap whatever the file looks like.

    tail(path, max_lines=200, max_bytes=1 MiB) -> LogPage
        The last lines of the file.
    page_before(path, offset, max_lines=200, max_bytes=1 MiB) -> LogPage
        The lines that end before byte `offset` (use `page.start` of the page you have
        to scroll further back); `page.at_start` is True once the beginning is reached.
    LogFollower(path, start="end").poll() -> FollowUpdate
        New complete lines since the last poll. Notices truncation (size shrank) and
        rotation/replacement (inode changed, or the file vanished and came back) and then
        starts over at the beginning of the new file with `reset=True`. Growth larger
        than `max_bytes` between two polls skips ahead and reports `skipped_bytes`.

Each line is parsed as `<24-char UTC time> <O|E> <text>` (docs/format.md) into a
`LogLine`; lines in another format come back whole with `time=None`, stream "O".
`LogLine.text` is already sanitised (no escape sequences, see viewer.data.sanitize);
`LogLine.raw` keeps the bytes as decoded, for SGR colouring via
`viewer.data.sanitize.styled_segments`. Decoding is UTF-8 with replacement characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from recorder.journal import parse_log_line as _parse_log_line
from viewer.data.sanitize import sanitize

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FollowUpdate",
    "LogFollower",
    "LogLine",
    "LogPage",
    "page_before",
    "parse_line",
    "tail",
]

DEFAULT_MAX_BYTES = 1 << 20
# A line longer than this is cut for display (a terminal cannot show more anyway):
# its start is kept, or its end when the start was never read.
MAX_LINE_BYTES = 64 << 10


@dataclass(frozen=True)
class LogLine:
    """One console line. `offset` is the byte offset of its start in the file."""

    offset: int
    time: str | None
    stream: str
    text: str
    raw: str
    truncated: bool = False  # True when only the end of a longer line was read


@dataclass
class LogPage:
    lines: list[LogLine]
    start: int  # byte offset of the first returned line
    end: int  # byte offset just after the last returned line
    at_start: bool  # no earlier lines exist
    size: int  # file size when read


@dataclass
class FollowUpdate:
    lines: list[LogLine] = field(default_factory=list)
    reset: bool = False  # file truncated or replaced: the view should be cleared first
    skipped_bytes: int = 0  # growth larger than max_bytes between polls that was not read
    missing: bool = False  # the file does not exist (yet)


def parse_line(raw: bytes | str, offset: int = 0, truncated: bool = False) -> LogLine:
    """Parse one line (without its newline) into a LogLine.

    `truncated` says the start of the line was not read (no time/stream to parse). A
    line over MAX_LINE_BYTES keeps its first (or, when truncated, last) part and comes
    back with `truncated=True`.
    """
    cut = False
    if len(raw) > MAX_LINE_BYTES:
        raw = raw[-MAX_LINE_BYTES:] if truncated else raw[:MAX_LINE_BYTES]
        cut = True
    s = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if s.endswith("\r"):
        s = s[:-1]
    if truncated:
        t, stream, text = None, "O", s
    else:
        t, stream, text = _parse_log_line(s)
    return LogLine(offset, t, stream, sanitize(text), text, truncated or cut)


def _split(data: bytes, base: int, first_is_partial: bool) -> list[LogLine]:
    """Lines of `data` (which starts at file offset `base`); a trailing partial line is kept."""
    lines: list[LogLine] = []
    pos = 0
    n = len(data)
    first = True
    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        lines.append(parse_line(data[pos:end], base + pos, truncated=first and first_is_partial))
        first = False
        if nl < 0:
            break
        pos = nl + 1
    return lines


def _read_window(fd: int, end: int, max_bytes: int) -> tuple[int, bytes]:
    start = max(0, end - max_bytes)
    data = os.pread(fd, end - start, start)
    return start, data


def page_before(
    path: str | os.PathLike, offset: int | None = None, max_lines: int = 200, max_bytes: int = DEFAULT_MAX_BYTES
) -> LogPage:
    """Up to `max_lines` lines ending before byte `offset` (None: end of file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return LogPage([], 0, 0, True, 0)
    try:
        size = os.fstat(fd).st_size
        end = size if offset is None else max(0, min(offset, size))
        if end == 0:
            return LogPage([], 0, 0, True, size)
        start, data = _read_window(fd, end, max_bytes)
    finally:
        os.close(fd)
    # Drop the newline that ends the last line so it does not produce an empty line.
    body_end = len(data) - 1 if data.endswith(b"\n") else len(data)
    body = data[:body_end]
    partial_first = False
    if start > 0:
        nl = body.find(b"\n")
        if nl < 0:
            # One line longer than the window (e.g. a file with no newline at all):
            # show its last part, marked truncated, rather than nothing.
            line = parse_line(body, start, truncated=True)
            return LogPage([line], start, end, False, size)
        body_start = nl + 1
        start += body_start
        body = body[body_start:]
    lines = _split(body, start, partial_first)
    if len(lines) > max_lines:
        lines = lines[-max_lines:]
    first = lines[0].offset if lines else end
    return LogPage(lines, first, end, first == 0, size)


def tail(path: str | os.PathLike, max_lines: int = 200, max_bytes: int = DEFAULT_MAX_BYTES) -> LogPage:
    """The last `max_lines` lines of the file, reading at most `max_bytes` from its end."""
    return page_before(path, None, max_lines, max_bytes)


class LogFollower:
    """Poll a log for new lines; survives truncation, rotation and the file appearing late.

    `start="end"` begins after the current content (pair it with tail() for history);
    `start="beginning"` returns existing content first (capped by max_bytes per poll).
    """

    def __init__(self, path: str | os.PathLike, start: str = "end", max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if start not in ("end", "beginning"):
            raise ValueError("start must be 'end' or 'beginning'")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._ident: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self._partial_offset = 0
        st = self._stat()
        if st is not None:
            self._ident = (st.st_dev, st.st_ino)
            self._offset = st.st_size if start == "end" else 0
            self._partial_offset = self._offset

    @property
    def offset(self) -> int:
        return self._offset

    def _stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.path)
        except OSError:
            return None

    def poll(self) -> FollowUpdate:
        upd = FollowUpdate()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            if self._ident is not None:
                upd.reset = True
                self._ident = None
                self._offset = 0
                self._partial = b""
            upd.missing = True
            return upd
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            if self._ident is None:
                if self._offset or self._partial:
                    upd.reset = True
                self._ident = ident
                self._offset = 0
                self._partial = b""
                self._partial_offset = 0
            elif ident != self._ident or st.st_size < self._offset:
                upd.reset = True
                self._ident = ident
                self._offset = 0
                self._partial = b""
                self._partial_offset = 0
            size = st.st_size
            if size <= self._offset:
                return upd
            start = self._offset
            if size - start > self.max_bytes:
                upd.skipped_bytes = size - self.max_bytes - start + len(self._partial)
                start = size - self.max_bytes
                self._partial = b""
                skipped = True
            else:
                skipped = False
            data = os.pread(fd, size - start, start)
        finally:
            os.close(fd)
        self._offset = start + len(data)
        if skipped:
            nl = data.find(b"\n")
            if nl < 0:
                self._partial, self._partial_offset = data, start
                return upd
            start += nl + 1
            data = data[nl + 1 :]
            self._partial_offset = start
        buf = self._partial + data
        base = self._partial_offset
        last_nl = buf.rfind(b"\n")
        if last_nl < 0:
            self._partial = buf
            if len(buf) > self.max_bytes:  # never hold more than the cap
                upd.lines.append(parse_line(buf, base, truncated=False))
                self._partial = b""
                self._partial_offset = base + len(buf)
            return upd
        complete, self._partial = buf[:last_nl], buf[last_nl + 1 :]
        self._partial_offset = base + last_nl + 1
        upd.lines.extend(_split(complete, base, False))
        return upd
