"""Per-run media storage: file names, the media index stream, and the writer thread.

log() stays cheap: the training thread only snapshots the object (Image/Table
constructors already did most of that) and queues a job; one daemon thread per run
encodes PNGs and writes Parquet tables, then appends the item's index record. The
queue is bounded by items and bytes; when it stays full for BLOCK_S the item is
dropped (warned once, counted), so memory stays flat whatever the script logs.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder import layout
from recorder.atomic_json import write_bytes_atomic
from recorder.media.histogram import Histogram
from recorder.media.image import Image
from recorder.media.media_index_writer import MediaIndexWriter
from recorder.media.table import Table
from recorder.warn import warn, warn_once

if TYPE_CHECKING:
    from recorder.run_api import Run

MAX_QUEUED_ITEMS = 256
MAX_QUEUED_BYTES = 64 * 1024 * 1024
BLOCK_S = 2.0
CLOSE_TIMEOUT_S = 120.0

_create_lock = threading.Lock()


def get_store(run: Run) -> MediaStore:
    store = run.__dict__.get("_media_store")
    if store is None:
        with _create_lock:
            store = run.__dict__.get("_media_store")
            if store is None:
                store = MediaStore(run.id, run._files.dir, run._files.writer_id)
                run._files.extra_streams.append(store)
                run._media_store = store
    return store


class MediaStore:
    def __init__(self, run_id: str, run_dir: Path, writer_id: str) -> None:
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.writer_id = writer_id
        self.index = MediaIndexWriter(self.run_dir / layout.MEDIA_INDEX, run_id, writer_id)
        self.dropped = 0
        self.failed = 0
        self._counters: dict[str, tuple[int, int]] = {}  # key -> (step, next n)
        self._jobs: collections.deque[tuple[Callable[[], None], int]] = collections.deque()
        self._bytes = 0
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- training thread -------------------------------------------------------------
    def next_n(self, key: str, step: int) -> int:
        last_step, n = self._counters.get(key, (step, 0))
        if last_step != step:
            n = 0
        self._counters[key] = (step, n + 1)
        return n

    def log_item(self, key: str, step: int, idx: int, item: Any, now: float) -> dict[str, Any] | None:
        """Store one media object; returns the reference for the history row, or None if dropped."""
        base = {"_step": step, "_timestamp": now, "key": key, "idx": idx}
        if isinstance(item, Image):
            return self._log_image(key, step, item, base)
        if isinstance(item, Histogram):
            self.index.append(
                {**base, "kind": layout.MEDIA_KIND_HISTOGRAM, "bins": item.bins, "counts": item.histogram}
            )
            return {"_type": "histogram", "num_bins": len(item.histogram)}
        chart = getattr(item, "chart", None)
        if isinstance(item, Table) or (chart is not None and isinstance(getattr(item, "table", None), Table)):
            return self._log_table(key, step, item, base)
        warn_once(f"media-type:{key}", f"log(): {type(item).__name__} under {key!r} is not a media type Loupe stores")
        return None

    def _log_image(self, key: str, step: int, image: Image, base: dict[str, Any]) -> dict[str, Any] | None:
        stem = layout.media_file_stem(step, self.next_n(key, step), self.writer_id)
        rel = f"{layout.MEDIA_DIR}/{layout.MEDIA_IMAGES_DIR}/{layout.media_key_dir(key)}/{stem}.{image.format}"
        record = {
            **base,
            "kind": layout.MEDIA_KIND_IMAGE,
            "path": rel,
            "format": image.format,
            "width": image.width,
            "height": image.height,
            "caption": image.caption,
        }

        def job() -> None:
            self._write_image(image, rel)
            self.index.append(record)

        if not self._submit(job, image.nbytes, key):
            return None
        return {
            "_type": "image-file",
            "path": rel,
            "width": image.width,
            "height": image.height,
            "caption": image.caption,
            "format": image.format,
        }

    def _log_table(self, key: str, step: int, item: Any, base: dict[str, Any]) -> dict[str, Any] | None:
        is_plot = not isinstance(item, Table)
        table: Table = (item.table if is_plot else item).snapshot()
        stem = layout.media_file_stem(step, self.next_n(key, step), self.writer_id)
        folder = f"{layout.MEDIA_DIR}/{layout.MEDIA_TABLES_DIR}/{layout.media_key_dir(key)}"
        rel = f"{folder}/{stem}.parquet"
        spec = dict(item.spec) if is_plot else {}
        record = {
            **base,
            "kind": layout.MEDIA_KIND_PLOT if is_plot else layout.MEDIA_KIND_TABLE,
            "path": rel,
            "format": "parquet",
            "nrows": len(table.data),
            "columns": list(table.columns),
            "chart": item.chart if is_plot else None,
        }

        def job() -> None:
            image_columns = self._write_table(table, rel, f"{folder}/{stem}.files")
            if image_columns:
                spec["image_columns"] = image_columns
            self.index.append({**record, "spec": json.dumps(spec, default=str) if spec else None})

        if not self._submit(job, table.nbytes, key):
            return None
        ref = {"_type": "table-file", "path": rel, "nrows": len(table.data), "ncols": len(table.columns)}
        if is_plot:
            ref = {"_type": "plot", "chart": item.chart, "path": rel}
        return ref

    def _submit(self, job: Callable[[], None], nbytes: int, key: str) -> bool:
        with self._cond:
            if self._closed:
                return False
            deadline = time.monotonic() + BLOCK_S
            while self._jobs and (len(self._jobs) >= MAX_QUEUED_ITEMS or self._bytes + nbytes > MAX_QUEUED_BYTES):
                left = deadline - time.monotonic()
                if left <= 0:
                    self.dropped += 1
                    warn_once(
                        f"media-drop:{self.run_id}",
                        f"media for {key!r} dropped: the disk is not keeping up with logged images/tables "
                        f"({MAX_QUEUED_ITEMS} items or {MAX_QUEUED_BYTES >> 20} MiB waiting)",
                    )
                    return False
                self._cond.wait(left)
            self._jobs.append((job, nbytes))
            self._bytes += nbytes
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="loupe-media", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return True

    # -- worker thread ---------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return
                job, nbytes = self._jobs.popleft()
                self._busy = True
            try:
                job()
            except Exception as exc:
                self.failed += 1
                warn_once(f"media-write:{type(exc).__name__}", f"could not write a media file: {exc!r}")
            finally:
                del job
                with self._cond:
                    self._bytes -= nbytes
                    self._busy = False
                    self._cond.notify_all()

    def _write_bytes(self, rel: str, data: bytes) -> None:
        path = layout.inside(self.run_dir, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)

    def _write_image(self, image: Image, rel: str) -> None:
        data, _ = image.encoded()
        self._write_bytes(rel, data)

    def _write_table(self, table: Table, rel: str, cells_folder: str) -> list[str]:
        import pyarrow as pa

        from recorder.media.table import column_array
        from recorder.parquet_parts import write_parquet_atomic

        columns = [[r[i] for r in table.data] for i in range(len(table.columns))]
        image_columns = []
        for c, values in enumerate(columns):
            has_image = False
            for r, v in enumerate(values):
                if isinstance(v, Image):
                    cell_rel = f"{cells_folder}/{r}-{c}.{v.format}"
                    self._write_image(v, cell_rel)
                    values[r] = cell_rel
                    has_image = True
            if has_image:
                image_columns.append(table.columns[c])
        arrow = pa.Table.from_arrays([column_array(v) for v in columns], names=table.columns)
        if image_columns:
            arrow = arrow.replace_schema_metadata({"loupe.image_columns": json.dumps(image_columns)})
        path = layout.inside(self.run_dir, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(arrow, path)
        return image_columns

    # -- RunFiles hooks (background thread, finish) ----------------------------------
    def flush(self) -> None:
        self.index.flush()

    def sync(self) -> None:
        self.index.sync()

    def drain(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until every queued item is written (tests, finish)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        if not self.drain():
            warn(f"media: gave up waiting for {len(self._jobs)} media files of run {self.run_id}")
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.index.close()
        if self.dropped:
            warn(f"run {self.run_id}: {self.dropped} media items were dropped because writing fell behind")
