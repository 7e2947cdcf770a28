"""Find the next or previous console line containing a text, anywhere in a log of any size.

The logs pane holds a window of about a thousand lines; `n`/`N` past its edge search the
file itself, like `less`. The file is read in chunks of a few MiB (a 2 GB log takes
seconds, in a worker, and the search can be stopped between chunks). Candidate lines
are found in the raw bytes, then checked as the pane shows them (escape sequences
removed, case ignored), so a match inside a colour code or the timestamp does not
count and one across a colour change does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from viewer.data.log_tail import parse_line

CHUNK_BYTES = 4 << 20


def find_line(
    path: str | os.PathLike[str], query: str, offset: int, forward: bool, stop: Callable[[], bool] = lambda: False
) -> int | None:
    """Byte offset of the first line at or after `offset` (forward), or the last line
    starting before `offset` (backward), whose shown text contains `query`; None if none
    (or `stop()` became true). `offset` must be a line start."""
    needle = query.lower()
    if not needle:
        return None
    raw_needle = needle.encode("utf-8")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        offset = max(0, min(offset, size))
        if forward:
            return _forward(fd, size, offset, needle, raw_needle, stop)
        return _backward(fd, offset, needle, raw_needle, stop)
    finally:
        os.close(fd)


def _matches(line: bytes, needle: str) -> bool:
    return needle in parse_line(line).text.lower()


# Bytes that can hide a match from a plain byte search: escape sequences and other
# controls the pane strips (a match may span them), and non-ASCII text (which the
# byte search does not case-fold). Lines holding any are checked as the pane shows them.
_OPAQUE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f-\xff]")
_CONTROLS = bytes(range(0, 9)) + bytes(range(11, 32)) + b"\x7f"


def _plain(buf: bytes) -> bool:
    # Two C-speed passes instead of the regex (3x slower) for the common all-plain chunk.
    return buf.isascii() and len(buf.translate(None, _CONTROLS)) == len(buf)


def _candidates(buf: bytes, raw_needle: bytes) -> list[tuple[int, int]]:
    """(start, end) of the lines of `buf` (complete lines) that may show the needle, in order."""
    starts: set[int] = set()
    lowered = buf.lower()
    at = lowered.find(raw_needle)
    while at >= 0:
        start = buf.rfind(b"\n", 0, at) + 1
        starts.add(start)
        nl = buf.find(b"\n", at)
        if nl < 0:
            break
        at = lowered.find(raw_needle, nl + 1)
    if not _plain(buf):
        for m in _OPAQUE.finditer(buf):
            starts.add(buf.rfind(b"\n", 0, m.start()) + 1)
    out = []
    for start in sorted(starts):
        end = buf.find(b"\n", start)
        out.append((start, len(buf) if end < 0 else end))
    return out


def _first_in(buf: bytes, base: int, needle: str, raw_needle: bytes) -> int | None:
    """Offset of the first line of `buf` (complete lines, starting at file offset `base`) that matches."""
    for start, end in _candidates(buf, raw_needle):
        if _matches(buf[start:end], needle):
            return base + start
    return None


def _last_in(buf: bytes, base: int, needle: str, raw_needle: bytes) -> int | None:
    """Offset of the last line of `buf` (complete lines from file offset `base`) that matches."""
    for start, end in reversed(_candidates(buf, raw_needle)):
        if _matches(buf[start:end], needle):
            return base + start
    return None


def _forward(fd: int, size: int, offset: int, needle: str, raw_needle: bytes, stop: Callable[[], bool]) -> int | None:
    pos = offset
    while pos < size and not stop():
        data = os.pread(fd, CHUNK_BYTES, pos)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            # One line longer than a chunk: judged by its first chunk, once it is whole
            # (the last line may still be being written; the follower shows it).
            after = _after_line(fd, pos + len(data), size)
            if after is None:
                return None
            hit = _first_in(data, pos, needle, raw_needle)
            if hit is not None:
                return hit
            pos = after
            continue
        hit = _first_in(data[: last_nl + 1], pos, needle, raw_needle)
        if hit is not None:
            return hit
        pos += last_nl + 1
    return None


def _after_line(fd: int, pos: int, size: int) -> int | None:
    """The offset after the next newline at or after `pos`; None if there is none."""
    while pos < size:
        data = os.pread(fd, CHUNK_BYTES, pos)
        if not data:
            break
        nl = data.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(data)
    return None


def _backward(fd: int, offset: int, needle: str, raw_needle: bytes, stop: Callable[[], bool]) -> int | None:
    end = offset
    while end > 0 and not stop():
        start = max(0, end - CHUNK_BYTES)
        data = os.pread(fd, end - start, start)
        if start == 0:
            return _last_in(data, 0, needle, raw_needle)
        # Bytes before the chunk's first newline belong to a line that starts earlier:
        # it is searched with the next chunk back.
        cut = data.find(b"\n") + 1
        if 0 < cut < len(data):
            hit = _last_in(data[cut:], start + cut, needle, raw_needle)
            if hit is not None:
                return hit
            end = start + cut
        else:
            # The chunk is inside one line longer than a chunk: judge it by its start.
            line_start = _line_start(fd, start)
            head = os.pread(fd, min(CHUNK_BYTES, end - line_start), line_start)
            if _matches(head.split(b"\n", 1)[0], needle):
                return line_start
            end = line_start
    return None


def _line_start(fd: int, pos: int) -> int:
    """The offset of the start of the line that holds byte `pos - 1`."""
    while pos > 0:
        lo = max(0, pos - CHUNK_BYTES)
        nl = os.pread(fd, pos - lo, lo).rfind(b"\n")
        if nl >= 0:
            return lo + nl + 1
        pos = lo
    return 0
