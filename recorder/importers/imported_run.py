"""The shared writer step of every importer: one source run becomes one Loupe run.

The files are the recorder's own (docs/format.md): history/system/text Parquet through
the recorder's StreamWriter (without a journal: the source can always be read again),
media through the MediaStore, config/summary/metrics/run JSON, output.log in the
console format of recorder.journal. Everything is written into a hidden staging folder
beside the run (names starting with '.' are never runs) and swapped in at commit(), so
a failed or interrupted import leaves the previous import of that run as it was.
"""

from __future__ import annotations

import hashlib
import operator
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from recorder import layout
from recorder.atomic_json import fsync_dir, write_json
from recorder.journal import format_log_time, iso_now
from recorder.metric_definitions import MetricDefinition, MetricDefinitions
from recorder.run_summary import SummaryState, _jsonable
from recorder.stream_writer import StreamWriter
from recorder.values import RowBuilder

if TYPE_CHECKING:
    from recorder.importers.json_rows_table import JsonRows

# Rows kept in memory before a part is written: a 100k-step import makes one part.
ROWS_PER_PART = 100_000
STAGING_PREFIX = ".import-"
# Part of every fingerprint: a Loupe that imports differently re-imports unchanged sources.
IMPORT_FORMAT = 1
_ROW_KEYS = (layout.STEP, layout.TIMESTAMP, layout.RUNTIME)
# A JSON number is made of these; NaN, Infinity, text, true/false/null are not.
_NOT_A_NUMBER = re.compile(r"[^0-9eE+\-.,]")


@dataclass
class SourceInfo:
    """Who a source run is, known before its data is read."""

    tool: str  # "wandb", "tensorboard", "mlflow"
    key: str  # stable identity of the source run across imports (decides the Loupe run id)
    source_id: str  # the tool's own run id, for people
    path: str  # the file or folder imported
    fingerprint: str  # changes whenever the source changes
    start_time: float
    project: str | None = None  # the source's own project (wandb project, MLflow experiment)
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more of the source's identity, kept in run.json


def source_hash(info: SourceInfo) -> str:
    return hashlib.sha1(f"{info.tool}:{info.key}".encode("utf-8", "surrogatepass")).hexdigest()[:12]


def import_run_id(info: SourceInfo) -> str:
    """Sortable by the source's start time like any run id; the same source always gets the same suffix."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(max(info.start_time, 0.0)))
    return f"{stamp}-{source_hash(info)}"


def fingerprint(parts: list[Any]) -> str:
    return hashlib.sha1(orjson.dumps([IMPORT_FORMAT, *parts], default=str)).hexdigest()


class ImportedRun:
    """Receives a source run's rows, samples, lines and files; commit() publishes the run."""

    def __init__(self, target: Path, info: SourceInfo, replaces: list[Path] | None = None) -> None:
        self.target = target
        self.info = info
        self.id = target.name
        self.project = target.parent.name
        self.replaces = [p for p in (replaces or []) if p != target]
        self.dir = target.parent / f"{STAGING_PREFIX}{self.id}-{os.getpid()}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.start_time = info.start_time
        self.last_time = info.start_time
        self.end_time: float | None = None
        self.state = "finished"
        self.exit_code: int | None = None
        self.meta: dict[str, Any] = {}  # run.json identity and process facts the source knows
        self.config: dict[str, Any] = {}
        self.source_summary: dict[str, Any] | None = None
        self.steps = 0
        self.writer_id = layout.new_writer_id()
        self._history = StreamWriter(
            self.dir / layout.HISTORY_DIR,
            self.id,
            self.writer_id,
            text_directory=self.dir / layout.TEXT_DIR,
            rows_per_part=ROWS_PER_PART,
            journal=False,
        )
        self._system = StreamWriter(
            self.dir / layout.SYSTEM_DIR, self.id, self.writer_id, rows_per_part=ROWS_PER_PART, journal=False
        )
        self._builder = RowBuilder()
        self._definitions = MetricDefinitions()
        self._summary = SummaryState(self._definitions, self._builder.columns)
        self._builder.on_new_column = self._summary.on_new_column
        self._log: Any = None
        self._media: Any = None
        self._tmp_count = 0
        self._fast_rows = True
        self._json_prefix: dict[str, str] = {}  # key -> '"column":'
        self._last_json: dict[str, str] = {}  # key -> JSON text of its latest value (log_json_row)
        self._tables: list[Any] = []  # log_json_rows() tables not yet written, in order
        self._table_rows = 0

    # -- streams ---------------------------------------------------------------------
    def log_row(
        self, step: int, values: Mapping[str, Any], timestamp: float | None = None, runtime: float | None = None
    ) -> None:
        """One history row at `step`, as `run.log(values)` would record it (nested dicts flattened, text apart)."""
        if self._tables:
            self._write_tables()
        if self._last_json:
            self._settle_json_rows()
        nums: dict[str, Any] = {}
        texts: dict[str, str] = {}
        self._builder.add(values, nums, texts)
        if not nums and not texts:
            return
        timestamp, runtime = self._times(timestamp, runtime)
        nums[layout.STEP] = int(step)
        nums[layout.TIMESTAMP] = timestamp
        nums[layout.RUNTIME] = runtime
        self._summary.update(nums, texts)
        if texts:
            nums[layout.JOURNAL_TEXT_KEY] = texts
        self._history.append(nums)
        if self._history.rows_waiting >= ROWS_PER_PART:
            self._history.flush()
        self.steps += 1

    def log_json_row(self, keys: Any, texts: Any) -> bool:
        """A history row given as keys and their values' JSON text (as wandb stores them),
        written without decoding a value when every value is a plain number and `_step`,
        `_timestamp` and `_runtime` are among the keys. False when the row needs log_row()
        (text, NaN, a key that needs care); nothing is written then."""
        if not self._fast_rows or self._summary.agg_kinds:
            return False
        if self._tables:
            self._write_tables()
        if _NOT_A_NUMBER.search(",".join(texts)):
            return False
        prefixes = self._json_prefix
        try:
            body = ",".join(map(operator.add, map(prefixes.__getitem__, keys), texts))
        except KeyError:
            # A new column can bring a define_metric summary in (SummaryState.on_new_column).
            if not self._add_json_keys(keys) or self._summary.agg_kinds:
                return False
            body = ",".join(map(operator.add, map(prefixes.__getitem__, keys), texts))
        if '"_step":' not in body or '"_timestamp":' not in body or '"_runtime":' not in body:
            return False
        self._history.append_line(b"\n{" + body.encode() + b"}")
        self._last_json.update(zip(keys, texts))
        if self._history.rows_waiting >= ROWS_PER_PART:
            self._history.flush()
        self.steps += 1
        return True

    def log_json_rows(self, rows: JsonRows) -> bool:
        """Many history rows at once, written as one Parquet part when every value is a
        finite number and each row has `_step`, `_timestamp` and `_runtime` (the rows
        log_json_row() takes); False otherwise, and nothing is written."""
        if not self._fast_rows or self._summary.agg_kinds:
            return False
        columns: dict[str, str] = {}
        for key in rows.keys:
            column = self._column_of(key)
            if column is None:
                return False
            columns[key] = column
        if self._summary.agg_kinds:  # a new column brought a define_metric summary in
            return False
        built = rows.table(self.id, columns)
        if built is None:
            return False
        table, last = built
        # Kept until a part's worth: a reader hands over rows in batches smaller than a part
        # (the Python strings of a batch's values cost far more memory than its table).
        self._tables.append(table)
        self._table_rows += table.num_rows
        if self._table_rows >= ROWS_PER_PART:
            self._write_tables()
        self._last_json.update(last)
        self.steps += len(rows.counts)
        return True

    def _write_tables(self) -> None:
        import pyarrow as pa

        tables, self._tables, self._table_rows = self._tables, [], 0
        # A key missing from one batch is null in its rows; columns keep their first order.
        self._history.append_table(pa.concat_tables(tables, promote_options="default"))

    def _add_json_keys(self, keys: Any) -> bool:
        for key in keys:
            if key in self._json_prefix:
                continue
            if '"' in key or "\\" in key:
                self._fast_rows = False  # its JSON spelling could fake a reserved key
                return False
            column = self._column_of(key)
            if column is None:
                return False
            self._json_prefix[key] = orjson.dumps(column).decode() + ":"
        return True

    def _column_of(self, key: str) -> str | None:
        """The history column of a number logged under `key`; None for a key that needs log_row()."""
        if key in _ROW_KEYS:
            return key
        if key in layout.RESERVED_KEYS or not key:
            return None
        return self._builder.column_for(key)

    def _settle_json_rows(self) -> None:
        """Rows written by log_json_row() count in the summary (their last values) and last_time."""
        if not self._last_json:
            return
        columns = self._builder.columns
        last = {columns.get(k, k): orjson.loads(text) for k, text in self._last_json.items()}
        self._last_json = {}
        self._summary.last.update(last)
        self._summary.dirty = True
        ts = last.get(layout.TIMESTAMP)
        if isinstance(ts, (int, float)) and ts > self.last_time:
            self.last_time = float(ts)

    def log_system(self, timestamp: float, values: Mapping[str, float]) -> None:
        timestamp, runtime = self._times(timestamp, None)
        self._system.append({layout.TIMESTAMP: timestamp, layout.RUNTIME: runtime, **values})
        if self._system.rows_waiting >= ROWS_PER_PART:
            self._system.flush()

    def _times(self, timestamp: float | None, runtime: float | None) -> tuple[float, float]:
        if timestamp is None:
            timestamp = self.start_time + (runtime or 0.0)
        if runtime is None:
            runtime = timestamp - self.start_time
        if timestamp > self.last_time:
            self.last_time = timestamp
        return float(timestamp), float(runtime)

    def console_line(self, timestamp: float, stream: str, line: str) -> None:
        """One line of console output; `stream` is "O" (stdout) or "E" (stderr)."""
        if self._log is None:
            self._log = open(self.dir / layout.OUTPUT_LOG, "wb")  # noqa: SIM115 (closed in commit/abort)
        self._log.write(f"{format_log_time(timestamp)} {stream} {line}\n".encode("utf-8", "backslashreplace"))

    def define_metric(self, definition: MetricDefinition) -> None:
        self._definitions.add(definition)
        self._summary.refresh_definitions()

    # -- media -----------------------------------------------------------------------
    def media_value(self, key: str, step: int, items: list[Any], timestamp: float | None = None) -> str | None:
        """Store recorder media objects (Image, Histogram) logged under `key` at `step`; returns the
        JSON reference the history row holds as text, as `run.log({key: item})` writes it."""
        if self._media is None:
            from recorder.media.media_store import MediaStore

            self._media = MediaStore(self.id, self.dir, self.writer_id)
        now, _ = self._times(timestamp, None)
        refs = [r for i, item in enumerate(items) if (r := self._media.log_item(key, step, i, item, now)) is not None]
        if not refs:
            return None
        if len(items) == 1:
            return orjson.dumps(refs[0]).decode()
        kind = refs[0]["_type"].split("-")[0]
        return orjson.dumps({"_type": f"{kind}s", "count": len(refs), "items": refs}).decode()

    def image_from_bytes(self, data: bytes, caption: str | None = None) -> Any:
        """A recorder Image of encoded image bytes (PNG, JPEG, GIF), as TensorBoard stores them."""
        from recorder.media.image import Image

        suffix = ".jpg" if data[:2] == b"\xff\xd8" else ".gif" if data[:4] == b"GIF8" else ".png"
        self._tmp_count += 1
        tmp = self.dir / f"{layout.TMP_PREFIX}image-{self._tmp_count}{suffix}"
        tmp.write_bytes(data)
        try:
            return Image(tmp, caption=caption)  # reads the bytes at once
        finally:
            tmp.unlink()

    # -- files -----------------------------------------------------------------------
    def copy_tree(self, source: Path, under: str = "") -> list[dict[str, str]]:
        """Copy the files below `source` into the run's files/ folder (below `under`); symlinks
        leading outside `source` and special files are left out and returned with the reason."""
        from recorder.artifacts.walk import walk

        found, skipped = walk(source)
        files = self.dir / layout.FILES_DIR
        for f in found:
            dest = layout.inside(files, f"{under}/{f.rel}" if under else f.rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.source, dest)
        return skipped

    # -- end -------------------------------------------------------------------------
    def commit(self) -> None:
        """Publish everything and put the run in place of any earlier import of the same source."""
        if self._tables:
            self._write_tables()
        self._settle_json_rows()
        self._history.close()
        self._system.close()
        if self._media is not None:
            self._media.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        (self.dir / layout.FILES_DIR).mkdir(exist_ok=True)
        write_json(self.dir / layout.CONFIG_FILE, self.config)
        write_json(self.dir / layout.SUMMARY_FILE, self._summary_json())
        write_json(
            self.dir / layout.METRICS_FILE,
            {
                "definitions": self._definitions.as_json(),
                "columns": {k: c for k, c in self._builder.columns.items() if k != c},
            },
        )
        write_json(self.dir / layout.RUN_FILE, self._run_json(), fsync=True)
        self._swap_in()

    def abort(self) -> None:
        for close in (self._history.close, self._system.close):
            try:
                close()
            except Exception:
                pass
        if self._media is not None:
            try:
                self._media.close()
            except Exception:
                pass
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _swap_in(self) -> None:
        # Two renames: readers see the old run or the new one (for a moment, neither).
        old = self.target.parent / f"{STAGING_PREFIX}old-{self.id}-{os.getpid()}"
        had = self.target.exists()
        # What the user changed on the earlier import (name, tags, notes) stays.
        for earlier in ([self.target] if had else []) + self.replaces:
            edits = earlier / layout.EDITS_FILE
            if edits.is_file():
                shutil.copyfile(edits, self.dir / layout.EDITS_FILE)
                break
        if had:
            os.replace(self.target, old)
        os.replace(self.dir, self.target)
        fsync_dir(self.target.parent)
        if had:
            shutil.rmtree(old, ignore_errors=True)
        for earlier in self.replaces:  # the same source imported before into another project
            shutil.rmtree(earlier, ignore_errors=True)

    def _summary_json(self) -> dict[str, Any]:
        out = self._summary.snapshot()
        for k, v in (self.source_summary or {}).items():
            # A media summary value points into the source's files; the row's own reference
            # (already in the snapshot) points at the media Loupe stored.
            # _step/_timestamp/_runtime describe the last row Loupe wrote.
            if k in out and (k in _ROW_KEYS or (isinstance(v, Mapping) and "_type" in v)):
                continue
            out[k] = _json_numbers(v)
        return out

    def _run_json(self) -> dict[str, Any]:
        info = self.info
        end = self.end_time if self.end_time is not None else self.last_time
        meta = dict(self.meta)
        data: dict[str, Any] = {
            "format_version": layout.FORMAT_VERSION,
            "id": self.id,
            "name": meta.pop("name", None) or info.name or layout.default_run_name(self.id),
            "project": self.project,
            "group": meta.pop("group", None),
            "job_type": meta.pop("job_type", None),
            "tags": list(meta.pop("tags", None) or ()),
            "notes": meta.pop("notes", None),
            "state": self.state,
            "created_at": iso_now(self.start_time),
            "heartbeat_at": iso_now(max(end, self.start_time)),
            "finished_at": iso_now(end) if self.state in ("finished", "failed") else None,
            "runtime": max(end - self.start_time, 0.0),
            "exit_code": self.exit_code,
            "resumed": False,
            "writer": self.writer_id,
            **meta,
            "source": {
                "tool": info.tool,
                "id": info.source_id,
                "key": info.key,
                "path": os.path.abspath(info.path),
                "fingerprint": info.fingerprint,
                "imported_at": iso_now(),
                **info.extra,
            },
        }
        return data


def _json_numbers(v: Any) -> Any:
    # JSON has no NaN/inf: written as the recorder writes them in summary.json.
    if isinstance(v, float):
        return _jsonable(v)
    if isinstance(v, Mapping):
        return {k: _json_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_numbers(x) for x in v]
    return v
