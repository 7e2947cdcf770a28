"""Versions and aliases of one collection (an artifact name, or a registry collection).

    <collection dir>/
      v0.json, v1.json, ...   one immutable record per version (manifest or registry link)
      aliases.json            {"best": 3, "production": 1}: custom aliases -> version
      .lock                   flock()ed while a version is published or aliases move

A version is published by writing its record to a `.tmp-` file (fsync) and hard-linking
it to `v<N>.json`: os.link never replaces an existing name, so two processes that pick
the same N cannot overwrite each other; the loser takes N+1. The flock serialises the
"is the content equal to the latest version?" check and alias moves; the exclusive link
is what keeps versions whole even where locks do not work. `latest` is not stored: it
is always the highest version.

The names and readers of these files are the file contract's (recorder.layout,
recorder.journal), shared with the viewer; this module adds publishing and alias moves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from recorder.artifacts.artifact_names import check_alias, parse_version
from recorder.artifacts.object_store import _unlink, fsync_dir
from recorder.atomic_json import dumps, write_json
from recorder.journal import aliases_by_version, read_aliases
from recorder.journal import read_version_record as read_version
from recorder.layout import ARTIFACT_ALIASES_FILE as ALIASES_FILE
from recorder.layout import ARTIFACT_LATEST as LATEST
from recorder.layout import TMP_PREFIX, version_file
from recorder.layout import listed_versions as list_versions

__all__ = [
    "ALIASES_FILE",
    "LATEST",
    "aliases_by_version",
    "content_digest",
    "list_versions",
    "locked",
    "publish",
    "read_aliases",
    "read_version",
    "resolve",
    "set_aliases",
    "version_file",
]
LOCK_FILE = ".lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the exclusive link still protects versions
    fcntl = None  # type: ignore[assignment]


def resolve(cdir: Path, alias_or_version: str) -> int | None:
    """'latest', 'v3' or a custom alias -> version number, or None."""
    versions = list_versions(cdir)
    if not versions:
        return None
    if alias_or_version == LATEST:
        return max(versions)
    n = parse_version(alias_or_version)
    if n is not None:
        return n if n in versions else None
    v = read_aliases(cdir).get(alias_or_version)
    return v if v in versions else None


@contextlib.contextmanager
def locked(cdir: Path) -> Iterator[None]:
    Path(cdir).mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(Path(cdir) / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def content_digest(entries: list[dict[str, Any]]) -> str:
    """sha256 over the sorted (path, digest or ref, size) triples: equal files, equal digest."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e["path"]):
        key = e.get("digest") or ("ref:" + str(e.get("ref", "")))
        h.update(f"{e['path']}\0{key}\0{e.get('size')}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _move_aliases(cdir: Path, version: int, aliases: list[str]) -> None:
    aliases = [a for a in aliases if a != LATEST]
    if not aliases:
        return
    current = read_aliases(cdir)
    changed = False
    for a in aliases:
        if current.get(a) != version:
            current[a] = version
            changed = True
    if changed:
        write_json(Path(cdir) / ALIASES_FILE, dict(sorted(current.items())), fsync=True)


def set_aliases(cdir: Path, version: int, add: list[str] = (), remove: list[str] = ()) -> None:
    """Point `add` aliases at `version` (moving them from wherever they were); drop `remove` from it."""
    add = [check_alias(a) if a != LATEST else a for a in add]
    with locked(cdir):
        _move_aliases(cdir, version, add)
        if remove:
            current = read_aliases(cdir)
            kept = {a: v for a, v in current.items() if not (a in remove and v == version)}
            if kept != current:
                write_json(Path(cdir) / ALIASES_FILE, dict(sorted(kept.items())), fsync=True)


def publish(
    cdir: Path,
    record: dict[str, Any],
    aliases: list[str],
    existing: Callable[[list[int]], int | None],
) -> tuple[int, dict[str, Any], bool]:
    """Publish `record` as the next version, unless `existing(versions)` names one to reuse.

    Returns (version, record as stored, created). The record gets its "version" key here.
    """
    aliases = [check_alias(a) if a != LATEST else a for a in aliases]
    cdir = Path(cdir)
    with locked(cdir):
        versions = list_versions(cdir)
        same = existing(versions)
        if same is not None:
            _move_aliases(cdir, same, aliases)
            return same, read_version(cdir, same), False
        n = max(versions) + 1 if versions else 0
        while True:
            record = {**record, "version": n}
            tmp = cdir / f"{TMP_PREFIX}v{n}.{os.getpid()}.{os.urandom(4).hex()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                data = dumps(record)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, version_file(cdir, n))
            except FileExistsError:
                n += 1  # someone without the lock got there first: never overwrite
                continue
            finally:
                _unlink(tmp)
            break
        fsync_dir(cdir)
        _move_aliases(cdir, n, aliases)
        return n, record, True
