"""`ApiRun.history()` and `ApiRun.scan_history()`: wandb's two ways of reading history.

    history(streams, samples=500, keys=None, x_axis="_step", stream="default") -> pyarrow.Table
    scan_history(streams, keys=None, page_size=1000, min_step=None, max_step=None) -> iterator of dicts

As in wandb: with `keys`, only rows where every key (and the x axis) has a value, with
just those columns; without, every column. history() samples: when more rows qualify
than `samples`, it keeps `samples` of them evenly spaced in step order, the first and
the last always among them. scan_history() gives every row (steps `min_step` to
`max_step - 1`), each dict holding only the keys logged at that step, reading
`page_size` rows at a time.

Values are what the files hold: numbers as float64, `_step` as int, strings logged
with log() (and media references, as their JSON text) from the text stream. Columns
renamed because of a case clash (`Loss#2`, docs/format.md) come back under the key
as logged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recorder import layout
from recorder.journal import metric_columns, read_json_object
from recorder.stream_reader import RowShape, RunStreams

STREAMS = {"default": layout.HISTORY_DIR, "system": layout.SYSTEM_DIR}


def stream_dir(stream: str) -> str:
    if stream not in STREAMS:
        raise ValueError(f"stream {stream!r}: use 'default' (history) or 'system' (system metrics)")
    return STREAMS[stream]


def check_keys(keys: Any) -> list[str] | None:
    if keys is None:
        return None
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise ValueError("keys must be a list of metric names (strings)")
    return list(keys)


def column_of(streams: RunStreams) -> dict[str, str]:
    """key -> column for keys whose column was renamed (metrics.json "columns")."""
    return metric_columns(read_json_object(streams.run_dir / layout.METRICS_FILE))


def sample_positions(n: int, samples: int) -> list[int]:
    """`samples` row positions out of `n`, evenly spaced, first and last included."""
    if n <= samples:
        return list(range(n))
    if samples == 1:
        return [n - 1]
    span = samples - 1
    # Rounded exactly in integers: position i of `samples` lies at i * (n - 1) / span.
    return [(2 * i * (n - 1) + span) // (2 * span) for i in range(samples)]


def history(
    streams: RunStreams, samples: int = 500, keys: Any = None, x_axis: str = layout.STEP, stream: str = "default"
) -> pa.Table:
    keys = check_keys(keys)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be a positive integer, not {samples!r}")
    directory = stream_dir(stream)
    if directory == layout.SYSTEM_DIR and x_axis == layout.STEP:
        x_axis = layout.TIMESTAMP  # system samples have no step
    renamed = column_of(streams) if directory == layout.HISTORY_DIR else {}
    if keys:
        wanted = list(dict.fromkeys([x_axis, *keys]))
        columns = [renamed.get(k, k) for k in wanted]
        table = streams.table(directory, list(dict.fromkeys([*columns, layout.STEP])))
        table = _with_text(streams, table, dict(zip(wanted, columns)), directory)
        mask = functools.reduce(pc.and_, [pc.is_valid(table.column(c)) for c in columns])
        table = table.filter(mask).select(columns).rename_columns(wanted)
        return _sampled(table, samples)
    table = streams.table(directory)
    table = _sampled(table, samples)
    logical = {c: k for k, c in renamed.items()}
    table = table.rename_columns([logical.get(c, c) for c in table.column_names])
    if directory == layout.HISTORY_DIR and layout.STEP in table.column_names:
        steps = table.column(layout.STEP).to_pylist()
        texts = streams.texts()
        for key in sorted({k for step in steps for k in texts.get(step, {})} - set(table.column_names)):
            table = table.append_column(key, pa.array([texts.get(s, {}).get(key) for s in steps], pa.string()))
    return table


def _sampled(table: pa.Table, samples: int) -> pa.Table:
    return table.take(pa.array(sample_positions(table.num_rows, samples), pa.int64()))


def _with_text(streams: RunStreams, table: pa.Table, column_for: dict[str, str], directory: str) -> pa.Table:
    """Fill a wanted column that holds no number from the strings logged under its key."""
    if directory != layout.HISTORY_DIR:
        return table
    empty = {k: c for k, c in column_for.items() if c != layout.STEP and table.column(c).null_count == table.num_rows}
    if not empty:
        return table
    texts = streams.texts(set(empty))
    steps = table.column(layout.STEP).to_pylist()
    for key, col in empty.items():
        values = pa.array([texts.get(s, {}).get(key) for s in steps], pa.string())
        table = table.set_column(table.column_names.index(col), col, values)
    return table


def scan_history(
    streams: RunStreams,
    keys: Any = None,
    page_size: int = 1000,
    min_step: int | None = None,
    max_step: int | None = None,
) -> Iterator[dict[str, Any]]:
    keys = check_keys(keys)
    renamed = column_of(streams)
    logical = {c: k for k, c in renamed.items()}
    if keys is None:
        shape = RowShape(rename=logical, sparse=True)
        return _with_strings(streams.texts(), streams.rows(layout.HISTORY_DIR, shape, min_step, max_step, page_size))
    texts = streams.texts(set(keys))
    text_keys = {k for logged in texts.values() for k in logged}
    # Keys that hold only numbers are checked a page at a time in Arrow, not row by row.
    shape = RowShape(
        columns=list(dict.fromkeys([layout.STEP, *(renamed.get(k, k) for k in keys)])),
        rename=logical,
        required=tuple(renamed.get(k, k) for k in keys if k not in text_keys),
        emit=None if text_keys else tuple(keys),
    )
    rows = streams.rows(layout.HISTORY_DIR, shape, min_step, max_step, page_size)
    return _picked(texts, rows, keys) if text_keys else rows


def _with_strings(texts: dict[int, dict[str, str]], rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if not texts:
        yield from rows
        return
    for row in rows:
        logged = texts.get(row.get(layout.STEP, -1))
        if logged:
            for k, v in logged.items():
                row.setdefault(k, v)
        yield row


def _picked(
    texts: dict[int, dict[str, str]], rows: Iterator[dict[str, Any]], keys: list[str]
) -> Iterator[dict[str, Any]]:
    for row in rows:
        logged = texts.get(row.get(layout.STEP, -1), {})
        picked = {}
        for k in keys:
            v = row.get(k)
            if v is None:
                v = logged.get(k)
                if v is None:
                    break
            picked[k] = v
        else:
            yield picked
