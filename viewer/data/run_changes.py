"""Whether a run's files changed since the last look, cheaply enough to ask every few seconds.

The live refresh asks this for the selected runs only: a reconcile scan that finds
nothing new must not re-query and redraw every plot. A run's signature is the name,
size and mtime of each file directly in its directory, its stream directories and its
media index: appends to a journal or a log change a size, a published or compacted part
changes a name. About 40 stats per run; nothing is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from recorder import layout

_WATCHED_DIRS = ("", *layout.STREAM_DIRS, layout.MEDIA_INDEX)


def data_signature(run_dir: Path | str) -> tuple:
    """What changes whenever the run writes anything the dashboard shows."""
    base = os.fspath(run_dir)
    sig: list[tuple] = []
    for sub in _WATCHED_DIRS:
        try:
            with os.scandir(os.path.join(base, sub)) as it:
                for entry in it:
                    try:
                        if entry.is_file(follow_symlinks=False):
                            st = entry.stat(follow_symlinks=False)
                            sig.append((sub, entry.name, st.st_size, st.st_mtime_ns))
                    except OSError:
                        continue  # removed between listing and stat (compaction)
        except OSError:
            continue  # no such directory (yet)
    sig.sort()
    return tuple(sig)
