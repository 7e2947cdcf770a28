"""A directory's subdirectories, listed again only when the directory's mtime changes.

Adding, removing or renaming an entry changes its directory's mtime, so an unchanged
mtime means the same entries. The walk of a 10,000-run root then lists only the
projects that gained or lost a run: listing from Python gives up the GIL once per entry
and waits to win it back from a busy thread (the dashboard drawing), which made a
listing of 10,000 runs take 2-3 s beside it, against 0.01 s on an idle process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["DirListings", "Subdir"]

# A listing taken within this long of the directory's mtime is not trusted next time: on
# a filesystem with coarse timestamps (NFS, some of them 1 s) a run created in the same
# tick would leave the mtime as it was.
FRESH_NS = 2_000_000_000


class Subdir(NamedTuple):  # a tuple: 10,000 of them are made on a fresh walk
    name: str
    path: str
    is_symlink: bool  # a symlink to a directory; plain directories otherwise


class DirListings:
    """Subdirectories by directory, kept with the mtime they were listed at."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[int, list[Subdir]]] = {}

    def subdirs(self, directory: str, mtime_ns: int | None, on_error: Callable[[OSError], None]) -> list[Subdir]:
        """`directory`'s subdirectories (and symlinks to directories) by name; listed
        again unless `mtime_ns` is the mtime of a trusted earlier listing."""
        kept = self._kept.get(directory)
        if kept is not None and mtime_ns is not None and kept[0] == mtime_ns:
            return kept[1]
        listed_ns = time.time_ns()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self._kept.pop(directory, None)
            on_error(exc)
            return []
        out = []
        for e in entries:
            try:
                # is_dir() without following comes from readdir's d_type: no syscall.
                if e.is_dir(follow_symlinks=False):
                    out.append(Subdir(e.name, e.path, False))
                elif e.is_symlink() and e.is_dir(follow_symlinks=True):
                    out.append(Subdir(e.name, e.path, True))
            except OSError:
                continue  # removed meanwhile
        if mtime_ns is not None and listed_ns - mtime_ns >= FRESH_NS:
            self._kept[directory] = (mtime_ns, out)
        else:
            self._kept.pop(directory, None)
        return out
