"""History rows given as keys and JSON number texts, built into one numeric Arrow table.

An importer that reads many rows at once (wandb_history.py) has every row's keys and
value texts in two flat sequences and how many items each row has. Decoding them one
by one in Python costs more than the rest of an import; here the texts become numbers
in one Arrow cast and each key's items are gathered into its column with Arrow's
kernels. Arrays are made from buffers, not from Python lists: pa.array() on a list
imports pandas when it is installed (a third of a second).

The table is the one recorder.parquet_parts builds from journal rows of plain numbers:
run_id, then one column per key in the order the keys first appear, `_step` int64 and
every other column float64, null where a row lacks the key. None when any row needs the
per-row path: a text that is not a finite JSON number, a key twice in a row, a row
without `_step`, `_timestamp` or `_runtime`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from itertools import accumulate

import pyarrow as pa
import pyarrow.compute as pc

from recorder import layout
from recorder.parquet_parts import run_id_column

_ROW_KEYS = (layout.STEP, layout.TIMESTAMP, layout.RUNTIME)


def _ints(values: array[int]) -> pa.Array:
    kind = pa.int64() if values.itemsize == 8 else pa.int32()
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _strings(texts: Iterable[str]) -> pa.Array:
    """The texts as an Arrow array, through one joined string that Arrow splits (a text
    holding a newline would split in two: the caller compares the counts)."""
    joined = "\n".join(texts).encode()
    whole = pa.LargeStringArray.from_buffers(1, pa.py_buffer(array("q", [0, len(joined)])), pa.py_buffer(joined))
    return pc.split_pattern(whole, "\n").flatten()


class JsonRows:
    """Rows as every row's keys and JSON texts in turn, and how many items each row has."""

    def __init__(self, keys: Iterable[str], texts: Iterable[str], counts: list[int]) -> None:
        encoded = _strings(keys).dictionary_encode()
        self.codes: pa.Array = encoded.indices
        self.keys: list[str] = encoded.dictionary.to_pylist()  # each once, in the order they first appear
        self.strings = _strings(texts)
        self.counts = counts

    def table(self, run_id: str, columns: Mapping[str, str]) -> tuple[pa.Table, dict[str, str]] | None:
        """(the rows' table with `keys` named by their `columns`, each key's last text), or
        None when a row needs the per-row path."""
        n = len(self.counts)
        items = len(self.codes)
        if not n or len(self.strings) != items or sum(self.counts) != items:
            return None
        if any(k not in columns for k in _ROW_KEYS):
            return None
        strings = self.strings
        try:
            numbers = strings.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # text, true/false, null, a media or list value
        # Arrow reads 'nan' and 'inf', which JSON has not: those rows keep NaN's own encoding.
        if numbers.null_count or not pc.all(pc.is_finite(numbers)).as_py():
            return None
        codes = self.codes
        row_ends = _ints(array("q", accumulate(self.counts, initial=0)))
        row_of_item = pc.list_parent_indices(pa.LargeListArray.from_arrays(row_ends, codes))
        every_row = _ints(array("q", range(n))).cast(row_of_item.type)
        key_codes = _ints(array("i", range(len(self.keys))))
        arrays: dict[str, pa.Array] = {layout.RUN_ID_COLUMN: run_id_column(run_id, n)}
        last: dict[str, str] = {}
        for i, key in enumerate(self.keys):
            mine = pc.equal(codes, key_codes[i])
            rows = pc.filter(row_of_item, mine)
            texts = pc.filter(strings, mine)
            last[key] = texts[-1].as_py()
            if key == layout.STEP:
                try:
                    values = texts.cast(pa.int64())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    return None  # a step written as 1.0 or 1e3
            else:
                values = pc.filter(numbers, mine)
            if len(rows) == n:
                if not rows.equals(every_row):
                    return None  # a key twice in a row
                arrays[columns[key]] = values
            elif key in _ROW_KEYS or pc.count_distinct(rows).as_py() != len(rows):
                return None
            else:
                # rows is ascending: the values land in the rows that have the key, in order.
                present = pc.is_in(every_row, value_set=rows)
                arrays[columns[key]] = pc.replace_with_mask(pa.nulls(n, values.type), present, values)
        return pa.table(arrays), last
