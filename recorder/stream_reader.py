"""A run's history, system and text rows read back with pyarrow, each row exactly once.

    streams = RunStreams(run_dir)
    streams.table("history", ["_step", "loss"])         # all rows, in step order
    for row in streams.rows("history", RowShape(), 100, 200): ...  # lazily, page by page
    streams.texts()                                      # {step: {key: string}}

Which files to read is `recorder.layout.live_stream_files()` (covered parts and
journals skipped), journal lines become rows through the same function the writer
uses to build parts from them (`recorder.parquet_parts.journal_to_tables`), so a live
or crashed run reads exactly as it will once its journals are published. A file that
vanishes while it is read (compaction, a journal being published) makes the reader
list the directory again and carry on; a damaged Parquet file is skipped with one
warning.

This is the recorder's own reader (`recorder.Api`): the recorder may not import the
viewer, whose read layer (viewer/data/stream_files.py) follows the same two rules.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recorder import layout
from recorder.parquet_parts import journal_to_tables
from recorder.warn import warn_once

_RETRIES = 3
# One page of rows: the dicts, and the step of each.
Page = tuple[list[dict[str, Any]], list[int | None]]


@dataclass(frozen=True)
class RowShape:
    """What rows() reads and how it makes each row a dict.

    `columns`: read only these (None: all but run_id); `rename`: column -> name in the
    dict; `sparse`: leave out a value not logged at that row instead of None;
    `required`: keep only rows where each of these columns has a value; `emit`: the
    names each dict holds (None: every column read)."""

    columns: list[str] | None = None
    rename: dict[str, str] = field(default_factory=dict)
    sparse: bool = False
    required: tuple[str, ...] = ()
    emit: tuple[str, ...] | None = None

    def dicts(self, table: pa.Table) -> list[dict[str, Any]]:
        names = [self.rename.get(c, c) for c in table.column_names]
        columns = list(table.columns)
        if self.emit is not None:
            keep = [i for i, n in enumerate(names) if n in self.emit]
            names, columns = [names[i] for i in keep], [columns[i] for i in keep]
        values = zip(*(col.to_pylist() for col in columns))
        if self.sparse and any(col.null_count for col in columns):
            return [{k: v for k, v in zip(names, row) if v is not None} for row in values]
        return [dict(zip(names, row)) for row in values]


@dataclass(frozen=True)
class _Source:
    """One file of one writer, in that writer's order (a part's first segment, or a journal's)."""

    seq: int
    path: Path
    journal: bool


class RunStreams:
    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self._journals: dict[Path, tuple[int, pa.Table, pa.Table | None]] = {}

    # -- listing ----------------------------------------------------------------------
    def _writers(self, stream: str) -> list[list[_Source]]:
        """Files per writer, each list in the order that writer wrote its rows."""
        directory = self.run_dir / stream
        if stream == layout.TEXT_DIR:
            files = layout.live_stream_files(directory, journal_dir=self.run_dir / layout.HISTORY_DIR)
        else:
            files = layout.live_stream_files(directory)
        by_writer: dict[str, list[_Source]] = {}
        for path in files.parts:
            part = layout.parse_part(path.name)
            if part is not None:
                by_writer.setdefault(part.writer, []).append(_Source(part.lo, path, False))
        for path in files.journals:
            parsed = layout.parse_journal(path.name)
            if parsed is not None:
                by_writer.setdefault(parsed[0], []).append(_Source(parsed[1], path, True))
        return [sorted(sources, key=lambda s: (s.seq, s.journal)) for _, sources in sorted(by_writer.items())]

    # -- one file -----------------------------------------------------------------------
    def _journal_table(self, stream: str, path: Path) -> pa.Table | None:
        with open(path, "rb") as f:  # FileNotFoundError: published meanwhile; the caller lists again
            data = f.read()
        # Numbers and strings share the history journal: parse it once per read of both.
        cached = self._journals.get(path)
        if cached is None or cached[0] != len(data):
            cached = (len(data), *journal_to_tables(data, self.run_id))
            self._journals[path] = cached
        return cached[2] if stream == layout.TEXT_DIR else cached[1]

    def _part_file(self, f: Any, path: Path) -> pq.ParquetFile | None:
        try:
            return pq.ParquetFile(f)
        except Exception as exc:  # truncated, zero-byte or garbage: pyarrow's errors vary
            detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            warn_once(f"api-part:{path}", f"skipping {path}: not a readable Parquet file ({detail})")
            return None

    def _batches(
        self, stream: str, src: _Source, columns: list[str] | None, lo: int | None, hi: int | None, size: int
    ) -> Iterator[pa.Table]:
        """Rows of one file with `lo <= _step < hi`, `columns` only (those it has)."""
        if src.journal:
            table = self._journal_table(stream, src.path)
            if table is None or table.num_rows == 0:
                return
            yield from _slices(_in_range(_select(table, columns), lo, hi), size)
            return
        # Opened first, so a compaction that unlinks it meanwhile cannot pull it away;
        # FileNotFoundError (already gone) makes the caller list again.
        with open(src.path, "rb") as f:
            pf = self._part_file(f, src.path)
            if pf is None:
                return
            names = pf.schema_arrow.names
            wanted = (
                [c for c in names if c != layout.RUN_ID_COLUMN]
                if columns is None
                else [c for c in columns if c in names]
            )
            for batch in pf.iter_batches(batch_size=size, row_groups=_row_groups_in_range(pf, lo, hi), columns=wanted):
                table = _in_range(pa.Table.from_batches([batch]), lo, hi)
                if table.num_rows:
                    yield table

    # -- whole streams ----------------------------------------------------------------------
    def table(self, stream: str, columns: list[str] | None = None) -> pa.Table:
        """Every row of `stream` (`columns` only; a column a file lacks reads as null),
        sorted by `_step` (system: by `_timestamp`). `run_id` is left out."""
        for attempt in range(_RETRIES):
            try:
                tables = [
                    t
                    for sources in self._writers(stream)
                    for src in sources
                    for t in self._batches(stream, src, columns, None, None, 1 << 30)
                ]
                break
            except FileNotFoundError:
                if attempt == _RETRIES - 1:
                    raise
        if not tables:
            return _empty(columns)
        table = pa.concat_tables(tables, promote_options="default")
        if columns is not None:
            table = _with_columns(table, columns)
        order = layout.TIMESTAMP if stream == layout.SYSTEM_DIR else layout.STEP
        if order in table.column_names:
            table = table.sort_by([(order, "ascending")])
        return table

    def rows(
        self, stream: str, shape: RowShape, min_step: int | None, max_step: int | None, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Rows with `min_step <= _step < max_step` as dicts shaped by `shape`, in step
        order, decoded `page_size` rows at a time. A file that vanishes meanwhile is read
        again, listed afresh, from the step after the last page given."""
        size = max(1, int(page_size))
        next_step = min_step
        for attempt in range(_RETRIES):
            try:
                for rows, steps in self._pages(stream, shape, next_step, max_step, size):
                    yield from rows
                    if steps and steps[-1] is not None:
                        next_step = steps[-1] + 1
                return
            except FileNotFoundError:
                if attempt == _RETRIES - 1:
                    raise

    def _pages(self, stream: str, shape: RowShape, lo: int | None, hi: int | None, size: int) -> Iterator[Page]:
        writers = [self._writer_pages(stream, sources, shape, lo, hi, size) for sources in self._writers(stream)]
        if len(writers) == 1:
            yield from writers[0]
            return
        # A resumed run has one writer per process, each in step order and usually each
        # after the last: such writers are chained; the first page that overlaps the next
        # writer's steps hands the rest to a merge by step.
        heads = [(page, w) for w in writers if (page := next(w, None)) is not None]
        heads.sort(key=lambda head: _first_step(head[0]))
        for i, (page, w) in enumerate(heads):
            later = heads[i + 1 :]
            bound = _first_step(later[0][0]) if later else None
            for current in itertools.chain([page], w):
                steps = current[1]
                if bound is not None and (steps[-1] is None or steps[-1] >= bound):
                    rest = [itertools.chain([current], w)] + [itertools.chain([p], it) for p, it in later]
                    yield from _merged(rest, size)
                    return
                yield current

    def _writer_pages(
        self, stream: str, sources: list[_Source], shape: RowShape, lo: int | None, hi: int | None, size: int
    ) -> Iterator[Page]:
        for src in sources:
            for table in self._batches(stream, src, shape.columns, lo, hi, size):
                if shape.required:
                    table = _having(table, shape.required)
                if table.num_rows:
                    yield shape.dicts(table), _steps(table)

    def texts(self, keys: set[str] | None = None) -> dict[int, dict[str, str]]:
        """Strings logged with log(), by step and key (the text stream is small: loaded whole)."""
        table = self.table(layout.TEXT_DIR, [layout.STEP, "key", "value"])
        out: dict[int, dict[str, str]] = {}
        for step, key, value in zip(*(table.column(c).to_pylist() for c in (layout.STEP, "key", "value"))):
            if step is not None and key is not None and (keys is None or key in keys):
                out.setdefault(step, {})[key] = value
        return out


def _first_step(page: Page) -> int:
    first = page[1][0] if page[1] else None
    return -1 if first is None else first


def _merged(writers: Sequence[Iterator[Page]], size: int) -> Iterator[Page]:
    """Pages of several writers' pages, merged row by row on the step."""
    pairs = heapq.merge(
        *((pair for rows, steps in w for pair in zip(steps, rows)) for w in writers),
        key=lambda pair: -1 if pair[0] is None else pair[0],
    )
    while chunk := list(itertools.islice(pairs, size)):
        yield [row for _, row in chunk], [step for step, _ in chunk]


def _steps(table: pa.Table) -> list[int | None]:
    if layout.STEP not in table.column_names:
        return [None] * table.num_rows
    return table.column(layout.STEP).to_pylist()


def _having(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """Rows where every one of `columns` has a value (a column the file lacks: none)."""
    if any(c not in table.column_names for c in columns):
        return table.slice(0, 0)
    mask = pc.is_valid(table.column(columns[0]))
    for c in columns[1:]:
        mask = pc.and_(mask, pc.is_valid(table.column(c)))
    return table.filter(mask)


def _select(table: pa.Table, columns: list[str] | None) -> pa.Table:
    if columns is None:
        return table.drop_columns([c for c in (layout.RUN_ID_COLUMN,) if c in table.column_names])
    return table.select([c for c in columns if c in table.column_names])


def _with_columns(table: pa.Table, columns: list[str]) -> pa.Table:
    """`columns` in that order; one no file had is all null (float64, or int64 for `_step`)."""
    arrays = []
    for c in columns:
        if c in table.column_names:
            arrays.append(table.column(c))
        else:
            arrays.append(pa.nulls(table.num_rows, pa.int64() if c == layout.STEP else pa.float64()))
    return pa.table(dict(zip(columns, arrays)))


def _empty(columns: list[str] | None) -> pa.Table:
    return _with_columns(pa.table({}), columns or [])


def _in_range(table: pa.Table, lo: int | None, hi: int | None) -> pa.Table:
    if (lo is None and hi is None) or layout.STEP not in table.column_names:
        return table
    step = table.column(layout.STEP)
    mask = None
    if lo is not None:
        mask = pc.greater_equal(step, lo)
    if hi is not None:
        upper = pc.less(step, hi)
        mask = upper if mask is None else pc.and_(mask, upper)
    return table.filter(pc.fill_null(mask, False))


def _slices(table: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, size):
        yield table.slice(start, size)


def _row_groups_in_range(pf: pq.ParquetFile, lo: int | None, hi: int | None) -> list[int]:
    """Row groups whose `_step` statistics overlap [lo, hi) (all when unknown)."""
    groups = list(range(pf.num_row_groups))
    if lo is None and hi is None:
        return groups
    try:
        index = pf.schema_arrow.get_field_index(layout.STEP)
    except KeyError:
        return groups
    if index < 0:
        return groups
    kept = []
    for g in groups:
        stats = pf.metadata.row_group(g).column(index).statistics
        unknown = stats is None or not stats.has_min_max
        if unknown or ((lo is None or stats.max >= lo) and (hi is None or stats.min < hi)):
            kept.append(g)
    return kept
