"""The query layer: runs under one or more roots, as DuckDB views and typed Python calls.

    store = Store([Path("runs")])              # discovers runs, reads JSON sidecars only
    store.refresh()                             # rescan (cheap: stats, re-reads changed files)
    store.runs() -> list[RunInfo]               # metadata, newest first
    store.list_runs(project=None, filter=None, sort=None, columns=None, limit=None) -> pa.Table
    store.resolve(ref) -> RunInfo               # id, unique id prefix, name, project/id
    store.history(run_ids, metrics=None) -> pa.Table
    store.downsampled(run_ids, metrics, points=400, x="_step") -> pa.Table
    store.system(run_ids) -> pa.Table
    store.text(run_ids) -> pa.Table
    store.metric_names(run_ids=None, stream="history") -> list[str]
    store.metric_definitions(ref) -> dict          # metrics.json (define_metric, columns)
    store.query(sql, params=None) -> pa.Table   # user SQL: one SELECT, sandboxed
    store.interrupt()                            # stop the running query (any thread)
    store.connection -> duckdb.DuckDBPyConnection  # all views, sandboxed
    store.log_path(ref) / tail_log(ref, ...) / follow_log(ref) # console log, see viewer.data.log_tail
    store.saved_files(ref, limit=1000) -> list[(path, size)]  # files/, see viewer.data.saved_files
    store.warnings -> list[str]                  # one message per bad file, in order
    store.hand_over_connection()                 # the same, kept by the caller (viewer.data.connect)

Views (see docs/query.md): `runs` (one row per run, flattened "config.<k>" and
"summary.<k>" columns, config/summary as JSON), `history`, `system`, `text` (checked
Parquet parts plus live/crashed journal rows, each row exactly once), `logs` (console
lines, read lazily by DuckDB at query time).

The connection is sandboxed before any view exists: allowed_directories = the roots'
real paths (plus those of symlinked runs), extension autoinstall/autoload off, Python
replacement scans off, external access off, configuration locked. A refresh that finds
a symlinked run outside the allowed directories builds a fresh connection, so code
should ask `store.connection` again rather than keep it.

Freshness: the views and the runs list show the roots as of the last refresh() (the
dashboard calls it on a timer or on file events); history()/downsampled()/system()/
text() re-list the chosen runs' files on every call, so a live run's newest journal rows
are included. metrics.json is read on demand (metric_definitions()).

Warnings (bad JSON, bad Parquet, unreadable dirs) go to `on_warning` (default: the
`loupe.viewer` logger), once per file version. Thread safety: every call takes one
lock; only interrupt() does not, so another thread can stop a running query.

This module is the typed API and the runs list; the connection and its views are
viewer.data.view_connection, resolve() is viewer.data.run_lookup, saved_files() is
viewer.data.saved_files.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from recorder import layout
from viewer.data import sql as Q
from viewer.data.collector_pause import collector_paused
from viewer.data.dir_listing import DirListings
from viewer.data.discovery import MetadataCache, find_runs
from viewer.data.filter_expr import FilterError, parse_filter, parse_sort, resolve_column
from viewer.data.log_tail import LogFollower, LogPage, tail
from viewer.data.metric_columns import all_keys, locate_keys, sources_of
from viewer.data.run_changes import data_signature
from viewer.data.run_lookup import RunNotFound, resolve_run
from viewer.data.run_table_cache import RunTableCache
from viewer.data.runs_table import RunInfo
from viewer.data.saved_files import list_saved_files
from viewer.data.stream_files import RunStreamFiles, StreamCache, files_from_json, files_to_json
from viewer.data.stream_selection import BASE_COLUMNS, StreamSelection, select_stream
from viewer.data.view_connection import STREAMS, RunPlace, ViewConnection
from viewer.data.view_prebuild import ViewPrebuild

__all__ = ["STREAMS", "VIEW_PROVIDERS", "QueryError", "RunNotFound", "Store"]

log = logging.getLogger("loupe.viewer")

# Modules that add more views: each exposes register(con, roots). A plugin host may add
# optional ones; a module that is not installed is skipped.
VIEW_PROVIDERS: tuple[str, ...] = ("viewer.data.artifact_views", "viewer.data.media_views")
_ORDER = {"history": ["run_id", "_step"], "system": ["run_id", "_timestamp"], "text": ["run_id", "_step", "key"]}
_ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(ValueError):
    """A query refused before it ran (several statements, not a SELECT) or a bad filter/sort."""


class Store:
    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str]],
        on_warning: Callable[[str], None] | None = None,
        *,
        prebuild_views: bool = False,
    ) -> None:
        """`prebuild_views`: every view is asked for next (viewer.connect), so build them
        from the run catalog while the roots are walked (viewer.data.view_prebuild). Not
        for a query over `runs` alone (`loupe sql`): its one DuckDB connection is cheaper
        made after the walk than beside it."""
        self.roots: list[Path] = [Path(os.path.abspath(r)) for r in roots]
        if not self.roots:
            raise ValueError("Store needs at least one root")
        self._on_warning = on_warning
        self._warned: set[str] = set()
        self.warnings: list[str] = []
        self._prebuild: ViewPrebuild | None = None
        self._lock = threading.RLock()
        self._meta = MetadataCache(self._warn)
        self._listings = DirListings()  # kept between walks: unchanged directories are not listed again
        self._streams = StreamCache(self._warn)
        self._cache = RunTableCache(self.roots, self._warn)
        self._by_id_map: dict[str, RunInfo] = {}
        self._by_id_for: list[RunInfo] | None = None
        # Counts refreshes that changed the run list. A viewer that skipped a rescan's result
        # (superseded by a newer one) still sees the change: the number differs from its own.
        self.generation = 0
        # VIEW_PROVIDERS is read once per store: whoever changes it (tests, a plugin host)
        # does so before opening one.
        self._views = ViewConnection(
            self.roots,
            self._streams,
            self._warn,
            VIEW_PROVIDERS,
            self._place_files,
            self._cache.forget_streams,
            self._cache.listings,
        )
        self._refresh(prebuild_views)

    # -- warnings -------------------------------------------------------------------------
    def _warn(self, key: str, message: str) -> None:
        if self._prebuild is not None and self._prebuild.holds(key, message):
            return
        if key in self._warned:
            return
        self._warned.add(key)
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)
        else:
            log.warning(message)

    # -- discovery ------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Rescan the roots; re-read runs whose directory changed (viewer.data.run_table_cache);
        True when anything changed. The root's catalog is saved when it did."""
        return self._refresh(False)

    def _refresh(self, prebuild_views: bool) -> bool:
        with self._lock:
            with collector_paused():  # 10,000 RunDirs (and rows read anew): no cycles left
                known = self._cache.known_mtimes
                prebuild = self._start_prebuild() if prebuild_views else None
                try:
                    dirs = find_runs(self.roots, self._warn, known=known, listings=self._listings)
                finally:
                    if prebuild is not None:
                        prebuild.join()
                changed = self._cache.update(dirs, self._meta.read)
            alive = {p.path_str for p in self._cache.places}
            self._meta.forget_missing(alive)
            self._streams.forget(alive)
            views_stand = self._views.show(self._cache.places, self._cache.runs_table)
            if prebuild is not None:
                self._prebuild = None
                if not views_stand:  # providers too were given the catalog's runs, not these
                    self._views.forget_built()
                prebuild.settle(views_stand, self._warn)
            self._cache.save()
            # Reading, merging and saving the catalog leave freed pages in Arrow's pool;
            # handed back, a dashboard at 10,000 runs keeps ~80 MB less (and stops growing
            # with each rescan that changed a run).
            pa.default_memory_pool().release_unused()
            if changed:
                self.generation += 1
            return changed

    def _start_prebuild(self) -> ViewPrebuild | None:
        # Only from a catalog: with none, every run is read first anyway.
        if self._cache.table.num_rows == 0:
            return None
        self._views.show(self._cache.places, self._cache.runs_table)
        self._prebuild = ViewPrebuild(self._views.with_all_views, self._views.forget_built)
        return self._prebuild.start()

    def _place_files(self, place: RunPlace) -> RunStreamFiles:
        # An ended run's listing comes from the catalog; others are listed (and remembered).
        kept = self._cache.streams_of(place.path_str)
        if kept is not None:
            try:
                return files_from_json(kept, place.path_str)
            except (ValueError, KeyError, TypeError):
                pass  # a damaged listing: list again
        rf = self._streams.run_files(place.path)
        self._cache.remember_streams(place.path_str, files_to_json(rf))
        return rf

    def verify(self) -> bool:
        """Refresh, reading again every run whose sidecars' stats differ from the catalog's
        (a file edited in place, which leaves its directory's mtime alone); for a worker."""
        self.find_edited_in_place()
        return self.refresh()

    def find_edited_in_place(self) -> int:
        """Mark runs whose sidecars' stats differ from the catalog's to be read again by the
        next refresh(); how many. The stats (4 a run: seconds at 10,000 runs) are taken
        without the store's lock, so queries and refreshes go on meanwhile."""
        with self._lock:
            rows = self._cache.row_signatures()
        stale = self._cache.signatures_differ(rows, self._meta.signatures)
        with self._lock:
            self._cache.read_again(stale)
        return len(stale)

    @property
    def _runs(self) -> list[RunInfo]:
        return self._cache.infos()

    @property
    def _by_id(self) -> dict[str, RunInfo]:
        if self._by_id_for is not self._runs:
            self._by_id_map = {i.id: i for i in self._runs}
            self._by_id_for = self._runs
        return self._by_id_map

    def runs(self) -> list[RunInfo]:
        """Every run, newest first (metadata only)."""
        with self._lock:
            return list(self._runs)

    def data_signatures(self, run_ids: Iterable[str]) -> dict[str, tuple]:
        """Per run: a value that changes whenever the run writes anything (see run_changes)."""
        with self._lock:
            infos = [self._by_id[i] for i in run_ids if i in self._by_id]
        return {i.id: (i.state, i.meta_signature, data_signature(i.path)) for i in infos}

    def get(self, run_id: str) -> RunInfo | None:
        with self._lock:
            return self._by_id.get(run_id)

    def resolve(self, ref: str) -> RunInfo:
        """A run by id, `project/id`, directory name, name, or unique id prefix (optionally
        `project/`-qualified); raises RunNotFound when none or several match."""
        with self._lock:
            return resolve_run(ref, self._runs, self._by_id)

    def _infos(self, run_ids: Sequence[str] | str) -> list[RunInfo]:
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        return [resolve_run(rid, self._runs, self._by_id) for rid in run_ids]

    # -- connection and SQL ---------------------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The sandboxed connection with every view current (ask again after refresh())."""
        with self._lock:
            con = self._views.with_all_views()
            self._cache.save()  # the stream listings just made, for the next open
            return con

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run one user SELECT (or EXPLAIN) over the views; raises QueryError or duckdb.Error."""
        try:
            statements = self.parse(sql)
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        if len(statements) != 1:
            raise QueryError(f"expected one SQL statement, got {len(statements)}")
        if statements[0].type not in _ALLOWED_STATEMENTS:
            raise QueryError(f"only SELECT queries are allowed here (got {statements[0].type.name})")
        with self._lock:
            result = self._views.run(
                lambda: (self._views.pruned_sql(sql, list(params or [])), list(params or [])),
                lambda: self._views.for_query(sql),
            )
            self._cache.save()  # stream listings the query made, for the next open (`loupe sql`)
            return result

    def parse(self, sql: str) -> list[duckdb.Statement]:
        """`sql`'s statements, parsed (not run) on this store's connection: the module-level
        duckdb.extract_statements() first makes DuckDB's default database, ~20 ms."""
        with self._lock:
            return self._views.connection().extract_statements(sql)

    def interrupt(self) -> None:
        """Stop the query running on this store's connection (safe from any thread)."""
        self._views.interrupt()

    # -- runs table -----------------------------------------------------------------------
    def run_columns(self) -> list[str]:
        with self._lock:
            return list(self._cache.runs_table.column_names)

    def list_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        sort: str | Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """The runs table, filtered (viewer.data.filter_expr syntax) and sorted.

        `sort`: column names, each optionally prefixed with '-' or suffixed with ':desc'
        for descending (':asc' for ascending); names
        resolve like filter identifiers (`lr` -> `config.lr`). Default: newest first.
        Listing never touches history, system or log files.
        """
        with self._lock:
            names = self._cache.runs_table.column_names
            colset = set(names)
            where = parse_filter(filter or "", colset)
            order = parse_sort(sort, colset)
            order.append(("created_at", True))
            order.append(("id", False))
            cols = None
            if columns is not None:
                cols = [resolve_column(c, colset) for c in columns]
            con = self._views.with_runs_view()
            sql, params = Q.select_runs(cols, where.sql, where.params, project, order, limit)
            return con.sql(sql, params=params or None).to_arrow_table()

    # -- streams of chosen runs -----------------------------------------------------------
    def _selection(self, stream: str, infos: list[RunInfo]) -> StreamSelection:
        return select_stream(self._streams, stream, infos, self._meta.read_metrics)

    def _select(
        self, stream: str, run_ids: Sequence[str] | str, build: Callable[..., tuple[str, list[Any]]]
    ) -> pa.Table:
        with self._lock:
            infos = self._infos(run_ids)
            state: dict[str, Any] = {}

            def con_for() -> duckdb.DuckDBPyConnection:
                con = self._views.connection()
                parts, journal, columns, keys = self._selection(stream, infos)
                jname = Q.JOURNAL_TABLE.format(stream=f"sel_{stream}")
                if journal is not None:
                    con.register(jname, journal)
                state.update(parts=parts, journal=jname if journal is not None else None, columns=columns, keys=keys)
                return con

            def sql() -> tuple[str, list[Any]]:
                return build(state["parts"], state["journal"], state["columns"], state["keys"])

            return self._views.run(sql, con_for, parts=lambda: list(state.get("parts", [])))

    def history(self, run_ids: Sequence[str] | str, metrics: Sequence[str] | None = None) -> pa.Table:
        """run_id, _step, _timestamp, _runtime and the metrics (all when None), by run and step.

        Metrics are named by the key they were logged as (a run's `Loss#2` column comes
        back as `Loss`); metrics that none of the runs logged are left out.
        """
        return self._stream_rows("history", run_ids, metrics)

    def system(self, run_ids: Sequence[str] | str, metrics: Sequence[str] | None = None) -> pa.Table:
        """System samples (run_id, _timestamp, _runtime, cpu.*, memory.*, gpu.*...) by run and time."""
        return self._stream_rows("system", run_ids, metrics)

    def text(self, run_ids: Sequence[str] | str) -> pa.Table:
        """Strings logged with log(): run_id, _step, _timestamp, key, value."""
        return self._stream_rows("text", run_ids, None)

    def _stream_rows(self, stream: str, run_ids: Sequence[str] | str, metrics: Sequence[str] | None) -> pa.Table:
        base = (
            ["run_id", "_step", "_timestamp", "_runtime"]
            if stream == "history"
            else (["run_id", "_timestamp", "_runtime"] if stream == "system" else None)
        )

        def build(parts, journal, columns, keys):
            if base is None:
                return Q.select_stream(
                    stream, parts, journal, ["run_id", "_step", "_timestamp", "key", "value"], _ORDER[stream]
                )
            wanted = sorted(all_keys(keys)) if metrics is None else [m for m in metrics if m not in base]
            return Q.select_stream(stream, parts, journal, base, _ORDER[stream], locate_keys(wanted, keys))

        return self._select(stream, run_ids, build)

    def downsampled(
        self,
        run_ids: Sequence[str] | str,
        metrics: Sequence[str],
        points: int = 400,
        x: str = "_step",
        stream: str = "history",
        x_range: tuple[float, float] | None = None,
    ) -> pa.Table:
        """At most `points` buckets per (run, metric) over `x`, computed in DuckDB.

        Columns: run_id, metric (the key as logged), bucket, x (mean x in the bucket),
        x_min, x_max, min, max, mean, last, n. Min and max keep spikes that a plain mean
        would hide. Non-finite values are left out; metrics no run logged give no rows.
        `metrics` and `x` are logged keys (or `_step`, `_runtime`, `_timestamp`).
        """
        if points < 1:
            raise ValueError("points must be at least 1")
        if isinstance(metrics, str):
            metrics = [metrics]

        def build(parts, journal, columns, keys):
            found = sources_of([x], keys, BASE_COLUMNS[stream])
            if not found:
                raise QueryError(f"unknown x column {x!r}")
            wanted = sources_of(metrics, keys, BASE_COLUMNS[stream])
            if not wanted:
                return Q.empty_downsample(), []
            return Q.downsample(stream, parts, journal, wanted, found[0], int(points), x_range)

        return self._select(stream, run_ids, build)

    def metric_names(self, run_ids: Sequence[str] | str | None = None, stream: str = "history") -> list[str]:
        """Metric keys logged by these runs (all runs when None), as logged, sorted; reads
        Parquet footers and metrics.json only."""
        with self._lock:
            infos = self._runs if run_ids is None else self._infos(run_ids)
            keys = self._selection(stream, infos)[3]
        return sorted(all_keys(keys))

    def metric_definitions(self, ref: str) -> dict[str, Any]:
        """A run's metrics.json: {"definitions": [...], "columns": {key: column}} ({} if none)."""
        with self._lock:
            return self._meta.read_metrics(self.resolve(ref).path)

    # -- files and logs -------------------------------------------------------------------
    def log_path(self, ref: str) -> Path:
        return self.resolve(ref).path / layout.OUTPUT_LOG

    def tail_log(self, ref: str, max_lines: int = 200, max_bytes: int = 1 << 20) -> LogPage:
        """The last lines of a run's console log (sanitised text in LogLine.text)."""
        return tail(self.log_path(ref), max_lines=max_lines, max_bytes=max_bytes)

    def follow_log(self, ref: str, start: str = "end") -> LogFollower:
        return LogFollower(self.log_path(ref), start=start)

    def saved_files(self, ref: str, limit: int = 1000) -> list[tuple[str, int]]:
        """(path relative to files/, size) of a run's saved files, at most `limit`."""
        return list_saved_files(self.resolve(ref).path / layout.FILES_DIR, limit)

    def hand_over_connection(self) -> duckdb.DuckDBPyConnection:
        """The connection with every view current, for a caller who keeps it; the store
        forgets it (its registered Arrow tables live as long as the connection)."""
        con = self.connection
        with self._lock:
            self._views.release()
        return con

    def save_catalog(self) -> None:
        """Write what changed since the last save now (refresh() saves at most every 10 s)."""
        with self._lock:
            self._cache.save(force=True)

    def close(self) -> None:
        with self._lock:
            self._cache.save(force=True)  # changes and stream listings since the last save
            self._views.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# Exported for `from viewer.data.store import FilterError` convenience.
FilterError = FilterError
