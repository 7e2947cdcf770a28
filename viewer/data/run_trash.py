"""Deleting runs without losing them: each root's trash folder, restore, and emptying it.

    move_to_trash(info, force=False) -> TrashEntry     # raises RunIsRunning
    list_trash(roots) -> list[TrashEntry]              # oldest deletion first
    find_in_trash(ref, entries) -> TrashEntry          # id, unique prefix, name (run_lookup)
    restore(entry) -> Path                             # back where it was
    empty_trash(entries) -> int                        # bytes freed

A deleted run is renamed (same filesystem: instant, nothing copied) to
`<root>/.trash/<entry>/`, where `<entry>` is the deletion time and the directory name,
and `<root>/.trash/<entry>.trash.json` records where it was: `{"id", "project", "name",
"path" (relative to the root), "state", "deleted_at"}`. The record is written first, so
a crash in between leaves a record with no run (ignored) rather than a run nobody can
put back. The folder starts with a dot: discovery never scans it as runs.

Besides the contract (recorder.layout, recorder.journal) this imports recorder.atomic_json,
an exception docs/architecture.md lists: the record is written like every sidecar, temp
file + fsync + rename, with the recorder's helper rather than a second copy of it.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from recorder import layout

# The one recorder module besides the contract this imports (docs/architecture.md): the
# trash record is written like every sidecar, temp file + fsync + rename.
from recorder.atomic_json import fsync_dir, write_json
from recorder.journal import iso_now, parse_iso, read_json_object
from viewer.data.run_lookup import resolve_run
from viewer.data.run_state import decide_state
from viewer.data.runs_table import RunInfo

__all__ = ["RunIsRunning", "TrashEntry", "empty_trash", "find_in_trash", "list_trash", "move_to_trash", "restore"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class RunIsRunning(RuntimeError):
    """The run's process is alive: deleting it would pull its files from under it."""


@dataclass(frozen=True)
class TrashEntry:
    root: Path
    trash_path: Path  # where the run directory is now
    record: Path  # the .trash.json beside it
    id: str
    project: str
    name: str | None
    original: str  # its path relative to the root, as it was
    state: str | None
    deleted_at: float | None

    @property
    def path(self) -> Path:
        """Where the run was (and goes back to)."""
        return self.root / self.original

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.id}"


def move_to_trash(info: RunInfo, force: bool = False, now: float | None = None) -> TrashEntry:
    """Move one run into its root's trash. A running run (decided from run.json as it is
    now, not as it was listed) raises RunIsRunning unless `force`."""
    path = Path(info.path)
    try:
        rel = path.relative_to(info.root)
    except ValueError:
        rel = Path()
    if rel == Path():
        raise ValueError(f"run {info.ref} is the root {info.root} itself; it cannot be moved into its own trash")
    if not force:
        decision = decide_state(read_json_object(path / layout.RUN_FILE) or {})
        if decision.state == "running":
            raise RunIsRunning(f"run {info.ref} is running ({decision.reason})")
    trash = Path(info.root) / layout.TRASH_DIR
    trash.mkdir(exist_ok=True)
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    base = f"{stamp}-{_UNSAFE.sub('_', path.name).lstrip('.')[:100] or 'run'}"
    entry, n = base, 1
    while (trash / entry).exists() or (trash / (entry + layout.TRASH_RECORD_SUFFIX)).exists():
        n += 1
        entry = f"{base}-{n}"
    record = trash / (entry + layout.TRASH_RECORD_SUFFIX)
    data = {
        "id": info.id,
        "project": info.project,
        "name": info.name,
        "path": rel.as_posix(),
        "state": info.state,
        "deleted_at": iso_now(now),
    }
    write_json(record, data, fsync=True)
    try:
        os.rename(path, trash / entry)
    except OSError as exc:
        _unlink(record)
        raise OSError(f"cannot move run {info.ref} to {trash}: {exc.strerror or exc}") from exc
    fsync_dir(trash)
    fsync_dir(path.parent)
    return _entry(Path(info.root), trash / entry, record, data)


def list_trash(roots: Iterable[Path]) -> list[TrashEntry]:
    """Every run in the trash of `roots`, oldest deletion first."""
    out = []
    for root in roots:
        trash = Path(root) / layout.TRASH_DIR
        try:
            names = os.listdir(trash)
        except OSError:
            continue
        for name in names:
            if not name.endswith(layout.TRASH_RECORD_SUFFIX):
                continue
            moved = trash / name[: -len(layout.TRASH_RECORD_SUFFIX)]
            if not os.path.lexists(moved):
                continue  # a deletion cut short before the move: nothing to restore
            out.append(_entry(Path(root), moved, trash / name, read_json_object(trash / name) or {}))
    out.sort(key=lambda e: (e.deleted_at or 0.0, e.trash_path.name))
    return out


def find_in_trash(ref: str, entries: Sequence[TrashEntry]) -> TrashEntry:
    """The entry `ref` names, as run references resolve elsewhere (raises RunNotFound)."""
    counts = Counter(e.id for e in entries)
    # An id deleted twice is not a unique match: resolve_run then reports both.
    by_id = {e.id: e for e in entries if counts[e.id] == 1}
    return resolve_run(ref, entries, by_id)


def restore(entry: TrashEntry) -> Path:
    """Put a run back where it was; FileExistsError when something took its place."""
    dest = entry.path
    if os.path.lexists(dest):
        raise FileExistsError(f"cannot restore {entry.ref}: {dest} exists; move it away first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(entry.trash_path, dest)
    _unlink(entry.record)
    fsync_dir(dest.parent)
    return dest


def empty_trash(entries: Iterable[TrashEntry]) -> int:
    """Delete these trash entries for good; returns the bytes freed."""
    freed = 0
    for e in entries:
        freed += _size(e.trash_path)
        if os.path.islink(e.trash_path):
            os.unlink(e.trash_path)  # a symlinked run: remove the link, never what it points to
        else:
            shutil.rmtree(e.trash_path)
        _unlink(e.record)
    return freed


def _entry(root: Path, moved: Path, record: Path, data: dict[str, Any]) -> TrashEntry:
    run_id = _text(data.get("id")) or moved.name
    project = _text(data.get("project")) or ""
    original = _safe_relative(data.get("path")) or _safe_relative(f"{project}/{run_id}") or moved.name
    return TrashEntry(
        root=root,
        trash_path=moved,
        record=record,
        id=run_id,
        project=project,
        name=_text(data.get("name")),
        original=original,
        state=_text(data.get("state")),
        deleted_at=parse_iso(data.get("deleted_at")),
    )


def _safe_relative(value: Any) -> str | None:
    # The record is a file anyone could edit: never restore outside the root.
    if not isinstance(value, str) or not value:
        return None
    p = PurePosixPath(value)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or p.parts[:1] == (layout.TRASH_DIR,):
        return None
    return p.as_posix()


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _size(path: Path) -> int:
    if os.path.islink(path):
        return 0
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
