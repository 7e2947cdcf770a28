"""DuckDB views over the media of every run under some roots (media, images, histograms, ...).

    register(con, roots)   views media, images, histograms, histogram_bins, tables

One of the Store's VIEW_PROVIDERS; the records come from viewer.data.media_index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from recorder import layout
from viewer.data.arrow_build import column
from viewer.data.media_index import plain_schema, read_index, resolve

__all__ = ["VIEWS", "media_table", "register", "run_dirs"]


def run_dirs(roots: Any) -> list[Path]:
    """Run directories under each root: a run, a project (root/run) or a LOUPE_DIR (root/project/run)."""
    if isinstance(roots, (str, Path)):
        roots = [roots]
    found: dict[Path, None] = {}
    for root in map(Path, roots):
        if layout.is_run_dir(root):
            found[root] = None
            continue
        for depth in ("*", "*/*"):
            for d in sorted(root.glob(depth)):
                if d.name.startswith((".", "_")) or not d.is_dir():
                    continue
                if layout.is_run_dir(d):
                    found[d] = None
    return list(found)


def media_table(roots: Any, dirs: list[Path] | None = None) -> pa.Table:
    """All media records under `roots` (or of the runs `dirs`), with `project` and `file`
    (absolute path) added."""
    pieces = []
    for d in run_dirs(roots) if dirs is None else dirs:
        t = read_index(d)
        if t.num_rows == 0:
            continue
        files = [str(p) if (p := resolve(d, rel)) is not None else None for rel in t.column("path").to_pylist()]
        t = t.append_column("project", column([d.parent.name] * t.num_rows, pa.string()))
        t = t.append_column("file", column(files, pa.string()))
        pieces.append(t)
    if not pieces:
        s = plain_schema().append(pa.field("project", pa.string())).append(pa.field("file", pa.string()))
        return pa.Table.from_batches([], schema=s)  # Schema.empty_table() imports pandas
    return pa.concat_tables(pieces)


VIEWS = {
    "images": """SELECT run_id, project, _step, _timestamp, key, idx, file, width, height, caption
                 FROM media WHERE kind = 'image'""",
    "histograms": """SELECT run_id, project, _step, _timestamp, key, bins, counts
                     FROM media WHERE kind = 'histogram'""",
    "histogram_bins": """SELECT run_id, project, _step, key, i - 1 AS bin, bins[i] AS lo, bins[i + 1] AS hi,
                                counts[i] AS count
                         FROM (SELECT run_id, project, _step, key, bins, counts,
                                      generate_subscripts(counts, 1) AS i FROM histograms)""",
    "tables": """SELECT run_id, project, _step, _timestamp, key, kind, chart, file, nrows, columns, spec
                 FROM media WHERE kind IN ('table', 'plot')""",
}


def register(con: Any, roots: Any, run_dirs: list[Path] | None = None) -> None:
    """Create (or replace) DuckDB views over the media of every run under `roots`.

    media           one row per logged item (all index columns, plus project and file)
    images          run_id, project, _step, _timestamp, key, idx, file, width, height, caption
    histograms      run_id, project, _step, _timestamp, key, bins list<double>, counts list<double>
    histogram_bins  run_id, project, _step, key, bin, lo, hi, count (one row per bin)
    tables          run_id, project, _step, _timestamp, key, kind, chart, file, nrows, columns, spec
                    -> the data: SELECT * FROM read_parquet('<file>')

    A snapshot of the index at call time: call again to see newer records. `run_dirs`:
    the runs to read (a Store passes those it knows to have media), else all under `roots`.
    """
    con.register("_loupe_media_records", media_table(roots, run_dirs))
    con.execute("CREATE OR REPLACE TEMP VIEW media AS SELECT * FROM _loupe_media_records")
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
