"""Crash-safe storage of one row stream (history or system metrics) of one run.

Each row is appended to a journal with a single write() on the caller's thread, so a
kill -9 loses nothing that log() returned from. A background thread turns journal
segments into Parquet parts (hidden temp file, fsync, rename), then deletes the
segment; parts are merged as they accumulate. layout.live_stream_files() tells
readers which files hold each row exactly once at any moment, crash or not.

The journal is the only copy of a row the writer keeps: a segment is read back from
disk (the page cache) when its part is built, so memory stays flat however far
publication falls behind (the helper importing pyarrow for a second while a fast
loop logs 100,000 rows). Only rows the journal could not take are held in memory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from recorder import layout
from recorder.journal import encode_row
from recorder.warn import warn_once

# The journal's one system call; a module attribute so fault tests can fail it alone.
_write = os.write
_dumps = orjson.dumps
# Don't hold more than this much unpublished data in memory while the disk refuses writes.
_MAX_UNPUBLISHED_BYTES = 256 * 2**20


def unlink_quietly(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def read_segment(journal: Path, unjournaled: bytes) -> bytes:
    """A closed segment's rows: its journal file, then the rows it could not take."""
    try:
        with open(journal, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    return data + unjournaled if unjournaled else data


def clean_stale_tmp(directory: Path, older_than_s: float = 600.0) -> None:
    """Remove temp files of writers that died mid-publish (no live write takes 10 minutes)."""
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for e in entries:
        if e.name.startswith(layout.TMP_PREFIX):
            try:
                if now - e.stat(follow_symlinks=False).st_mtime > older_than_s:
                    os.unlink(e.path)
            except OSError:
                pass


def _short_write(written: int, line: bytes) -> OSError:
    return OSError(f"short write: {written} of {len(line)} bytes")


class StreamWriter:
    """Journal + Parquet parts for one stream directory, owned by one process."""

    def __init__(
        self,
        directory: Path,
        run_id: str,
        writer_id: str,
        text_directory: Path | None = None,
        compact_after_parts: int = 16,
        rows_per_part: int = 10_000,
        journal: bool = True,
        lock: Any = None,
    ) -> None:
        self.directory = directory
        self.text_directory = text_directory
        self.run_id = run_id
        self.writer_id = writer_id
        self.compact_after_parts = compact_after_parts
        self.rows_per_part = rows_per_part
        # Called (rarely) from the caller's thread when a part's worth of rows is waiting.
        self.on_full: Callable[[], None] | None = None
        self.lost_rows = 0
        self.last_error: str | None = None
        # Guards the batch and the journal's descriptor. A caller that already holds a lock
        # of its own on every append (Run.log) hands it in, so a row takes one lock, not two.
        self.lock = self._lock = lock if lock is not None else threading.Lock()
        self._publish_lock = threading.Lock()
        self._seq = 0
        self._fd: int | None = None
        # Rows appended in all, when the current segment began, and how many the last
        # sync() covered: counts, not the rows, which are in the journal.
        self._appended = 0
        self._segment_start = 0
        self._synced = 0
        # Rows of the current segment its journal does not hold: every row when journal
        # is off (loupe import, whose source can be read again, where a journal line per
        # row only costs time), and the rows after a write failed.
        self._unjournaled: list[bytes] = []
        self.journal = journal
        self._journal_broken = not journal
        # Closed segments without a part yet: (seq, the rows their journal lacks).
        self._unpublished: list[tuple[int, bytes]] = []
        self._parts: list[layout.PartName] = []
        self._text_parts: list[layout.PartName] = []
        self.bytes_pending = 0
        # Who builds parts: None is this process (recorder.parquet_parts, imported on first
        # use); RunFiles hands in its recorder.helper_process.HelperProcess.
        self.publisher: Any = None
        directory.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(directory)
        if text_directory is not None:
            text_directory.mkdir(parents=True, exist_ok=True)
            clean_stale_tmp(text_directory)

    @property
    def rows_waiting(self) -> int:
        """Rows appended since the last flush()."""
        return self._appended - self._segment_start

    # -- caller thread -------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.append_locked(row)

    def append_locked(self, row: dict[str, Any]) -> None:
        """append(), for a caller that holds `self.lock`."""
        line = _dumps(row)
        # encode_row's work inline for the row without NaN/inf (orjson writes them null).
        # find(), not `in`: bytes `in` first tries its operand as an int and discards the
        # TypeError, a third of the search's cost on a 250-byte line (CPython 3.11).
        line = encode_row(row) if line.find(b"null") >= 0 else b"\n" + line
        fd = self._fd
        appended = self._appended + 1
        if fd is None or appended - self._segment_start == self.rows_per_part:
            self._append_line_locked(line)  # a segment to open, a part's worth, a broken journal
            return
        # The common row, without a second call: log() pays for every one.
        self._appended = appended
        try:
            written = _write(fd, line)
        except OSError as exc:
            self._keep_unwritten(line, exc)
            return
        if written != len(line):
            self._keep_unwritten(line, _short_write(written, line))

    def append_line(self, line: bytes) -> None:
        """A row already encoded as recorder.journal.encode_row encodes it."""
        with self._lock:
            self._append_line_locked(line)

    def _append_line_locked(self, line: bytes) -> None:
        self._appended = appended = self._appended + 1
        # Once per segment, when it reaches a part's size: the writer publishes it now
        # rather than at its next tick, which keeps parts (and readers' journals) small.
        if appended - self._segment_start == self.rows_per_part and self.on_full is not None:
            self.on_full()
        fd = self._fd
        if fd is None:
            if self._journal_broken:
                self._unjournaled.append(line)
                return
            fd = self._open_journal()
            if fd is None:
                self._unjournaled.append(line)
                return
        try:
            written = _write(fd, line)
        except OSError as exc:
            self._keep_unwritten(line, exc)
            return
        if written != len(line):
            self._keep_unwritten(line, _short_write(written, line))

    def _keep_unwritten(self, line: bytes, exc: OSError) -> None:
        # A torn line (disk full mid-write) is skipped by every reader; the row is kept
        # whole in memory instead, as is every row after it in this segment.
        self._unjournaled.append(line)
        self._journal_failed(exc)

    def _open_journal(self) -> int | None:
        path = self.directory / layout.journal_name(self.writer_id, self._seq)
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            self._journal_failed(exc)
            return None
        return self._fd

    def _journal_failed(self, exc: OSError) -> None:
        # The rest of the segment stays in memory and is published as Parquet (after the
        # journal's rows, in order) if the disk recovers; only a crash before that would
        # lose it, which the run records. The journal is tried again at the next segment.
        self._journal_broken = True
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self.last_error = f"journal write failed: {exc}"
        warn_once(
            f"journal:{self.directory}",
            f"cannot write {self.directory}: {exc}; training continues, rows are kept in memory until the disk accepts them",
        )

    # -- background thread ---------------------------------------------------------
    def sync(self) -> None:
        """fsync the journal if rows were written since the last sync (background thread).

        The caller's thread never waits for the disk: the journal's descriptor is
        duplicated under the lock and synced outside it, so log() goes on meanwhile."""
        with self._lock:
            if self._appended == self._synced or self._fd is None:
                return
            appended = self._appended
            try:
                fd = os.dup(self._fd)
            except OSError:
                return
        try:
            os.fsync(fd)
            self._synced = appended
        except OSError as exc:
            # Not fatal: the lines are still in the kernel; only a power cut would lose them.
            warn_once(f"fsync:{self.directory}", f"cannot fsync the journal in {self.directory}: {exc}")
        finally:
            os.close(fd)

    def flush(self) -> None:
        """Publish everything logged so far as a Parquet part (background thread)."""
        with self._publish_lock:
            with self._lock:
                rows = self._appended - self._segment_start
                self._segment_start = self._appended
                unjournaled, self._unjournaled = self._unjournaled, []
                fd, self._fd = self._fd, None
                seq = self._seq
                if rows:
                    self._seq += 1
                self._journal_broken = not self.journal
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if rows:
                self._unpublished.append((seq, b"".join(unjournaled)))
            self._publish_pending()
            self.bytes_pending = sum(len(r) for _, r in self._unpublished)
            if len(self._parts) >= self.compact_after_parts:
                self._compact()

    def append_table(self, table: Any) -> None:
        """Publish rows already built as a numeric Arrow table (loupe import, which reads
        a source many rows at a time) as the next part, after every row appended before."""
        from recorder import parquet_parts

        self.flush()
        with self._publish_lock:
            with self._lock:
                seq = self._seq
                self._seq += 1
            parquet_parts.write_parquet_atomic(table, self.directory / layout.part_name(self.writer_id, seq, seq))
            self._parts.append(layout.PartName(self.writer_id, seq, seq))
            if len(self._parts) >= self.compact_after_parts:
                self._compact()

    def _publish_pending(self) -> None:
        while self._unpublished:
            seq, rows = self._unpublished[0]
            try:
                self._publish(seq, rows)
            except Exception as exc:
                self.last_error = f"publishing part {seq} failed: {exc}"
                warn_once(
                    f"publish:{self.directory}",
                    f"cannot write Parquet in {self.directory}: {exc}; will retry",
                )
                self._drop_excess()
                return
            self._unpublished.pop(0)

    def _drop_excess(self) -> None:
        # Only rows held in memory count, and only they are dropped: a segment's journal
        # file stays on disk (and readable) until its part is written.
        total = sum(len(r) for _, r in self._unpublished)
        for i, (seq, dropped) in enumerate(self._unpublished[:-1]):
            if total <= _MAX_UNPUBLISHED_BYTES:
                break
            if dropped:
                self._unpublished[i] = (seq, b"")
                total -= len(dropped)
                self.lost_rows += dropped.count(b"\n")

    def _publish(self, seq: int, unjournaled: bytes) -> None:
        name = layout.PartName(self.writer_id, seq, seq)
        file_name = layout.part_name(self.writer_id, seq, seq)
        text_path = self.text_directory / file_name if self.text_directory is not None else None
        journal = self.directory / layout.journal_name(self.writer_id, seq)
        wrote, wrote_text = self._parts_call(
            "publish_segment", journal, unjournaled, self.run_id, self.directory / file_name, text_path
        )
        if wrote_text:
            self._text_parts.append(name)
        if wrote:
            self._parts.append(name)
        unlink_quietly(journal)

    def _parts_call(self, op: str, *args: Any) -> Any:
        """recorder.parquet_parts' `op`, in the helper process when there is one."""
        publisher = self.publisher
        if publisher is not None:
            from recorder.helper_process import HelperGone

            try:
                return getattr(publisher, op)(*args)
            except HelperGone:
                # Same part names in-process: a part the helper finished is only replaced.
                self.publisher = None
        # pyarrow takes ~200 ms to import: keep it off `import recorder` and off the caller.
        from recorder import parquet_parts

        return getattr(parquet_parts, op)(*args)

    def compact(self) -> None:
        """Merge this writer's parts into one file (finish, and long runs as they go)."""
        with self._publish_lock:
            self._compact()

    def _compact(self) -> None:
        try:
            self._parts = self._parts_call("merge_parts", self.directory, self._parts)
            if self.text_directory is not None:
                self._text_parts = self._parts_call("merge_parts", self.text_directory, self._text_parts)
        except Exception as exc:
            self.last_error = f"compaction failed: {exc}"
            warn_once(f"compact:{self.directory}", f"could not merge Parquet parts in {self.directory}: {exc}")

    def close(self) -> None:
        self.flush()
        self.compact()
