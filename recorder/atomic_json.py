"""Files replaced whole, never edited in place: JSON sidecars, metadata files, media.

A reader, or a kill -9, sees either the old file or the new one: the new content is
written to a hidden temporary name in the same directory and renamed over the old.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from recorder.journal import read_json
from recorder.layout import TMP_PREFIX

__all__ = ["dumps", "fsync_dir", "locked", "read_json", "replaced_atomically", "write_bytes_atomic", "write_json"]

_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    # Anything orjson cannot encode natively (Path, set, torch scalars, objects) is kept
    # readable rather than failing the whole write.
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except Exception:
            pass
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTS)


def write_json(path: Path, value: Any, fsync: bool = False) -> None:
    """Atomically replace `path` with `value` as JSON (fsync when durability matters)."""
    write_bytes_atomic(path, dumps(value), fsync=fsync)


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A temporary name beside `path` to write the new file at; renamed over `path` when
    the block ends, removed when it raises. For writers that stream (pyarrow's) rather
    than hand over bytes."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{threading.get_ident():x}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes_atomic(path: Path, data: bytes, fsync: bool = False) -> None:
    """Replace `path` with `data` so a reader sees the old file or the whole new one."""
    with replaced_atomically(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock() on `lock_path` (created if needed) for a read-modify-write.

    The lock is on a file of its own because the data file is replaced by rename: a lock
    on it would stay with the old inode. Where flock() does not exist (not POSIX) this
    does not lock; the replace is still atomic."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
