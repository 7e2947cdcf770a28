"""Many stats in one call that does not hold the GIL (pyarrow's C++ local filesystem).

A stat from Python lets go of the GIL and has to win it back. While another thread runs
Python (the dashboard drawing, measuring column widths), winning it back takes up to the
switch interval, 5 ms: here 10,000 run directories took 2.4 s to stat one by one beside
a busy thread, against 0.08 s in one batch (and 0.03 s either way on an idle process).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pyarrow.fs as pafs

__all__ = ["is_files", "mtimes_ns", "stats"]

_LOCAL = pafs.LocalFileSystem()


def _infos(paths: Sequence[str]) -> list[pafs.FileInfo] | None:
    try:
        return _LOCAL.get_file_info(list(paths))
    except (OSError, ValueError, TypeError):
        return None  # one unreadable path fails the batch: the caller goes one by one


def mtimes_ns(paths: Sequence[str]) -> list[int | None]:
    """st_mtime_ns of each path (symlinks followed); None where it is missing or unreadable."""
    if not paths:
        return []
    infos = _infos(paths)
    if infos is None:
        return [_mtime_ns(p) for p in paths]
    return [i.mtime_ns for i in infos]  # None for a missing path (no enum compare: 10,000 a walk)


def stats(paths: Sequence[str]) -> list[tuple[int, int] | None]:
    """(st_mtime_ns, st_size) of each file; None where it is missing or unreadable."""
    if not paths:
        return []
    infos = _infos(paths)
    if infos is None:
        return [_stat(p) for p in paths]
    return [None if i.type == pafs.FileType.NotFound else (i.mtime_ns, i.size) for i in infos]


def is_files(paths: Sequence[str]) -> list[bool]:
    """os.path.isfile of each path, in one batch."""
    if not paths:
        return []
    infos = _infos(paths)
    if infos is None:
        return [os.path.isfile(p) for p in paths]
    return [i.type == pafs.FileType.File for i in infos]


def _mtime_ns(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
