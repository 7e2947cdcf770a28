"""Find runs under one or more roots and read their cheap metadata (JSON sidecars only).

    find_runs(roots, warn, known=None) -> list[RunDir]
        Every directory holding run.json, found recursively, with its mtime. A run
        directory is not descended into; a directory in `known` (path -> mtime_ns, from
        the run catalog) whose mtime is unchanged is a run without looking for run.json
        (its entries are as they were); `_artifacts`, `_sweeps`, `_registry` and hidden directories are skipped; a
        symlinked directory is followed once (loops and repeats are detected by device
        and inode). A missing root raises FileNotFoundError.

    MetadataCache.read(run_dir) -> RunMeta
        run.json, config.json and summary.json of one run, with the user's edits.json
        over them (metrics.json via read_metrics(), on demand), re-read only when a
        file's (mtime, size) changed. Invalid JSON (BOM, trailing comma, invalid UTF-8,
        100k-deep nesting, not an object) costs one warning per file version and the run
        is still listed with whatever could be read.

Nothing here opens Parquet, journals or logs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from recorder import layout
from recorder.journal import apply_edits
from viewer.data.batch_stat import is_files, mtimes_ns, stats
from viewer.data.dir_listing import DirListings
from viewer.data.error_text import first_line

__all__ = ["MetadataCache", "RunDir", "RunMeta", "Warn", "find_runs", "json_object", "read_json_tolerant"]

Warn = Callable[[str, str], None]  # (key, message): the caller dedupes by key

MAX_DEPTH = 12
_SKIP_DIRS = {layout.ARTIFACTS_DIR, layout.SWEEPS_DIR, layout.REGISTRY_DIR}


class RunDir:
    """A run directory found under a root. Paths are kept as text and made into Path
    objects on use: a scan of 10,000 runs would spend most of its time in pathlib."""

    __slots__ = ("mtime_ns", "path_str", "real_str", "root")

    def __init__(self, path: str, root: Path, real: str, mtime_ns: int = 0) -> None:
        self.path_str = path  # as found under the root (symlinks not resolved)
        self.root = root
        self.real_str = real  # resolved (symlinks followed)
        self.mtime_ns = mtime_ns  # of the directory: a file replaced in it by rename changes this

    @property
    def path(self) -> Path:
        return Path(self.path_str)

    @property
    def real(self) -> Path:
        return Path(self.real_str)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and (self.path_str, self.root, self.real_str) == (
            other.path_str,
            other.root,
            other.real_str,
        )

    def __hash__(self) -> int:
        return hash(self.path_str)

    def __repr__(self) -> str:
        return f"RunDir({self.path_str!r}, root={str(self.root)!r})"


@dataclass
class RunMeta:
    run: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    run_json_mtime: float | None = None
    signature: tuple = ()  # (mtime_ns, size) of each sidecar: equal means unchanged


def _is_skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIP_DIRS


def find_runs(
    roots: Iterable[Path],
    warn: Warn | None = None,
    known: Mapping[str, int] | None = None,
    listings: DirListings | None = None,
) -> list[RunDir]:
    """Run directories under `roots`, in path order; duplicates reached twice are dropped.

    `listings`, kept from one call to the next, lists again only directories whose mtime
    changed (viewer.data.dir_listing)."""
    found: list[RunDir] = []
    seen: set[tuple[int, int]] = set()
    listings = DirListings() if listings is None else listings
    for root in roots:
        root = Path(root)
        try:
            st = os.stat(root)
        except OSError as exc:
            raise FileNotFoundError(f"run root {str(root)!r} does not exist") from exc
        if not os.path.isdir(root):
            raise NotADirectoryError(f"run root {str(root)!r} is not a directory")
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        real = os.path.realpath(root)
        if layout.is_run_dir(root):
            found.append(RunDir(str(root), root, real, st.st_mtime_ns))
            continue
        walk = _Walk(root, seen, found, warn, known or {}, listings)
        walk.directory(str(root), real, st.st_dev, st.st_mtime_ns, 0)
    return found


@dataclass
class _Walk:
    root: Path
    seen: set[tuple[int, int]]
    found: list[RunDir]
    warn: Warn | None
    known: Mapping[str, int]
    listings: DirListings

    def directory(self, directory: str, real_dir: str, dev: int, mtime_ns: int | None, depth: int) -> None:
        # About one syscall per run, none of them one by one from Python (10,000 runs are
        # walked on every refresh): entries from the listing kept while the directory's
        # mtime holds, the subdirectories' mtimes from one batch of stats
        # (viewer.data.batch_stat), and a run the catalog knows with that same mtime needs
        # no look for its run.json.
        if depth >= MAX_DEPTH:
            return
        subdirs = self.listings.subdirs(directory, mtime_ns, lambda exc: self._cannot_list(directory, exc))
        children: list[tuple[str, str, int, int | None]] = []  # path, real path, device, mtime
        plain: list[int] = []  # which of them are plain directories, their mtimes still to come
        for d in subdirs:
            if _is_skipped(d.name):
                continue
            if d.is_symlink:
                try:
                    st = os.stat(d.path)
                except OSError:
                    continue  # dangling now
                ident = (st.st_dev, st.st_ino)
                if ident in self.seen:
                    continue  # a symlink loop, or a directory reached twice
                self.seen.add(ident)
                children.append((d.path, os.path.realpath(d.path), st.st_dev, st.st_mtime_ns))
            else:
                # Plain directories cannot form a loop: no inode bookkeeping for them.
                plain.append(len(children))
                children.append((d.path, f"{real_dir}{os.sep}{d.name}", dev, None))
        for i, mtime in zip(plain, mtimes_ns([children[i][0] for i in plain]), strict=True):
            path, real, child_dev, _ = children[i]
            children[i] = (path, real, child_dev, mtime)
        # Gone between the listing and the stat: skipped.
        present = [(p, r, dv, m) for p, r, dv, m in children if m is not None]
        unknown = [p for p, _, _, m in present if self.known.get(p) != m]
        is_run = dict(zip(unknown, is_files([os.path.join(p, layout.RUN_FILE) for p in unknown]), strict=True))
        for path, real, child_dev, mtime in present:
            if is_run.get(path, True):
                self.found.append(RunDir(path, self.root, real, mtime))
            else:
                self.directory(path, real, child_dev, mtime, depth + 1)

    def _cannot_list(self, directory: str, exc: OSError) -> None:
        if self.warn is not None:
            self.warn(f"scan:{directory}", f"cannot list {directory}: {exc.strerror or exc}")


_TRAILING_COMMA = re.compile(rb",(\s*[}\]])")


def json_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}: a field of a damaged file may hold anything."""
    return value if isinstance(value, dict) else {}


def read_json_tolerant(path: str | Path, data: bytes, warn: Warn | None, key: str) -> dict[str, Any]:
    """Parse a JSON object; salvage what a lenient parse allows; warn once on any problem."""
    try:
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, RecursionError, ValueError) as exc:
        value = _salvage(data)
        if warn is not None:
            kept = "kept what could be read" if value else "ignored"
            warn(key, f"invalid JSON in {path}: {first_line(exc)}; {kept}")
        return value
    if not isinstance(value, dict):
        if warn is not None:
            warn(key, f"{path} holds a JSON {type(value).__name__}, not an object; ignored")
        return {}
    return value


def _salvage(data: bytes) -> dict[str, Any]:
    # The common damage: a UTF-8 BOM, invalid UTF-8 bytes, trailing commas (hand edits).
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = _TRAILING_COMMA.sub(rb"\1", data)
    text = data.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


class MetadataCache:
    """JSON sidecars per run directory, re-read only when (mtime, size) changes."""

    FILES = (layout.RUN_FILE, layout.CONFIG_FILE, layout.SUMMARY_FILE, layout.EDITS_FILE)

    def __init__(self, warn: Warn | None = None) -> None:
        self.warn = warn
        self._files: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def _read_file(self, path: str) -> tuple[dict[str, Any], float | None, tuple | None]:
        try:
            st = os.stat(path)
        except OSError:
            self._files.pop(path, None)
            return {}, None, None
        sig = (st.st_mtime_ns, st.st_size)
        cached = self._files.get(path)
        if cached is not None and cached[0] == sig:
            return cached[1], st.st_mtime, sig
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                data = os.read(fd, min(st.st_size + 1, 64 << 20))  # over 64 MiB is not metadata
            finally:
                os.close(fd)
        except OSError as exc:
            if self.warn is not None:
                self.warn(f"read:{path}:{sig}", f"cannot read {path}: {exc.strerror or exc}")
            return {}, st.st_mtime, None
        value = read_json_tolerant(path, data, self.warn, f"json:{path}:{sig}")
        self._files[path] = (sig, value)
        return value, st.st_mtime, sig

    def read(self, run_dir: Path | str) -> RunMeta:
        base = os.fspath(run_dir) + os.sep  # plain strings: pathlib costs more than the stat
        run, mtime, s1 = self._read_file(base + layout.RUN_FILE)
        config, _, s2 = self._read_file(base + layout.CONFIG_FILE)
        summary, _, s3 = self._read_file(base + layout.SUMMARY_FILE)
        # An edit (rename, tags, notes) changes only edits.json: its stat is part of the
        # signature so that every freshness check sees the edit.
        edits, _, s4 = self._read_file(base + layout.EDITS_FILE)
        run, summary = apply_edits(run, summary, edits)
        return RunMeta(run, config, summary, {}, [], mtime, (s1, s2, s3, s4))

    def signatures(self, run_dirs: Sequence[str]) -> list[tuple]:
        """The (mtime_ns, size) of each sidecar of each run as read() would record them,
        without reading; the stats in one batch (viewer.data.batch_stat)."""
        n = len(self.FILES)
        found = stats([base + os.sep + name for base in run_dirs for name in self.FILES])
        return [tuple(found[i : i + n]) for i in range(0, len(found), n)]

    def read_metrics(self, run_dir: Path | str) -> dict[str, Any]:
        """metrics.json (define_metric definitions, column names); read on demand only."""
        return self._read_file(os.path.join(os.fspath(run_dir), layout.METRICS_FILE))[0]

    def forget_missing(self, alive: set[str]) -> None:
        """Drop cached files of run directories not in `alive` (directory path strings)."""
        for p in [p for p in self._files if os.path.dirname(p) not in alive]:
            del self._files[p]
