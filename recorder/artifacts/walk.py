"""Walking a directory for add_dir / add_reference without escaping it.

`shutil.copytree` copied /etc/passwd through a symlink and recursed through a symlink
to a parent. Here a symlink is followed only when its target resolves inside the
directory being added; a symlinked folder that is one of its own ancestors (a loop) is
not entered; FIFOs, sockets and devices are never opened. Everything left out is
returned with the reason, so the caller can warn and keep a `skipped` list.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Found:
    rel: str  # path relative to the walked root, '/'-separated (not yet checked for safety)
    source: str  # path to open
    follow: bool  # False: open with O_NOFOLLOW (a plain file seen as such during the walk)
    size: int


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk(directory: str | os.PathLike) -> tuple[list[Found], list[dict[str, str]]]:
    """(files, skipped) under `directory`; skipped items are {"path", "reason"}."""
    top = os.path.realpath(os.fspath(directory))
    st = os.stat(top)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{directory} is not a directory")
    found: list[Found] = []
    skipped: list[dict[str, str]] = []

    def visit(real_dir: str, rel_dir: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            with os.scandir(real_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append({"path": rel_dir or ".", "reason": f"cannot list folder: {exc.strerror or exc}"})
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                lst = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append({"path": rel, "reason": f"cannot stat: {exc.strerror or exc}"})
                continue
            if stat.S_ISLNK(lst.st_mode):
                target = os.path.realpath(entry.path)
                if not _inside(target, top):
                    skipped.append({"path": rel, "reason": "symlink points outside the directory"})
                    continue
                try:
                    tst = os.stat(target)
                except OSError:
                    skipped.append({"path": rel, "reason": "broken symlink (or symlink loop)"})
                    continue
                if stat.S_ISDIR(tst.st_mode):
                    key = (tst.st_dev, tst.st_ino)
                    if key in ancestors:
                        skipped.append({"path": rel, "reason": "symlink loop (points to a parent folder)"})
                        continue
                    visit(target, rel, ancestors | {key})
                elif stat.S_ISREG(tst.st_mode):
                    found.append(Found(rel, target, False, tst.st_size))
                else:
                    skipped.append({"path": rel, "reason": f"symlink to a {_kind(tst.st_mode)}"})
                continue
            if stat.S_ISDIR(lst.st_mode):
                visit(entry.path, rel, ancestors | {(lst.st_dev, lst.st_ino)})
            elif stat.S_ISREG(lst.st_mode):
                found.append(Found(rel, entry.path, False, lst.st_size))
            else:
                skipped.append({"path": rel, "reason": f"{_kind(lst.st_mode)} skipped"})

    visit(top, "", frozenset({(st.st_dev, st.st_ino)}))
    return found, skipped
