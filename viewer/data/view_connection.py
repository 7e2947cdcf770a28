"""The sandboxed DuckDB connection behind a Store, and the views it keeps current on it.

    views = ViewConnection(roots, streams, warn, providers)
    views.show(runs, runs_table)        # after every refresh: what the views should show
    views.connection()                  # sandboxed; no view guaranteed current
    views.with_runs_view()              # ... with `runs` current
    views.with_all_views()              # ... with runs, history, system, text, logs, providers
    views.for_query(sql)                # ... with what `sql` reads current
    views.run(build, con_for, parts)    # run a statement; retried once if files moved
    views.interrupt() / close() / release()

Each view is rebuilt only when what it shows may have changed: `runs` when show() got a
new table, the stream and log views at the first query after a show() (from one Arrow
table of files, viewer.data.part_lists: ~50 ms at 10,000 runs), provider views once per
connection. A symlinked run outside
the allowed directories means a fresh connection (the sandbox is locked once set), and
with it every view again.

Not thread-safe: the Store calls everything under its lock, except interrupt(), which
only reads the connection so that another thread can stop a running query.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from recorder import layout
from viewer.data import sql as Q
from viewer.data.discovery import Warn
from viewer.data.error_text import first_line
from viewer.data.part_lists import PartTables
from viewer.data.pruned_views import PrunedViews
from viewer.data.stream_files import RunStreamFiles, StreamCache

__all__ = ["STREAMS", "RunPlace", "ViewConnection"]


class RunPlace:
    """What the views need to know of a run: its id and where its files are. Paths are
    kept as text: 10,000 pathlib objects cost more than the rest of an open."""

    __slots__ = ("id", "path_str", "real_str")

    def __init__(self, run_id: str, path: str, real: str) -> None:
        self.id = run_id
        self.path_str = path
        self.real_str = real

    @property
    def path(self) -> Path:
        return Path(self.path_str)

    @property
    def real_path(self) -> Path:
        return Path(self.real_str)


STREAMS = layout.STREAM_DIRS


def _is_file_error(exc: BaseException) -> bool:
    # A part removed by compaction between listing and reading, or replaced meanwhile.
    if isinstance(exc, duckdb.IOException):
        return True
    msg = str(exc)
    return any(s in msg for s in ("No files found", "No such file", "No magic bytes", "Cannot open file"))


def _sandboxed(allowed: Sequence[str]) -> duckdb.DuckDBPyConnection:
    # Through the module attribute, so that tests which wrap duckdb.connect see every statement.
    con = duckdb.connect(":memory:")
    statements = Q.sandbox_statements(allowed)
    if all(not params for _, params in statements):
        con.execute(";\n".join(stmt for stmt, _ in statements))  # one round trip, in order
    else:
        for stmt, params in statements:
            con.execute(stmt, params)
    return con


class ViewConnection:
    def __init__(
        self,
        roots: Sequence[Path],
        streams: StreamCache,
        warn: Warn,
        providers: Sequence[str],
        run_files: Callable[[RunPlace], RunStreamFiles] | None = None,
        forget_files: Callable[[], None] | None = None,
        kept_listings: Callable[[], pa.Table] | None = None,
    ) -> None:
        self._roots = roots
        self._streams = streams
        # Where a run's files are listed: the Store answers from the run catalog.
        self._run_files = run_files or (lambda place: streams.run_files(place.path))
        self._forget_files = forget_files
        self._warn = warn
        self._providers = tuple(providers)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._parse_con: duckdb.DuckDBPyConnection | None = None
        self._allowed: tuple[str, ...] = ()
        self._runs: Sequence[RunPlace] = []
        self._runs_table: pa.Table | None = None
        self._gen = 0
        self._scan_gen = 0  # bumps on every show(): stream views are rebuilt lazily after one
        self._runs_view_gen = -1
        self._streams_built = -1
        self._parts_built = -1
        self._final_built = -1
        self._final_runs_gen = -1
        self._groups: dict[str, list[tuple[str | None, int]]] = {}
        # Every file the views read (viewer.data.part_lists), registered on the connection.
        self._parts: pa.Table | None = None
        self._part_tables = PartTables(roots, self._run_files, kept_listings)
        self._providers_done = False
        self._journal_streams: set[str] = set()
        # Views over some runs' parts (viewer.data.pruned_views).
        self._pruned = PrunedViews()

    def show(self, runs: Sequence[RunPlace], runs_table: pa.Table) -> bool:
        """The runs as of a refresh; True when the views built so far still show them.

        The same objects again mean the run catalog trusted every row: each run had
        ended and its directory is as it was, so its kept file listing stands too (a part
        gone since is met by run(), which lists again). Anything read anew, a live run
        above all, comes as new objects, and the views are built again lazily."""
        if runs is self._runs and runs_table is self._runs_table:
            return True
        self._scan_gen += 1
        self._runs = runs
        if runs_table is not self._runs_table:
            self._runs_table = runs_table
            self._gen += 1
        return False

    def forget_built(self) -> None:
        """Build every view again on next use (after a build that failed part-way)."""
        self._runs_view_gen = -1
        self._streams_built = -1
        self._parts_built = -1
        self._final_built = -1
        self._parts = None
        self._providers_done = False

    # -- the connection -------------------------------------------------------------------
    def _allowed_dirs(self) -> tuple[str, ...]:
        dirs: list[str] = []
        for r in self._roots:
            # DuckDB checks the (glob-escaped) pattern it is given against this list, so
            # a root such as `exp[1]` is also allowed in its escaped spelling.
            for d in (os.path.realpath(r), str(r)):
                for spelling in (d, Q.escape_path(d)):
                    if spelling not in dirs:
                        dirs.append(spelling)
        covered = tuple(d.rstrip("/") + "/" for d in dirs)
        for info in self._runs:
            real = info.real_str + "/"
            if not real.startswith(covered):  # one C call a run: 10,000 of them each open
                dirs.extend(dict.fromkeys((info.real_str, Q.escape_path(info.real_str))))
                covered += (real,)
        return tuple(dirs)

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The sandboxed connection, replaced when a run lies outside its allowed directories."""
        allowed = self._allowed_dirs()
        if self._con is None or not set(allowed) <= set(self._allowed):
            if self._con is not None:
                try:
                    self._con.close()
                except duckdb.Error:
                    pass
            self._con = _sandboxed(allowed)
            self._allowed = allowed
            self._runs_view_gen = -1
            self._parts = None
            self._streams_built = -1
            self._parts_built = -1
            self._final_built = -1
            self._providers_done = False
        return self._con

    # -- views ----------------------------------------------------------------------------
    def _ensure_runs_view(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._runs_view_gen == self._gen:
            return
        con.register(Q.RUNS_TABLE, self._runs_table)
        con.execute(*Q.runs_view())
        self._runs_view_gen = self._gen

    def _part_rows(self) -> pa.Table:
        return self._part_tables.table_for(self._runs)

    def _ensure_parts(self, con: duckdb.DuckDBPyConnection) -> None:
        """The part table and live runs' journal rows registered, as of the last show()."""
        if self._parts_built == self._scan_gen and self._parts is not None:
            return
        self._parts = table = self._part_rows()
        self._register_parts(con, table)
        self._parts_built = self._scan_gen

    def _register_parts(self, con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
        con.register(Q.PART_LISTS_TABLE, table)
        t = Q.quote_ident(Q.PART_LISTS_TABLE)
        # A group is named by its first row's ord, not by its column set: a column name
        # is the file's text and may hold what no SQL literal can (a NUL).
        groups: dict[str, list[tuple[str | None, int]]] = {}
        for kind, cols, first in con.execute(
            f"SELECT kind, cols, min(ord) FROM {t} GROUP BY kind, cols ORDER BY 3"
        ).fetchall():
            groups.setdefault(kind, []).append((cols, first))
        self._groups = groups
        journals: dict[str, list[tuple[str, list[str]]]] = {}
        if any(kind.endswith("-journal") for kind in groups):  # a live run: rows not yet in parts
            for kind, run_id, paths in con.execute(
                f"SELECT kind, run_id, list(raw ORDER BY ord) FROM {t} WHERE kind LIKE '%-journal' "
                "GROUP BY ALL ORDER BY min(ord)"
            ).fetchall():
                journals.setdefault(kind.removesuffix("-journal"), []).append((run_id, paths))
        for stream in STREAMS:
            tables = [
                jt
                for run_id, paths in journals.get(stream, [])
                if (jt := self._streams.journal_table(stream, run_id, [Path(x) for x in paths])) is not None
            ]
            if tables:
                self._journal_streams.add(stream)
                con.register(Q.JOURNAL_TABLE.format(stream=stream), pa.concat_tables(tables, promote_options="default"))
            else:
                self._journal_streams.discard(stream)

    def _ensure_final_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """The `final` view (sql.final_view): summaries where the recorder vouches for them,
        history parts for the rest."""
        if self._final_built == self._scan_gen and self._final_runs_gen == self._runs_view_gen:
            return
        self._ensure_runs_view(con)
        if self._parts_built != self._scan_gen:
            # Only the runs whose summary does not answer for all their metrics: a root of
            # runs the recorder finished lists no part at all (a first open would read
            # 10,000 runs' footers otherwise). The full table replaces this one when a
            # stream view is built.
            complete = self._final_from_summary().to_pylist()
            rest = [p for p, done in zip(self._runs, complete, strict=True) if not done]
            self._register_parts(con, self._part_tables.listed_now(rest))
        has_parts = False
        if not self._all_final_from_summary():
            # ~15 ms at 10,000 runs (a join of every part with its run): skipped on the
            # common root of runs the recorder finished.
            con.execute(Q.final_parts_statement())
            has_parts = con.execute(f"SELECT getvariable('{Q.FINAL_PARTS.name}') IS NOT NULL").fetchall()[0][0]
        try:
            con.execute(*Q.final_view(bool(has_parts), "history" in self._journal_streams))
        except duckdb.Error as exc:  # e.g. parts with no metric column at all: summaries only
            self._warn("final-view", f"the final view reads summaries only: {first_line(exc)}")
            con.execute(*Q.final_view(False, False))
        self._final_built = self._scan_gen
        self._final_runs_gen = self._runs_view_gen

    def _final_from_summary(self) -> pa.ChunkedArray:
        assert self._runs_table is not None
        return self._runs_table.column("final_from_summary")

    def _all_final_from_summary(self) -> bool:
        col = self._final_from_summary()
        return col.null_count == 0 and sum(c.true_count for c in col.chunks) == len(col)

    def _ensure_stream_views(self, con: duckdb.DuckDBPyConnection) -> None:
        # The views show the files as of the last show(); a query in between costs nothing.
        if self._streams_built == self._scan_gen and self._parts is not None:
            return
        self._ensure_parts(con)
        groups = self._groups
        t = Q.quote_ident(Q.PART_LISTS_TABLE)
        # Every SET VARIABLE and CREATE VIEW in one script: one round trip, not ten.
        script: list[str] = []
        for stream in STREAMS:
            sources: list[Q.ListVariable] = []
            firsts = [first for cols, first in groups.get(stream, []) if cols is not None]
            if len(firsts) <= Q.MAX_SCHEMA_GROUPS:
                for k, first in enumerate(firsts):
                    sources.append(Q.ListVariable(f"loupe_{stream}_parts_{k}"))
                    script.append(
                        f"SET VARIABLE {sources[-1].name} = (SELECT list(path ORDER BY ord) FROM {t} "
                        f"WHERE kind = {Q.string_literal(stream)} "
                        f"AND cols = (SELECT cols FROM {t} WHERE ord = {int(first)}))"
                    )
            else:  # past that many schemas, one union_by_name scan (reads every footer)
                sources.append(Q.ListVariable(f"loupe_{stream}_parts", union_by_name=True))
                script.append(
                    f"SET VARIABLE {sources[0].name} = (SELECT list(path ORDER BY ord) FROM {t} "
                    f"WHERE kind = {Q.string_literal(stream)})"
                )
            script.append(Q.statement(*Q.stream_view(stream, sources, stream in self._journal_streams)))
        script.append(
            f"CREATE OR REPLACE TEMP VIEW {Q.quote_ident(Q.LOG_FILES_TABLE)} AS "
            f"SELECT raw AS path, run_id FROM {t} WHERE kind = 'log'"
        )
        logs = Q.ListVariable("loupe_log_files")
        if "log" in groups:
            script.append(f"SET VARIABLE {logs.name} = (SELECT list(path ORDER BY ord) FROM {t} WHERE kind = 'log')")
        script.append(Q.statement(*Q.logs_view(logs if "log" in groups else [])))
        con.execute(";\n".join(script))
        self._streams_built = self._scan_gen
        self._ensure_final_view(con)

    def _ensure_providers(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._providers_done:
            return
        self._providers_done = True
        for name in self._providers:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name is not None and name.startswith(exc.name):
                    continue
                self._warn(f"provider:{name}", f"view provider {name} failed to import: {exc}")
                continue
            except Exception as exc:
                self._warn(f"provider:{name}", f"view provider {name} failed to import: {exc!r}")
                continue
            register = getattr(module, "register", None)
            if register is None:
                continue
            try:
                if "run_dirs" in inspect.signature(register).parameters:
                    # Only runs known to have such files: a provider need not walk 10,000.
                    t = Q.quote_ident(Q.PART_LISTS_TABLE)
                    rows = con.execute(f"SELECT raw FROM {t} WHERE kind = 'media' ORDER BY ord").fetchall()
                    register(con, list(self._roots), run_dirs=[Path(r) for (r,) in rows])
                else:
                    register(con, list(self._roots))
            except Exception as exc:
                self._warn(f"provider:{name}", f"view provider {name} failed: {exc}")

    def with_runs_view(self) -> duckdb.DuckDBPyConnection:
        con = self.connection()
        self._ensure_runs_view(con)
        return con

    def with_all_views(self) -> duckdb.DuckDBPyConnection:
        con = self.with_runs_view()
        self._ensure_stream_views(con)
        self._ensure_providers(con)
        return con

    def _referenced(self, sql: str, con: duckdb.DuckDBPyConnection) -> set[str]:
        # Names a query reads, from a connection with no views (on one with views DuckDB
        # reports a view's sources instead of the view); empty if unsure. `con` is used
        # while it has none yet: a one-shot `loupe sql` then opens no second connection.
        fresh = self._runs_view_gen == -1 and self._streams_built == -1 and not self._providers_done
        if not fresh:
            if self._parse_con is None:
                # Only parsed, never run: no sandbox needed (setting one up costs ~30 ms).
                self._parse_con = duckdb.connect(":memory:")
            con = self._parse_con
        try:
            return {n.lower() for n in con.get_table_names(sql)}
        except duckdb.Error:
            return set()

    def for_query(self, sql: str) -> duckdb.DuckDBPyConnection:
        # A query over `runs` alone need not list or check any history file.
        con = self.connection()
        names = self._referenced(sql, con)
        if names and names <= {"runs", "final"}:
            self._ensure_runs_view(con)
            if "final" in names:  # the part table, but none of the stream views
                self._ensure_final_view(con)
            return con
        return self.with_all_views()

    def pruned_sql(self, sql: str, params: Sequence[Any] = ()) -> str:
        """`sql` reading views over only the runs its stream references can touch (after
        for_query(sql)); `sql` itself when nothing narrows (viewer.data.pruned_views)."""
        con = self._con
        if con is None or self._parts is None or self._streams_built != self._scan_gen:
            return sql
        return self._pruned.rewritten(con, sql, params, self._streams_built, self._journal_streams)

    # -- running --------------------------------------------------------------------------
    def invalidate_streams(self) -> None:
        """List every run's stream files again before the next query."""
        self._streams.invalidate()
        if self._forget_files is not None:
            self._forget_files()
        self._part_tables.forget()
        self._streams_built = -1
        self._parts_built = -1
        self._final_built = -1

    def run(
        self,
        build: Callable[[], tuple[str, list[Any]]],
        con_for: Callable[[], duckdb.DuckDBPyConnection],
        parts: Callable[[], list[Path]] | None = None,
    ) -> pa.Table:
        """build()'s statement on con_for()'s connection; `parts`: the Parquet files it reads,
        checked one by one if the query fails for a reason other than a vanished file."""
        for attempt in (0, 1):
            con = con_for()
            sql, params = build()
            try:
                return con.sql(sql, params=params or None).to_arrow_table()
            except duckdb.InterruptException:
                raise
            except duckdb.Error as exc:
                if attempt == 1:
                    raise
                if _is_file_error(exc):
                    # A part vanished (compaction) or changed: list again, retry once.
                    self.invalidate_streams()
                    continue
                # A part whose footer reads but whose data does not fails the whole
                # query; find it, leave it out with a warning, and try again.
                if parts is not None and self._streams.quarantine_unreadable(parts()):
                    self.invalidate_streams()
                    continue
                raise
        raise AssertionError("unreachable")

    def interrupt(self) -> None:
        """Stop the query running on the connection (safe from any thread: takes no lock)."""
        con = self._con
        if con is not None:
            con.interrupt()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def release(self) -> None:
        """Forget the connection without closing it: connect() hands it to its caller."""
        self._con = None
