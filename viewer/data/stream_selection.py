"""What a query over some runs' history, system or text reads: their checked Parquet parts,
their journal rows as one table, every column, and per run its metric keys.

    parts, journal, columns, keys = select_stream(streams, "history", infos, read_metrics)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from recorder.journal import metric_columns
from viewer.data.metric_columns import keys_of_run
from viewer.data.runs_table import RunInfo
from viewer.data.stream_files import StreamCache

__all__ = ["BASE_COLUMNS", "StreamSelection", "select_stream"]

# The columns every row of a stream has, besides its metrics.
BASE_COLUMNS = {
    "history": {"run_id", "_step", "_timestamp", "_runtime"},
    "system": {"run_id", "_timestamp", "_runtime"},
    "text": {"run_id", "_step", "_timestamp", "key", "value"},
}

StreamSelection = tuple[list[Path], pa.Table | None, set[str], dict[str, dict[str, str]]]


def select_stream(
    streams: StreamCache,
    stream: str,
    infos: Sequence[RunInfo],
    read_metrics: Callable[[Path], dict[str, Any]],
) -> StreamSelection:
    """Files and journal rows of the runs' stream, every column, and per run its metric
    keys -> columns (viewer.data.metric_columns)."""
    parts: list[Path] = []
    tables = []
    columns: set[str] = set(BASE_COLUMNS[stream])
    keys: dict[str, dict[str, str]] = {}
    for info in infos:
        rf = streams.run_files(info.path)
        parts.extend(p.path for p in rf.parts[stream])
        own = rf.columns(stream)
        if rf.journals[stream]:
            t = streams.journal_table(stream, info.id, rf.journals[stream])
            if t is not None:
                tables.append(t)
                own |= set(t.column_names)
        columns |= own
        # Only history columns are renamed by the recorder (metrics.json "columns").
        renamed = metric_columns(read_metrics(info.path)) if stream == "history" else {}
        keys[info.id] = keys_of_run(own - BASE_COLUMNS[stream], renamed)
    journal = pa.concat_tables(tables, promote_options="default") if tables else None
    return parts, journal, columns, keys
