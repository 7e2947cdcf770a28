"""History rows given as keys and JSON number texts, built into one numeric Arrow table.

An importer that reads many rows at once (wandb_history.py) has every row's keys and
value texts in two flat lists and how many items each row has. Decoding them one by one
in Python costs more than the rest of an import; here the texts become numbers in one
Arrow cast and each key's items are gathered into its column with Arrow's kernels.

The table is the one recorder.parquet_parts builds from journal rows of plain numbers:
run_id, then one column per key in the order the keys first appear, `_step` int64 and
every other column float64, null where a row lacks the key. None when any row needs the
per-row path: a text that is not a finite JSON number, a key twice in a row, a row
without `_step`, `_timestamp` or `_runtime`.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import accumulate

import pyarrow as pa
import pyarrow.compute as pc

from recorder import layout
from recorder.parquet_parts import run_id_column

_ROW_KEYS = (layout.STEP, layout.TIMESTAMP, layout.RUNTIME)


def json_rows_table(
    run_id: str, keys: list[str], texts: list[str], counts: list[int], columns: Mapping[str, str]
) -> pa.Table | None:
    """The rows' table, `keys` named by their `columns`; None when a row needs the per-row path."""
    n = len(counts)
    if not n or len(keys) != len(texts) or sum(counts) != len(keys):
        return None
    encoded = pa.array(keys, pa.string()).dictionary_encode()
    names: list[str] = encoded.dictionary.to_pylist()
    if any(k not in names for k in _ROW_KEYS):
        return None
    offsets = pa.array(list(accumulate(counts, initial=0)), pa.int64())
    row_of_item = pc.list_parent_indices(pa.LargeListArray.from_arrays(offsets, encoded.indices))
    strings = pa.array(texts, pa.string())
    try:
        numbers = strings.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # text, true/false, null, a media or list value
    # Arrow reads 'nan' and 'inf', which JSON has not: those rows keep NaN's own encoding.
    if numbers.null_count or not pc.all(pc.is_finite(numbers)).as_py():
        return None
    every_row = pa.array(range(n), row_of_item.type)
    arrays: dict[str, pa.Array] = {layout.RUN_ID_COLUMN: run_id_column(run_id, n)}
    for i, name in enumerate(names):
        mine = pc.equal(encoded.indices, i)
        rows = pc.filter(row_of_item, mine)
        if name == layout.STEP:
            try:
                values = pc.filter(strings, mine).cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None  # a step written as 1.0 or 1e3
        else:
            values = pc.filter(numbers, mine)
        if len(rows) == n:
            if not rows.equals(every_row):
                return None  # a key twice in a row
            arrays[columns[name]] = values
        elif name in _ROW_KEYS or pc.count_distinct(rows).as_py() != len(rows):
            return None
        else:
            # rows is ascending: the values land in the rows that have the key, in order.
            present = pc.is_in(every_row, value_set=rows)
            arrays[columns[name]] = pc.replace_with_mask(pa.nulls(n, values.type), present, values)
    return pa.table(arrays)
