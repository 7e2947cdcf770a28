"""Every file the stream and log views read, as one Arrow table, remembered per root.

    tables = PartTables(roots, run_files, kept_listings)
    table = tables.table_for(runs)            # the table for a refresh's runs, with `ord`
    tables.forget()                           # list every run again next time
    table = part_table(entries)               # entries: (run_id, run dir, RunStreamFiles)
    digest = listing_digest(listings)         # listings: a table of (id, path, listing) rows
    table = load_part_table(root, digest)     # None: none saved for these listings
    save_part_table(root, digest, table)

One row per file: `kind` is a stream ("history", "system", "text") for a Parquet part,
"<stream>-journal" for a journal, "log" for output.log and "media" for a run directory
that may hold media; `cols` is a part's column set (sorted, "\\x1f"-joined) so parts
that share one are read by one read_parquet(); `path` is glob-escaped for DuckDB's
readers except for "log" rows' `raw` twin, which is the name DuckDB reports back.

Why it exists: at 10,000 runs, turning each run's catalog listing into paths (~0.6 s)
and handing DuckDB 30,000 paths as SQL text (~0.3 s to parse) were most of
viewer.connect(). The views now read lists that DuckDB builds from this table itself
(SET VARIABLE ... = (SELECT list(path) ...)), and a second open loads the table saved
beside the root's catalog instead of rebuilding it. It is a cache like the catalog: it
is used only when the digest of the listings it was made from matches, so a stale or
foreign one is never read, and deleting it costs one rebuild.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import pyarrow as pa
import pyarrow.ipc

from recorder import layout
from viewer.data.arrow_build import column
from viewer.data.run_catalog import CATALOG_FILE, catalog_file, read_arrow_file, write_arrow_file
from viewer.data.sql import escape_path
from viewer.data.stream_files import RunStreamFiles

__all__ = ["COLS_SEP", "PartTables", "listing_digest", "load_part_table", "part_table", "save_part_table"]

COLS_SEP = "\x1f"
_VERSION = "1"
_FILE = f"part-lists-v{_VERSION}.arrow"
_META_DIGEST = b"loupe.part_lists.digest"
SCHEMA = pa.schema(
    [("kind", pa.string()), ("run_id", pa.string()), ("cols", pa.string()), ("path", pa.string()), ("raw", pa.string())]
)


def part_table(entries: Iterable[tuple[str, str, RunStreamFiles]]) -> pa.Table:
    """The rows for these runs, in their order."""
    kind: list[str] = []
    run: list[str] = []
    cols: list[str | None] = []
    path: list[str] = []
    raw: list[str] = []
    sep = os.sep
    for run_id, run_dir, rf in entries:
        for stream in layout.STREAM_DIRS:
            for p in rf.parts.get(stream, ()):
                kind.append(stream)
                run.append(run_id)
                cols.append(COLS_SEP.join(sorted(p.columns)))
                path.append(escape_path(p.path_str))
                raw.append(p.path_str)
            for j in rf.journals.get(stream, ()):
                kind.append(f"{stream}-journal")
                run.append(run_id)
                cols.append(None)
                path.append(str(j))
                raw.append(str(j))
        if rf.has_log:
            log = f"{run_dir}{sep}{layout.OUTPUT_LOG}"
            kind.append("log")
            run.append(run_id)
            cols.append(None)
            path.append(escape_path(log))
            raw.append(log)
        if rf.has_media is not False:  # None: not known to lack media
            kind.append("media")
            run.append(run_id)
            cols.append(None)
            path.append(run_dir)
            raw.append(run_dir)
    arrays = [column(v, pa.string()) for v in (kind, run, cols, path, raw)]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def listing_digest(listings: pa.Table) -> str:
    """A digest of (id, path, listing) rows: equal only for the same runs with the same
    listings (the ids are in the rows, so they are in the digest). Taken over the table's
    Arrow IPC bytes, not over Python strings: 10,000 runs (5 MB of listings) in ~4 ms
    instead of ~15 ms. A table chunked differently digests differently, which costs one
    rebuild, never a wrong answer."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, listings.schema) as w:
        w.write_table(listings.combine_chunks())
    h = hashlib.sha256(f"{_VERSION}\0".encode())  # SHA-256: the CPU's SHA instructions
    h.update(memoryview(sink.getvalue()))
    return h.hexdigest()[:32]


def _memo_path(root: Path) -> Path | None:
    # Beside the catalog, under the same name prefix in the user cache (a read-only root).
    catalog = catalog_file(root)
    if catalog is None:
        return None
    return catalog.with_name(catalog.name.removesuffix(CATALOG_FILE) + _FILE)


def load_part_table(root: Path, digest: str) -> pa.Table | None:
    """The table saved for `root` when it was made from listings with this digest."""
    path = _memo_path(root)
    if path is None:
        return None
    try:
        table = read_arrow_file(path)
    except Exception:  # none yet, truncated, garbage: made again and saved over
        return None
    if (table.schema.metadata or {}).get(_META_DIGEST) != digest.encode() or not table.schema.equals(
        SCHEMA, check_metadata=False
    ):
        return None
    return table.replace_schema_metadata(None)


def save_part_table(root: Path, digest: str, table: pa.Table) -> None:
    """Save beside the root's catalog (atomically); a failure costs only the next open's time."""
    path = _memo_path(root)
    if path is None:
        return
    try:
        write_arrow_file(path, table, {_META_DIGEST: digest.encode()})
    except (OSError, pa.ArrowException):
        pass


class RunAt(Protocol):
    """A run as the views know it (viewer.data.view_connection.RunPlace)."""

    id: str
    path_str: str


Run = TypeVar("Run", bound=RunAt)


class PartTables(Generic[Run]):
    """The part table for a refresh's runs, each root's share remembered by its digest.

    Runs whose listing the catalog keeps come from their root's saved table when the
    listings are the ones it was made from; the others are listed now (live runs, runs
    read anew). Each root's kept rows are slices of the catalog's columns, digested as
    Arrow bytes: a digest over Python strings was a tenth of viewer.connect() at 10,000
    runs. (No pyarrow.compute here: importing it costs ~25 ms, more than it would save.)
    """

    def __init__(
        self,
        roots: Sequence[Path],
        run_files: Callable[[Run], RunStreamFiles],
        kept_listings: Callable[[], pa.Table] | None,
    ) -> None:
        self._roots = roots
        self._run_files = run_files
        # The run catalog's (id, path, listing) of each run, in the order of the runs
        # given to table_for(); listing (stream_files.files_to_json) null where not kept.
        self._kept_listings = kept_listings
        self._memo: dict[int, tuple[str, pa.Table]] = {}  # root index -> (digest, its rows)

    def forget(self) -> None:
        self._memo = {}

    def table_for(self, runs: Sequence[Run]) -> pa.Table:
        """Every file of `runs`, in their order, with an `ord` column numbering the rows."""
        tables = []
        owner: list[int | None] = [None] * len(runs)  # root index of each kept run
        if self._kept_listings is not None:
            listings = self._kept_listings()
            column_ = listings.column("listing")
            kept = [True] * len(runs) if column_.null_count == 0 else [x is not None for x in column_.to_pylist()]
            prefixes = [str(r).rstrip(os.sep) + os.sep for r in self._roots]
            for r, (place, is_kept) in enumerate(zip(runs, kept, strict=True)):
                if is_kept:
                    path = place.path_str
                    owner[r] = next((i for i, prefix in enumerate(prefixes) if path.startswith(prefix)), None)
            for i in range(len(self._roots)):
                mine = [r for r, o in enumerate(owner) if o == i]
                if mine:
                    tables.append(self._root_table(i, runs, mine, listings))
        listed = [place for place, o in zip(runs, owner, strict=True) if o is None]
        tables.append(part_table((p.id, p.path_str, self._run_files(p)) for p in listed))
        return _numbered(pa.concat_tables(tables) if len(tables) > 1 else tables[0])

    def listed_now(self, runs: Sequence[Run]) -> pa.Table:
        """Every file of `runs` as listed now, numbered as table_for() numbers them."""
        return _numbered(part_table((p.id, p.path_str, self._run_files(p)) for p in runs))

    def _root_table(self, i: int, runs: Sequence[Run], mine: list[int], listings: pa.Table) -> pa.Table:
        digest = listing_digest(_rows_as_slices(listings, mine))
        memo = self._memo.get(i)
        if memo is None or memo[0] != digest:
            table = load_part_table(self._roots[i], digest)
            if table is None:
                table = part_table((runs[r].id, runs[r].path_str, self._run_files(runs[r])) for r in mine)
                save_part_table(self._roots[i], digest, table)
            memo = self._memo[i] = (digest, table)
        return memo[1]


def _numbered(table: pa.Table) -> pa.Table:
    return table.append_column("ord", column(range(table.num_rows), pa.int64()))


def _rows_as_slices(table: pa.Table, rows: list[int]) -> pa.Table:
    """These rows (ascending) of `table`, as zero-copy slices of its runs of consecutive rows."""
    if len(rows) == table.num_rows:
        return table
    pieces = []
    start = prev = rows[0]
    for r in rows[1:]:
        if r != prev + 1:
            pieces.append(table.slice(start, prev - start + 1))
            start = r
        prev = r
    pieces.append(table.slice(start, prev - start + 1))
    return pa.concat_tables(pieces)
