"""Reading back a run's logged media in the media tests: finish it, and its history's text values."""

from __future__ import annotations

import glob
from pathlib import Path

import pyarrow.parquet as pq


def finished(run) -> Path:
    """Finish `run` (its media are flushed) and return its folder."""
    run.finish()
    return Path(run.dir)


def text_values(run_dir: Path) -> dict[tuple[int, str], str]:
    """(step, key) -> value of every text row, where a media item's reference is kept."""
    out = {}
    for p in glob.glob(str(run_dir / "text" / "*.parquet")):
        for r in pq.read_table(p).to_pylist():
            out[(r["_step"], r["key"])] = r["value"]
    return out
