"""Which files hold a run's history/system/text rows, checked, plus its journal rows as Arrow.

    StreamCache.run_files(run_dir) -> RunStreamFiles
        Parts (footer-checked) and journals of the three streams of one run, chosen by
        recorder.layout.live_stream_files (each row exactly once). The directory listing
        is cached by the stream directories' mtimes, part checks by (mtime, size, inode),
        journal contents by (mtime, size), so a refresh over 1,000 unchanged runs is
        three stats per run.
    StreamCache.journal_table(stream, run_id, paths) -> pyarrow.Table | None
        Journal rows decoded with recorder.journal.decode_journal (torn lines are
        skipped), metrics as float64, `_step` as int64; for "text", the `_text` values as
        rows of (run_id, _step, _timestamp, key, value).

A zero-byte, truncated or garbage Parquet file is left out with one warning (per file
version); a file that vanishes between listing and checking (compaction) is left out
silently.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from recorder import layout
from recorder.journal import decode_journal
from viewer.data.discovery import Warn
from viewer.data.error_text import first_line

__all__ = ["PartInfo", "RunStreamFiles", "StreamCache", "files_from_json", "files_to_json"]

_MAGIC = b"PAR1"
_MAX_JOURNAL_BYTES = 512 << 20
# A directory modified this recently may change again within the mtime's resolution.
_FRESH_S = 2.0


class PartInfo:
    """A checked Parquet part. The path is kept as text and made a Path on use: the
    catalog hands out 20,000 of these on a large root's open."""

    __slots__ = ("columns", "num_rows", "path_str")

    def __init__(self, path: str | Path, columns: tuple[str, ...], num_rows: int) -> None:
        self.path_str = os.fspath(path)
        self.columns = columns
        self.num_rows = num_rows

    @property
    def path(self) -> Path:
        return Path(self.path_str)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartInfo) and (self.path_str, self.columns, self.num_rows) == (
            other.path_str,
            other.columns,
            other.num_rows,
        )

    def __hash__(self) -> int:
        return hash(self.path_str)


@dataclass
class RunStreamFiles:
    """One run's stream files a reader should read: footer-checked Parquet parts and journal
    segments, per stream ("history", "system", "text")."""

    parts: dict[str, list[PartInfo]] = field(default_factory=dict)
    journals: dict[str, list[Path]] = field(default_factory=dict)
    has_log: bool | None = None  # output.log exists (None: not looked)
    has_media: bool | None = None  # a media/ directory exists (None: not looked)

    def columns(self, stream: str) -> set[str]:
        out: set[str] = set()
        for p in self.parts.get(stream, ()):
            out.update(p.columns)
        return out


def files_to_json(rf: RunStreamFiles) -> str:
    """What the run catalog keeps of a listing: names relative to the run directory."""
    value = {
        s: {
            "parts": [[os.path.basename(p.path_str), p.num_rows, list(p.columns)] for p in rf.parts.get(s, ())],
            "journals": [[j.parent.name, j.name] for j in rf.journals.get(s, ())],
        }
        for s in layout.STREAM_DIRS
    }
    return orjson.dumps({"streams": value, "log": rf.has_log, "media": rf.has_media}).decode()


def files_from_json(text: str, run_dir: str) -> RunStreamFiles:
    """The listing files_to_json() kept, under `run_dir` (no file is touched)."""
    value = orjson.loads(text)
    out = RunStreamFiles(has_log=value.get("log"), has_media=value.get("media"))
    sep = os.sep
    for s in layout.STREAM_DIRS:
        entry = value["streams"][s]
        out.parts[s] = [PartInfo(f"{run_dir}{sep}{s}{sep}{n}", tuple(cols), rows) for n, rows, cols in entry["parts"]]
        out.journals[s] = [Path(run_dir, d, name) for d, name in entry["journals"]]
    return out


class StreamCache:
    def __init__(self, warn: Warn | None = None) -> None:
        self.warn = warn
        self._listings: dict[Path, tuple[tuple, Any]] = {}
        self._parts: dict[Path, tuple[tuple[int, int, int], PartInfo | None]] = {}
        self._journals: dict[Path, tuple[tuple[int, int], list[dict[str, Any]]]] = {}

    # -- listing --------------------------------------------------------------------------
    def _listing(self, run_dir: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
        dirs = {s: run_dir / s for s in layout.STREAM_DIRS}
        sig: list[int | None] = []
        now = time.time()
        fresh = False
        for s in layout.STREAM_DIRS:
            try:
                st = os.stat(dirs[s])
                sig.append(st.st_mtime_ns)
                fresh = fresh or now - st.st_mtime < _FRESH_S
            except OSError:
                sig.append(None)
        key = tuple(sig)
        cached = self._listings.get(run_dir)
        if cached is not None and cached[0] == key and not fresh:
            return cached[1]
        parts: dict[str, list[Path]] = {}
        journals: dict[str, list[Path]] = {}
        for s in layout.STREAM_DIRS:
            if s == layout.TEXT_DIR:
                sf = layout.live_stream_files(dirs[s], journal_dir=dirs[layout.HISTORY_DIR])
            else:
                sf = layout.live_stream_files(dirs[s])
            parts[s] = sf.parts
            journals[s] = sf.journals
        self._listings[run_dir] = (key, (parts, journals))
        return parts, journals

    def invalidate(self, run_dir: Path | None = None) -> None:
        if run_dir is None:
            self._listings.clear()
        else:
            self._listings.pop(run_dir, None)

    def run_files(self, run_dir: Path) -> RunStreamFiles:
        parts, journals = self._listing(run_dir)
        out = RunStreamFiles()
        for s in layout.STREAM_DIRS:
            checked = [info for info in (self.check_part(p) for p in parts[s]) if info is not None]
            out.parts[s] = checked
            out.journals[s] = journals[s]
        out.has_log = os.path.isfile(run_dir / layout.OUTPUT_LOG)
        out.has_media = os.path.isdir(run_dir / layout.MEDIA_DIR)
        return out

    # -- parts ----------------------------------------------------------------------------
    def check_part(self, path: Path) -> PartInfo | None:
        """PartInfo when `path` is a readable Parquet file, else None (warned once if bad)."""
        try:
            st = os.stat(path)
        except OSError:
            self._parts.pop(path, None)
            return None  # vanished (compaction): not a problem
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._parts.get(path)
        if cached is not None and cached[0] == sig:
            return cached[1]
        info: PartInfo | None
        problem = None
        if st.st_size < 12:
            problem = "empty file" if st.st_size == 0 else f"only {st.st_size} bytes"
            info = None
        else:
            try:
                # One open for the magic at both ends and the footer, which pyarrow then
                # parses from memory: pq.read_metadata(path) opened the file a second time
                # (with its filesystem lookup), ~40% of a first listing's 1 ms a part.
                footer = None
                with open(path, "rb") as f:
                    head = f.read(4)
                    f.seek(-8, os.SEEK_END)
                    tail = f.read(8)
                    size = int.from_bytes(tail[:4], "little")
                    if head == _MAGIC and tail[4:] == _MAGIC and 0 < size <= st.st_size - 12:
                        f.seek(-8 - size, os.SEEK_END)
                        footer = f.read(size)
                if footer is None or len(footer) != size:
                    problem = "not a complete Parquet file (truncated or garbage)"
                    info = None
                else:
                    md = pq.read_metadata(pa.BufferReader(_MAGIC + footer + tail))
                    info = PartInfo(path, tuple(md.schema.names), md.num_rows)
            except FileNotFoundError:
                self._parts.pop(path, None)
                return None
            except Exception as exc:  # pyarrow's errors for a corrupt footer vary
                problem = f"unreadable Parquet footer ({first_line(exc, 160)})"
                info = None
        if problem is not None and self.warn is not None:
            self.warn(f"parquet:{path}:{sig}", f"skipping {path}: {problem}")
        self._parts[path] = (sig, info)
        return info

    def quarantine_unreadable(self, paths: list[Path]) -> list[Path]:
        """Read each part whole; parts that fail (a corrupt page behind a good footer) are
        left out from now on, with one warning each. Costly: only after a query failed."""
        bad = []
        for path in paths:
            try:
                st = os.stat(path)
                pq.read_table(path)
            except FileNotFoundError:
                continue
            except Exception as exc:
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
                self._parts[path] = (sig, None)
                detail = first_line(exc, 160)
                if self.warn is not None:
                    self.warn(f"parquet:{path}:{sig}", f"skipping {path}: unreadable data ({detail})")
                bad.append(path)
        return bad

    # -- journals -------------------------------------------------------------------------
    def journal_rows(self, path: Path) -> list[dict[str, Any]]:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                sig = (st.st_mtime_ns, st.st_size)
                cached = self._journals.get(path)
                if cached is not None and cached[0] == sig:
                    return cached[1]
                data = f.read(_MAX_JOURNAL_BYTES)
        except OSError:
            self._journals.pop(path, None)
            return []  # published and removed meanwhile: its part has the rows
        rows = decode_journal(data)
        self._journals[path] = (sig, rows)
        return rows

    def journal_table(self, stream: str, run_id: str, paths: list[Path]) -> pa.Table | None:
        rows: list[dict[str, Any]] = []
        for p in paths:
            rows.extend(self.journal_rows(p))
        if not rows:
            return None
        if stream == layout.TEXT_DIR:
            return _text_table(run_id, rows)
        return _numeric_table(stream, run_id, rows)

    def forget(self, alive: set[str]) -> None:
        """Drop caches of run directories not in `alive` (directory path strings)."""
        for d in [d for d in self._listings if str(d) not in alive]:
            del self._listings[d]
        for p in [p for p in self._parts if os.path.dirname(os.path.dirname(p)) not in alive]:
            del self._parts[p]
        for p in [p for p in self._journals if os.path.dirname(os.path.dirname(p)) not in alive]:
            del self._journals[p]


def _float(v: Any) -> float | None:
    if isinstance(v, (int, float)):
        try:
            return float(v)
        except OverflowError:
            return None
    return None


def _numeric_table(stream: str, run_id: str, rows: list[dict[str, Any]]) -> pa.Table | None:
    keys: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in (layout.JOURNAL_TEXT_KEY, layout.RUN_ID_COLUMN):
                keys[k] = None
    if stream == layout.SYSTEM_DIR:
        keys.pop(layout.STEP, None)
    arrays: dict[str, pa.Array] = {layout.RUN_ID_COLUMN: pa.array([run_id] * len(rows), pa.string())}
    for k in keys:
        if k == layout.STEP:
            vals = [r.get(k) for r in rows]
            arrays[k] = pa.array(
                [v if isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 else None for v in vals],
                pa.int64(),
            )
        else:
            arrays[k] = pa.array([_float(r.get(k)) for r in rows], pa.float64())
    return pa.table(arrays)


def _text_table(run_id: str, rows: list[dict[str, Any]]) -> pa.Table | None:
    steps, times, keys, values = [], [], [], []
    for r in rows:
        texts = r.get(layout.JOURNAL_TEXT_KEY)
        if not isinstance(texts, dict):
            continue
        step = r.get(layout.STEP)
        ts = _float(r.get(layout.TIMESTAMP))
        for k, v in texts.items():
            steps.append(step if isinstance(step, int) and not isinstance(step, bool) else None)
            times.append(ts)
            keys.append(str(k))
            values.append(v if isinstance(v, str) else str(v))
    if not keys:
        return None
    return pa.table(
        {
            layout.RUN_ID_COLUMN: pa.array([run_id] * len(keys), pa.string()),
            layout.STEP: pa.array(steps, pa.int64()),
            layout.TIMESTAMP: pa.array(times, pa.float64()),
            "key": pa.array(keys, pa.string()),
            "value": pa.array(values, pa.string()),
        }
    )
