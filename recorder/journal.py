"""How the recorder spells what it writes, for writers and readers alike.

The file contract has two modules: `recorder.layout` says where every file is and what
it is called; this one says how lines and values inside them are encoded:

- journal rows (history, system, text, media index): one JSON object per line, NaN
  and +-inf kept apart under `_nf` because JSON has neither;
- the media index's columns and Arrow types (pyarrow is imported only when a table is built);
- console log lines: `2026-11-29T14:08:12.123Z O text` (UTC with milliseconds, O/E);
- ISO-8601 times in the JSON sidecars: UTC, microseconds, Z.

Only the standard library and orjson at import time, so training code and the viewer import
it cheaply.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import time
from typing import Any

import orjson

from recorder import layout

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}


def encode_row(row: dict[str, Any]) -> bytes:
    """One journal line; a leading newline fences off any line torn by a failed write."""
    line = orjson.dumps(row)
    if b"null" in line:
        line = orjson.dumps(_with_nonfinite_marked(row))
    return b"\n" + line


def _with_nonfinite_marked(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN/inf (orjson writes null); keep them apart so a reader restores them.
    clean: dict[str, Any] = {}
    marked: dict[str, str] = {}
    for k, v in row.items():
        if type(v) is float and not math.isfinite(v):
            marked[k] = "nan" if v != v else _NONFINITE[v]
        else:
            clean[k] = v
    if marked:
        clean[layout.JOURNAL_NONFINITE_KEY] = marked
    return clean


def decode_journal(data: bytes) -> list[dict[str, Any]]:
    """Rows of a journal; torn or garbled lines (a crash mid-write) are skipped."""
    rows = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        marked = row.pop(layout.JOURNAL_NONFINITE_KEY, None)
        if isinstance(marked, dict):
            for k, v in marked.items():
                row[k] = float(v) if v in ("nan", "inf", "-inf") else None
        rows.append(row)
    return rows


# -- the media index ----------------------------------------------------------------

# column -> Arrow type name; docs/format.md "media" documents each one.
MEDIA_INDEX_COLUMNS = {
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


def media_index_schema() -> Any:
    """The media index's pyarrow schema (as written in its Parquet parts)."""
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "double": pa.float64(),
        "string": pa.string(),
        "list<double>": pa.list_(pa.float64()),
        "list<string>": pa.list_(pa.string()),
        "dictionary<string>": pa.dictionary(pa.int32(), pa.string()),
    }
    return pa.schema([pa.field(name, types[t]) for name, t in MEDIA_INDEX_COLUMNS.items()])


def media_index_table(records: list[dict[str, Any]], run_id: str) -> Any:
    """Media index records (decoded journal rows) as a pyarrow Table of the index schema;
    raises pyarrow's errors when a record holds a value its column cannot take."""
    import pyarrow as pa

    s = media_index_schema()
    n = len(records)
    arrays = []
    for field in s:
        if field.name == layout.RUN_ID_COLUMN:
            arrays.append(pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([run_id])))
        else:
            arrays.append(pa.array([r.get(field.name) for r in records], field.type))
    return pa.Table.from_arrays(arrays, schema=s)


# -- console log lines ----------------------------------------------------------

_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([OE]) (.*)$", re.DOTALL)


def format_log_time(t: float) -> str:
    ms = int((t % 1.0) * 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{min(ms, 999):03d}Z"


def parse_log_line(line: str) -> tuple[str | None, str, str]:
    """(ISO time or None, 'O' or 'E', text) of one output.log line.

    Lines not in the format (a log written by something else, a torn last line) come
    back whole as stdout text with no time, so a reader never has to reject a line.
    """
    if line.endswith("\n"):
        line = line[:-1]
    m = _LINE_RE.match(line)
    if m is None:
        return None, "O", line
    return m.group(1), m.group(2), m.group(3)


# -- times in the JSON sidecars -----------------------------------------------------

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime(FORMAT)


def parse_iso(value: Any) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (ours, or any with or without a zone,
    taken as UTC when it has none); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.timestamp()
