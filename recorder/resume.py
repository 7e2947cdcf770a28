"""What a resumed run needs from its earlier life: the last step it logged."""

from __future__ import annotations

from pathlib import Path

from recorder import layout
from recorder.journal import decode_journal


def last_logged_step(run_dir: Path) -> int | None:
    """Largest _step in the run's history parts and journals, or None if nothing was logged."""
    files = layout.live_stream_files(run_dir / layout.HISTORY_DIR)
    best: int | None = None
    if files.parts:
        import pyarrow.parquet as pq

        for path in files.parts:
            try:
                meta = pq.ParquetFile(path).metadata
                idx = meta.schema.to_arrow_schema().get_field_index(layout.STEP)
                for rg in range(meta.num_row_groups):
                    stats = meta.row_group(rg).column(idx).statistics
                    if stats is not None and stats.has_min_max:
                        best = stats.max if best is None else max(best, stats.max)
            except Exception:
                continue
    for path in files.journals:
        try:
            rows = decode_journal(path.read_bytes())
        except OSError:
            continue
        for row in rows:
            s = row.get(layout.STEP)
            if isinstance(s, int):
                best = s if best is None else max(best, s)
    return best
