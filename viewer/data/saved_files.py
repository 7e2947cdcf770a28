"""The files a run saved under its files/ directory, for the detail pane and `loupe show`."""

from __future__ import annotations

import os
from pathlib import Path

from recorder import layout

__all__ = ["list_saved_files"]


def list_saved_files(files_dir: Path, limit: int = 1000) -> list[tuple[str, int]]:
    """(path relative to files_dir, size), sorted, at most `limit`; skips the recorder's
    half-written temporaries and never follows a symlink to size it."""
    out: list[tuple[str, int]] = []
    for dirpath, dirnames, filenames in os.walk(files_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(layout.TMP_PREFIX))
        for name in sorted(filenames):
            if name.startswith(layout.TMP_PREFIX):
                continue
            p = Path(dirpath) / name
            try:
                size = p.lstat().st_size
            except OSError:
                continue
            out.append((str(p.relative_to(files_dir)), size))
            if len(out) >= limit:
                return out
    return out
