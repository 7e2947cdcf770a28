"""A minimal reader of the documented format, for recorder tests (no viewer code).

It applies docs/format.md's two rules (covered parts, covered journals) with plain
pyarrow, so the recorder is checked against the contract rather than against the viewer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recorder import layout
from recorder.journal import decode_journal


def read_stream(run_dir: Path, stream: str = layout.HISTORY_DIR) -> list[dict]:
    """All rows of a stream, parts then journal tails, each row once."""
    files = layout.live_stream_files(run_dir / stream)
    rows: list[dict] = []
    for part in files.parts:
        rows.extend(pq.read_table(part).to_pylist())
    for journal in files.journals:
        rows.extend(decode_journal(journal.read_bytes()))
    for r in rows:
        r.pop(layout.JOURNAL_TEXT_KEY, None)
    return sorted(rows, key=lambda r: (r.get(layout.STEP) or 0, r.get(layout.TIMESTAMP) or 0))


def all_files_readable(run_dir: Path) -> list[str]:
    """Names of published files that fail to read (must be empty)."""
    bad = []
    for path in run_dir.rglob("*.parquet"):
        if path.name.startswith(layout.TMP_PREFIX):
            continue
        try:
            pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            bad.append(f"{path.name}: {exc}")
    return bad


def history(run) -> list[dict]:
    """A run's history rows as any DuckDB user would read them after finish()."""
    glob = os.path.join(run.dir, "history", "*.parquet")
    rel = duckdb.sql("SELECT * FROM read_parquet(?, union_by_name=true) ORDER BY _step", params=[glob])
    assert rel is not None  # a SELECT always has a relation
    cols = rel.columns
    return [dict(zip(cols, row)) for row in rel.fetchall()]


def read_json(run, name: str):
    """One of a run's JSON files, parsed."""
    return json.loads((Path(run.dir) / name).read_text())
