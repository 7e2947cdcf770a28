"""The media index: one record per logged media item, journal + Parquet parts.

Uses the history stream's machinery (crash-safe journal on append, atomic Parquet
parts, compaction, layout.live_stream_files for readers) with a fixed schema.
"""

from __future__ import annotations

from typing import Any

from recorder import layout
from recorder.journal import decode_journal
from recorder.stream_writer import StreamWriter, unlink_quietly

# column -> Arrow type name; docs/format.md "media" documents each one.
COLUMNS = {
    "run_id": "dictionary<string>",
    "_step": "int64",
    "_timestamp": "double",
    "key": "string",
    "kind": "string",
    "idx": "int64",
    "path": "string",
    "format": "string",
    "width": "int64",
    "height": "int64",
    "caption": "string",
    "bins": "list<double>",
    "counts": "list<double>",
    "nrows": "int64",
    "columns": "list<string>",
    "chart": "string",
    "spec": "string",
}


def schema():
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "double": pa.float64(),
        "string": pa.string(),
        "list<double>": pa.list_(pa.float64()),
        "list<string>": pa.list_(pa.string()),
        "dictionary<string>": pa.dictionary(pa.int32(), pa.string()),
    }
    return pa.schema([pa.field(name, types[t]) for name, t in COLUMNS.items()])


def records_to_table(records: list[dict[str, Any]], run_id: str):
    import pyarrow as pa

    s = schema()
    n = len(records)
    arrays = []
    for field in s:
        if field.name == layout.RUN_ID_COLUMN:
            arrays.append(pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([run_id])))
        else:
            arrays.append(pa.array([r.get(field.name) for r in records], field.type))
    return pa.Table.from_arrays(arrays, schema=s)


class MediaIndexWriter(StreamWriter):
    """A StreamWriter whose rows are media records rather than metric rows."""

    def _publish(self, seq: int, rows: Any) -> None:
        from recorder.parquet_parts import write_parquet_atomic

        # The base class buffers encoded journal lines (bytes); decode them the way a
        # reader decodes the journal, so part and journal always agree.
        if isinstance(rows, (bytes, bytearray)):
            rows = decode_journal(bytes(rows))
        elif rows and isinstance(rows[0], (bytes, bytearray)):
            rows = decode_journal(b"".join(rows))
        table = records_to_table(rows, self.run_id)
        write_parquet_atomic(table, self.directory / layout.part_name(self.writer_id, seq, seq))
        self._parts.append(layout.PartName(self.writer_id, seq, seq))
        unlink_quietly(self.directory / layout.journal_name(self.writer_id, seq))
