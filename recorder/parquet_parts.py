"""Parquet for the recorder: journal rows to Arrow tables, atomic publish, merging.

Imported lazily by the stream writer's background thread (pyarrow is slow to import).
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from recorder import layout
from recorder.atomic_json import fsync_dir
from recorder.journal import decode_journal
from recorder.stream_writer import read_segment, unlink_quietly

_NONFINITE_VALUES = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def journal_to_tables(data: bytes, run_id: str) -> tuple[pa.Table, pa.Table | None]:
    """Parse journal bytes into (numeric, text) tables.

    Arrow's JSON reader runs without the GIL, so the training thread keeps running while
    a part is built; the pure-Python path is the fallback for anything it rejects.
    """
    try:
        parsed = pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(block_size=max(len(data) + 1, 1 << 20), use_threads=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return rows_to_tables(decode_journal(data), run_id)
    if layout.JOURNAL_TEXT_KEY in parsed.column_names:
        # Text keys vary row to row; the Python path builds the long text table simply.
        rows_with_text = [r for r in decode_journal(data) if layout.JOURNAL_TEXT_KEY in r]
        text = rows_to_tables(rows_with_text, run_id)[1]
    else:
        text = None
    return _numeric_from_parsed(parsed, run_id), text


def run_id_column(run_id: str, n: int) -> pa.DictionaryArray:
    """The run_id column of a part: `n` times the one run id, dictionary-encoded.

    Made from buffers: pa.array() on a list imports pandas when it is installed (0.3 s)."""
    name = run_id.encode()
    indices = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(bytes(4 * n))])
    ends = pa.py_buffer(array("i", [0, len(name)]))
    return pa.DictionaryArray.from_arrays(indices, pa.StringArray.from_buffers(1, ends, pa.py_buffer(name)))


def _numeric_from_parsed(parsed: pa.Table, run_id: str) -> pa.Table:
    n = parsed.num_rows
    nonfinite = (
        parsed.column(layout.JOURNAL_NONFINITE_KEY) if layout.JOURNAL_NONFINITE_KEY in parsed.column_names else None
    )
    arrays: dict[str, pa.Array] = {layout.RUN_ID_COLUMN: run_id_column(run_id, n)}
    names = [c for c in parsed.column_names if c not in (layout.JOURNAL_TEXT_KEY, layout.JOURNAL_NONFINITE_KEY)]
    if nonfinite is not None:
        # A column whose only values were NaN/inf exists only inside the _nf marks.
        names += [f.name for f in nonfinite.type if f.name not in names]
    for name in names:
        col = parsed.column(name) if name in parsed.column_names else pa.chunked_array([pa.nulls(n, pa.float64())])
        target = pa.int64() if name == layout.STEP else pa.float64()
        if not pa.types.is_integer(col.type) and not pa.types.is_floating(col.type) and not pa.types.is_null(col.type):
            col = pa.chunked_array([pa.nulls(n, target)])
        col = col.cast(target)
        if nonfinite is not None and name in {f.name for f in nonfinite.type}:
            marks = pc.struct_field(nonfinite, name)
            # From a buffer, not pa.array(), which imports pandas (see run_id_column);
            # the rows without a mark keep `col`'s value, so their 0.0 is never read.
            floats = array("d", [_NONFINITE_VALUES.get(m, 0.0) for m in marks.to_pylist()])
            restored = pa.Array.from_buffers(pa.float64(), n, [None, pa.py_buffer(floats)])
            col = pc.if_else(pc.is_valid(marks), restored, col)
        arrays[name] = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pa.table(arrays)


def write_part(data: bytes, run_id: str, numeric_path: Path, text_path: Path | None) -> bool:
    """Publish one journal segment: its text part first (when it has text and `text_path` is
    given), then its numeric part, for once the numeric part exists the segment counts as
    published. Returns whether a text part was written."""
    numeric, text = journal_to_tables(data, run_id)
    wrote_text = False
    if text is not None and text_path is not None:
        write_parquet_atomic(text, text_path)
        wrote_text = True
    write_parquet_atomic(numeric, numeric_path)
    return wrote_text


def publish_segment(
    journal: Path, unjournaled: bytes, run_id: str, numeric_path: Path, text_path: Path | None
) -> tuple[bool, bool]:
    """write_part() for a closed journal segment, read here from `journal` (plus the rows
    it could not take), so the writer never holds a segment in memory. Returns whether a
    part was written (a segment with no rows left gets none) and whether a text part was."""
    data = read_segment(journal, unjournaled)
    if data.isspace() or not data:  # stops at the first row's '{'; strip() would copy it all
        return False, False
    return True, write_part(data, run_id, numeric_path, text_path)


def rows_to_tables(rows: list[dict[str, Any]], run_id: str) -> tuple[pa.Table, pa.Table | None]:
    """(numeric wide table, long text table or None) for a batch of journal rows.

    The path for text rows and for what Arrow's JSON reader rejects; its pa.array() calls
    import pandas where it is installed, which the all-numeric path never does."""
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    text_key = layout.JOURNAL_TEXT_KEY
    keys.pop(text_key, None)
    n = len(rows)
    arrays: dict[str, pa.Array] = {layout.RUN_ID_COLUMN: run_id_column(run_id, n)}
    for k in keys:
        if k == layout.STEP:
            arrays[k] = pa.array([r.get(k) for r in rows], pa.int64())
        else:
            arrays[k] = pa.array([_as_float(r.get(k)) for r in rows], pa.float64())
    numeric = pa.table(arrays)

    text_rows = [(r.get(layout.STEP), r.get(layout.TIMESTAMP), r[text_key]) for r in rows if text_key in r]
    if not text_rows:
        return numeric, None
    steps, stamps, names, values = [], [], [], []
    for step, stamp, texts in text_rows:
        for k, v in texts.items():
            steps.append(step)
            stamps.append(stamp)
            names.append(k)
            values.append(v if isinstance(v, str) else str(v))
    m = len(steps)
    text = pa.table(
        {
            layout.RUN_ID_COLUMN: run_id_column(run_id, m),
            layout.STEP: pa.array(steps, pa.int64()),
            layout.TIMESTAMP: pa.array(stamps, pa.float64()),
            "key": pa.array(names, pa.string()),
            "value": pa.array(values, pa.string()),
        }
    )
    return numeric, text


def _as_float(v: Any) -> float | None:
    if v is None or type(v) is float:
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Publish `table` at `path`: readers see no file or a complete one, never a torn one."""
    tmp = path.with_name(f"{layout.TMP_PREFIX}{path.name}.{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, **_PARQUET_OPTIONS)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)


_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": [layout.RUN_ID_COLUMN, "key"],
    "write_statistics": [layout.STEP, layout.TIMESTAMP],
}


def merge_parts(directory: Path, parts: list[layout.PartName]) -> list[layout.PartName]:
    """Stream the parts into one file, row group by row group, so memory stays flat."""
    if len(parts) < 2:
        return parts
    parts = sorted(parts, key=lambda p: p.lo)
    paths = [directory / layout.part_name(p.writer, p.lo, p.hi) for p in parts]
    schemas = [pq.read_schema(p) for p in paths]
    fields: dict[str, pa.Field] = {}
    for s in schemas:
        for f in s:
            fields.setdefault(f.name, f)
    schema = pa.schema(list(fields.values()))
    merged = layout.PartName(parts[0].writer, parts[0].lo, parts[-1].hi)
    target = directory / layout.part_name(merged.writer, merged.lo, merged.hi)
    tmp = target.with_name(f"{layout.TMP_PREFIX}{target.name}.{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            with pq.ParquetWriter(f, schema, **_PARQUET_OPTIONS) as writer:
                for path in paths:
                    pf = pq.ParquetFile(path)
                    for i in range(pf.num_row_groups):
                        writer.write_table(_conform(pf.read_row_group(i), schema))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(directory)
    # A crash from here on leaves the small parts beside the merged one; readers skip
    # parts covered by a larger one, so no row is seen twice.
    for path in paths:
        unlink_quietly(path)
    return [merged]


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    n = table.num_rows
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=schema)
