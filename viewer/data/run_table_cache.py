"""The runs table of a Store, kept up to date from a scan by reading only runs that changed.

    cache = RunTableCache(roots, warn)         # loads each root's saved catalog
    cache.update(dirs, read_meta, now) -> bool # True when any row changed
    cache.table                                # runs view table + CATALOG_COLUMNS
    cache.runs_table                           # the `runs` view's table
    cache.places                               # [RunPlace(id, path, real_path)] in table order
    cache.infos()                              # [RunInfo] in table order (built on first call)
    cache.save()                               # persist changed catalogs (viewer.data.run_catalog)
    cache.stale_signatures(read_signature)     # rows whose sidecars changed under a kept mtime

A row from the catalog is kept without reading its run when the run directory's mtime
is the one the row was read at, that mtime was at least FRESH_NS older than the read
(so no change can hide inside the clock's resolution), and the run had ended: every
write the recorder and loupe make to a run's JSON sidecars replaces the file by rename,
which changes the directory's mtime. A running run is always read again (its state also
depends on the clock). Everything else (new, changed, running, unreadable rows) is read
through `read_meta` and converted with runs_arrow, then merged with the kept rows.

Merged columns keep the widest type seen (an integer config key that meets a float
becomes DOUBLE); when the types cannot be merged (a number meets a string) the whole
table is rebuilt from the rows' JSON, as a scan without a catalog would build it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pyarrow as pa

from viewer.data.arrow_build import column
from viewer.data.arrow_build import values as column_values
from viewer.data.discovery import RunDir, RunMeta, Warn
from viewer.data.run_catalog import CATALOG_COLUMNS, CATALOG_NAMES, load_catalog, save_catalog
from viewer.data.runs_table import BASE_COLUMNS, RunInfo, catalog_signature, runs_arrow
from viewer.data.view_connection import RunPlace

__all__ = ["FRESH_NS", "RunPlace", "RunTableCache"]

FRESH_NS = 2_000_000_000
SAVE_EVERY_S = 10.0
# States the recorder writes once a run has ended; nothing changes them but a resume,
# which rewrites run.json (and so the directory's mtime).
_ENDED = {"finished", "failed", "crashed"}
# Runs whose sidecars are statted in one batch by signatures_differ (4 files each).
_SIGNATURE_BATCH = 1000
_BASE_NAMES = {name for name, _ in BASE_COLUMNS}


def _json(value: dict) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits, say
        return "{}"


def _signature_json(sig: tuple) -> str:
    return orjson.dumps([list(s) if s is not None else None for s in sig]).decode()


def _catalog_arrays(rows: Sequence[tuple[RunDir, RunInfo]], checked_ns: int) -> list[pa.Array]:
    return [
        column([rd.mtime_ns for rd, _ in rows], pa.int64()),
        column([checked_ns] * len(rows), pa.int64()),
        column([rd.real_str for rd, _ in rows], pa.string()),
        column([_signature_json(i.meta_signature) for _, i in rows], pa.string()),
        column([_json(i.run_json) for _, i in rows], pa.string()),
        column([None] * len(rows), pa.string()),
    ]


def _rows_table(rows: Sequence[tuple[RunDir, RunInfo]], checked_ns: int) -> pa.Table:
    table = runs_arrow([i for _, i in rows])
    for (name, _), arr in zip(CATALOG_COLUMNS, _catalog_arrays(rows, checked_ns), strict=True):
        table = table.append_column(name, arr)
    return table


def _empty() -> pa.Table:
    return _rows_table([], 0)


class RunTableCache:
    def __init__(self, roots: Sequence[Path], warn: Warn) -> None:
        self._roots = list(roots)
        self._warn = warn
        loaded = [t for r in self._roots if (t := load_catalog(r, warn)) is not None]
        table = _empty()
        if loaded:
            try:
                table = pa.concat_tables(loaded, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                table = _empty()  # roots whose columns disagree: scan them all
        self.table: pa.Table = table
        self._saved_ok = bool(loaded)
        self._saved_at: float | None = None  # time.monotonic() of this process's last save
        self._dirty = not loaded
        self._streams_dirty = False
        self._infos: list[RunInfo] | None = None
        self._places: list[RunPlace] | None = None
        self._index_table()

    # -- what the rows say ----------------------------------------------------------------
    def _index_table(self) -> None:
        paths = self.table.column("path").to_pylist()
        self._row_of = {p: i for i, p in enumerate(paths)}
        self._trusted: list[int | None] | None = None
        self._runs_table: pa.Table | None = None
        self._infos = None
        self._places = None
        self._streams: list[str | None] | None = None

    @property
    def known_mtimes(self) -> dict[str, int]:
        """Run directory -> mtime_ns as each row was read (for find_runs)."""
        paths = self.table.column("path").to_pylist()
        return dict(zip(paths, self.table.column("_catalog_mtime_ns").to_pylist(), strict=True))

    @property
    def runs_table(self) -> pa.Table:
        if self._runs_table is None:
            self._runs_table = self.table.drop_columns(CATALOG_NAMES)
        return self._runs_table

    @property
    def places(self) -> list[RunPlace]:
        if self._places is None:
            cols = [self.table.column(n).to_pylist() for n in ("id", "path", "_catalog_real")]
            self._places = [RunPlace(i, p, r) for i, p, r in zip(*cols, strict=True)]
        return self._places

    def infos(self) -> list[RunInfo]:
        """Every row as a RunInfo, in table order (JSON parsed once per table)."""
        if self._infos is None:
            self._infos = RunInfo.from_catalog(self.table)
        return self._infos

    # -- bringing it up to date -----------------------------------------------------------
    def update(self, dirs: Sequence[RunDir], read_meta: Callable[[Path], RunMeta], now: float | None = None) -> bool:
        """Rows for exactly `dirs` (in their order, first of a duplicated id wins); True when
        the table changed."""
        checked_ns = time.time_ns()
        now = time.time() if now is None else now
        self._with_streams()
        t = self.table
        if len(dirs) == t.num_rows and self._all_trusted(dirs):
            return False  # every row kept as it is (rows have distinct ids: no duplicate either)
        checked = t.column("_catalog_checked_ns").to_pylist()
        mtimes = t.column("_catalog_mtime_ns").to_pylist()
        recorded = t.column("recorded_state").to_pylist()
        ids = t.column("id").to_pylist()
        reals = t.column("_catalog_real").to_pylist()
        kept: list[int] = []
        fresh: list[tuple[RunDir, RunInfo]] = []
        seen: dict[str, tuple[str, str]] = {}  # id -> (path, real path) of the row shown
        row_of = self._row_of
        for rd in dirs:
            # Inline, not a method: once per run on every refresh. A row is trusted when its
            # directory's mtime is the one read, that read was not within FRESH_NS of it,
            # and the run had ended.
            i = row_of.get(rd.path_str)
            if i is not None and (
                mtimes[i] != rd.mtime_ns or checked[i] - mtimes[i] < FRESH_NS or recorded[i] not in _ENDED
            ):
                i = None
            if i is not None:
                run_id, real, info = ids[i], reals[i], None
            else:
                info = RunInfo.from_meta(rd, read_meta(rd.path), now)
                run_id, real = info.id, str(info.real_path)
            other = seen.get(run_id)
            if other is not None:
                if other[1] != real:
                    self._warn(
                        f"dup:{run_id}:{rd.path}",
                        f"run {run_id} is in both {other[0]} and {rd.path}; showing {other[0]}",
                    )
                continue  # the same directory reached through a symlink, or a duplicate
            seen[run_id] = (rd.path_str, real)
            if info is None:
                kept.append(i)  # type: ignore[arg-type]
            else:
                fresh.append((rd, info))
        if len(kept) == t.num_rows and not fresh:
            return False
        in_place = self._replace_in_place(t, kept, fresh, checked_ns)
        if in_place is not None:
            new, changed = in_place
        else:
            old_sig = self._row_signatures(t)
            # One copy of the table, not two: when the kept rows are the table's first ones
            # they are a zero-copy slice, and sort_by makes the one copy (it also puts rows
            # back in order: `kept` is in the walk's order).
            kept = sorted(kept)
            leading = kept == list(range(len(kept)))
            kept_rows = t.slice(0, len(kept)) if leading else t.take(column(kept, pa.int64()))
            new = self._merge(kept_rows, fresh, checked_ns, removed=len(kept) + len(fresh) < t.num_rows)
            new = new.sort_by([("created_at", "descending"), ("id", "ascending")])
            changed = self._row_signatures(new) != old_sig
        if changed or fresh:
            # Re-read rows (running runs) carry a newer check time even when unchanged.
            before = self._infos_by_path()
            self.table = new
            self._dirty = True
            self._index_table()
            self._infos = self._kept_infos(before, fresh)
        return changed

    def _all_trusted(self, dirs: Sequence[RunDir]) -> bool:
        # The common open of a root where nothing changed, in one pass and without the
        # per-row bookkeeping of the loop in update(): 10,000 rows in ~2 ms, not ~9.
        if self._trusted is None:
            # In Python, not pyarrow.compute: a Python scalar handed to a compute function
            # goes through pyarrow.scalar(), which imports pandas.
            t = self.table
            mtimes = t.column("_catalog_mtime_ns").to_pylist()
            checked = t.column("_catalog_checked_ns").to_pylist()
            states = t.column("recorded_state").to_pylist()
            self._trusted = [
                m if c - m >= FRESH_NS and s in _ENDED else None
                for m, c, s in zip(mtimes, checked, states, strict=True)
            ]
        row_of, trusted = self._row_of, self._trusted
        for rd in dirs:
            i = row_of.get(rd.path_str)
            if i is None or trusted[i] != rd.mtime_ns:
                return False
        return True

    def _infos_by_path(self) -> dict[str, RunInfo]:
        if self._infos is None:
            return {}
        return {place.path_str: info for place, info in zip(self.places, self._infos, strict=True)}

    def _kept_infos(self, before: dict[str, RunInfo], fresh: list[tuple[RunDir, RunInfo]]) -> list[RunInfo] | None:
        """The new table's RunInfos: those of kept rows as they were, the re-read ones new.
        (Building all 10,000 again for one changed run took ~0.5 s and ~70 MB each time.)"""
        if not before:
            return None
        by_path = before | {rd.path_str: info for rd, info in fresh}
        infos = [by_path.get(p) for p in self.table.column("path").to_pylist()]
        return None if any(i is None for i in infos) else infos  # type: ignore[return-value]

    def _replace_in_place(
        self, t: pa.Table, kept: list[int], fresh: list[tuple[RunDir, RunInfo]], checked_ns: int
    ) -> tuple[pa.Table, bool] | None:
        """(new table, changed) when the only news is rows read again where they were (a
        running run, on every live rescan): they go back in their places as slices, instead
        of merging and sorting all 10,000 rows (~0.1 s each second). None: the general way."""
        if not fresh or len(kept) + len(fresh) != t.num_rows:
            return None
        at: dict[int, tuple[RunDir, RunInfo]] = {}
        for rd, info in fresh:
            pos = self._row_of.get(rd.path_str)
            if pos is None or pos in at:
                return None
            at[pos] = (rd, info)
        if sorted(kept) != [j for j in range(t.num_rows) if j not in at]:  # kept: in walk order
            return None
        ids, created = t.column("id"), t.column("created_at")
        for pos, (_, info) in at.items():
            if ids[pos].as_py() != info.id or column_values(created.slice(pos, 1))[0] != info.created_at:
                return None  # its place in the order may have changed
        order = sorted(at)
        add = _rows_table([at[p] for p in order], checked_ns)
        pieces, start = [], 0
        for k, pos in enumerate(order):
            pieces += [t.slice(start, pos - start), add.slice(k, 1)]
            start = pos + 1
        pieces.append(t.slice(start))
        try:
            new = _ordered_columns(pa.concat_tables(pieces, promote_options="permissive"))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        if new.column(0).num_chunks > 64:
            new = new.combine_chunks()  # each replacement adds chunks; reading many is slower
        changed = self._row_signatures(add) != self._row_signatures(t.take(column(order, pa.int64())))
        return new, changed

    @staticmethod
    def _row_signatures(t: pa.Table) -> list[tuple]:
        cols = [t.column(n).to_pylist() for n in ("id", "path", "state", "_catalog_signature")]
        return list(zip(*cols, strict=True))

    def _merge(self, kept: pa.Table, fresh: list[tuple[RunDir, RunInfo]], checked_ns: int, removed: bool) -> pa.Table:
        if not fresh:
            table = kept
        else:
            add = _rows_table(fresh, checked_ns)
            try:
                table = pa.concat_tables([kept, add], promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                return self._rebuild(kept, fresh, checked_ns)
        if removed:
            # A config/summary key that only removed runs had is no longer a column.
            empty = [
                n
                for n in table.column_names
                if n not in _BASE_NAMES and n not in CATALOG_NAMES and table.column(n).null_count == table.num_rows
            ]
            table = table.drop_columns(empty)
        return _ordered_columns(table)

    def _rebuild(self, kept: pa.Table, fresh: list[tuple[RunDir, RunInfo]], checked_ns: int) -> pa.Table:
        infos = RunInfo.from_catalog(kept) + [i for _, i in fresh]
        table = runs_arrow(infos)
        cat = [pa.concat_arrays([kept.column(n).combine_chunks(), a]) for n, a in _fresh_catalog(fresh, checked_ns)]
        for (name, _), arr in zip(CATALOG_COLUMNS, cat, strict=True):
            table = table.append_column(name, arr)
        return table

    def row_signatures(self) -> list[tuple[str, str | None]]:
        """(path, sidecar signature) of every row, for signatures_differ()."""
        sigs = self.table.column("_catalog_signature").to_pylist()
        return [(place.path_str, sig) for place, sig in zip(self.places, sigs, strict=True)]

    @staticmethod
    def signatures_differ(
        rows: list[tuple[str, str | None]], read_signatures: Callable[[list[str]], list[tuple]]
    ) -> list[str]:
        """The paths whose sidecars' stats now differ (touches files only: no lock needed)."""
        out: list[str] = []
        for start in range(0, len(rows), _SIGNATURE_BATCH):
            batch = rows[start : start + _SIGNATURE_BATCH]
            now = read_signatures([path for path, _ in batch])
            out += [path for (path, sig), seen in zip(batch, now, strict=True) if seen != catalog_signature(sig)]
        return out

    def read_again(self, paths: list[str]) -> None:
        """The next update() reads these runs again, whatever their directory's mtime."""
        for p in paths:
            self._row_of.pop(p, None)

    # -- stream listings ------------------------------------------------------------------
    def streams_of(self, path: str) -> str | None:
        """The stream listing kept for a run (stream_files.files_to_json), None when the row
        was read anew and its files not listed since."""
        i = self._row_of.get(path)
        if i is None:
            return None
        if self._streams is None:
            self._streams = self.table.column("_catalog_streams").to_pylist()
        return self._streams[i]

    def listings(self) -> pa.Table:
        """Every row's (id, path, listing), in table order (that of `places`); listing is
        stream_files.files_to_json, null where not kept. Columns of the table, no copy:
        the views ask for all 10,000 on each open."""
        self._with_streams()
        return self.table.select(["id", "path", "_catalog_streams"]).rename_columns(["id", "path", "listing"])

    def remember_streams(self, path: str, listing: str) -> None:
        i = self._row_of.get(path)
        if i is None:
            return
        if self._streams is None:
            self._streams = self.table.column("_catalog_streams").to_pylist()
        if self._streams[i] != listing:
            self._streams[i] = listing
            self._streams_dirty = True

    def forget_streams(self) -> None:
        """List every run's files again (a part vanished: compaction, or a hand edit)."""
        self._streams = [None] * self.table.num_rows
        self._streams_dirty = True

    def _with_streams(self) -> None:
        if self._streams is not None and getattr(self, "_streams_dirty", False):
            i = self.table.schema.get_field_index("_catalog_streams")
            self.table = self.table.set_column(i, "_catalog_streams", column(self._streams, pa.string()))
            self._streams_dirty = False
            self._dirty = True

    def save(self, force: bool = False) -> None:
        """Write each root's rows to its catalog when anything changed since the last save.

        After this process's first save, at most every SAVE_EVERY_S unless `force`: with a
        run logging, every live rescan re-reads it, and writing 10,000 rows (~0.1 s) each
        second was a fifth of a rescan. A catalog a few seconds old is still right: the
        next open checks every row against its directory's mtime."""
        self._with_streams()
        if not self._dirty:
            return
        now = time.monotonic()
        if not force and self._saved_at is not None and now - self._saved_at < SAVE_EVERY_S:
            return
        self._saved_at = now
        self._dirty = False
        roots = self.table.column("root").to_pylist()
        for root in self._roots:
            rows = [i for i, r in enumerate(roots) if r == str(root)]
            # One root (the usual case) saves the table itself: take() copied it whole.
            mine = self.table if len(rows) == len(roots) else self.table.take(column(rows, pa.int64()))
            save_catalog(root, mine, self._warn)


def _fresh_catalog(fresh: list[tuple[RunDir, RunInfo]], checked_ns: int) -> list[tuple[str, pa.Array]]:
    return [(name, arr) for (name, _), arr in zip(CATALOG_COLUMNS, _catalog_arrays(fresh, checked_ns), strict=True)]


def _ordered_columns(table: pa.Table) -> pa.Table:
    # As runs_arrow orders them: base columns, flattened keys sorted, then the catalog's.
    base = [n for n, _ in BASE_COLUMNS]
    flat = sorted(n for n in table.column_names if n not in _BASE_NAMES and n not in CATALOG_NAMES)
    return table.select(base + flat + CATALOG_NAMES)
