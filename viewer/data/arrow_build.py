"""Arrow arrays from Python lists without pyarrow.array(), which imports pandas.

    column(values, type) -> pa.Array    # None is null; types: string, int64, float64,
                                        # bool, timestamp[us, tz], list<string>
    rows(table) / values(array)         # to_pylist() without pandas

pyarrow.array() asks whether its input is a pandas object before it converts a plain
list, and that question imports pandas (a third of a second on this machine) whenever
it is installed. `loupe ls`, `loupe sql` and the dashboard never return a DataFrame, so
they build their few columns here, from raw buffers, the way Arrow lays them out.
Converting a time-zone-aware timestamp back to Python also goes through pandas, so
rows() and values() do that conversion themselves.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

__all__ = ["column", "rows", "values"]


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    nulls = sum(1 for v in values if v is None)
    if nulls == 0:
        return None, 0
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bytes(bits)), nulls


def _strings(values: Sequence[str | None]) -> pa.Array:
    validity, nulls = _validity(values)
    offsets = array("i", [0])
    chunks = []
    n = 0
    for v in values:
        if v is not None:
            b = v.encode("utf-8", "replace")
            chunks.append(b)
            n += len(b)
        offsets.append(n)
    if n >= 2**31:
        return pa.Array.from_buffers(
            pa.large_string(),
            len(values),
            [validity, pa.py_buffer(array("q", offsets).tobytes()), pa.py_buffer(b"".join(chunks))],
            nulls,
        ).cast(pa.string())
    return pa.Array.from_buffers(
        pa.string(), len(values), [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(chunks))], nulls
    )


def _fixed(values: Sequence[Any], typ: pa.DataType, code: str, zero: Any) -> pa.Array:
    validity, nulls = _validity(values)
    data = array(code, [zero if v is None else v for v in values])
    return pa.Array.from_buffers(typ, len(values), [validity, pa.py_buffer(data.tobytes())], nulls)


def _bools(values: Sequence[bool | None]) -> pa.Array:
    validity, nulls = _validity(values)
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bytes(bits))], nulls)


def _string_lists(values: Sequence[Sequence[str] | None]) -> pa.Array:
    validity, nulls = _validity(values)
    offsets = array("i", [0])
    flat: list[str | None] = []
    for v in values:
        if v is not None:
            flat.extend(v)
        offsets.append(len(flat))
    child = _strings(flat)
    return pa.ListArray.from_buffers(
        pa.list_(pa.string()), len(values), [validity, pa.py_buffer(offsets.tobytes())], nulls, children=[child]
    )


def column(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    """`values` as an Arrow array of `typ` (timestamps: datetime objects or None); types
    not listed above go through pyarrow.array()."""
    if pa.types.is_string(typ):
        return _strings(values)
    if pa.types.is_int64(typ):
        return _fixed(values, typ, "q", 0)
    if pa.types.is_float64(typ):
        return _fixed([None if v is None else float(v) for v in values], typ, "d", 0.0)
    if pa.types.is_boolean(typ):
        return _bools(values)
    if pa.types.is_timestamp(typ):
        us = [None if v is None else round(v.timestamp() * 1_000_000) for v in values]
        return _fixed(us, typ, "q", 0)
    if pa.types.is_list(typ) and pa.types.is_string(typ.value_type):
        return _string_lists(values)
    return pa.array(values, typ)  # any other type: pyarrow's own conversion


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def values(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """arr.to_pylist(), except that a timestamp with a time zone becomes a UTC datetime
    here: pyarrow converts those through pandas."""
    typ = arr.type
    if pa.types.is_timestamp(typ) and typ.tz is not None:
        per_us = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}[typ.unit]
        out: list[Any] = []
        for v in arr.cast(pa.int64()).to_pylist():
            out.append(None if v is None else _EPOCH + dt.timedelta(microseconds=int(v * per_us)))
        return out
    return arr.to_pylist()


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """table.to_pylist() without pandas (see values())."""
    if not any(pa.types.is_timestamp(f.type) and f.type.tz is not None for f in table.schema):
        return table.to_pylist()
    cols = [values(table.column(i)) for i in range(table.num_columns)]
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)] if cols else []
