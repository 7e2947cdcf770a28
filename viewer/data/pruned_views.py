"""Views over only the runs a query can touch (viewer.data.run_pruning), made on demand.

    pruned = PrunedViews()
    sql = pruned.rewritten(con, sql, params, built, journal_streams)
    # `sql` reading those views where it names history/system/text with a run_id filter;
    # the same text where nothing narrows

At 10,000 runs a query on one run's history went from opening 10,000 footers (~2 s) to
opening its own. A view is kept per (stream, runs, listing built) and named by a digest
of its runs, so asking again costs nothing until the next listing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from typing import Any

import duckdb

from recorder import layout
from viewer.data import sql as Q
from viewer.data.run_pruning import prunable_references, rewrite

__all__ = ["PrunedViews"]

_KEEP = 64  # views remembered; past that the map starts again (the names are reused)


class PrunedViews:
    def __init__(self) -> None:
        self._names: dict[tuple[str, frozenset[str], int], str] = {}

    def rewritten(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        params: Sequence[Any],
        built: int,
        journal_streams: Collection[str],
    ) -> str:
        """`sql` over pruned views on `con`, whose part table (Q.PART_LISTS_TABLE) and
        stream views are those of listing number `built`."""
        try:
            tree = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]
        except duckdb.Error:
            return sql
        refs = prunable_references(tree, set(layout.STREAM_DIRS), params)
        if not refs:
            return sql
        names = {ref: self._view(con, ref.stream, ref.run_ids, built, ref.stream in journal_streams) for ref in refs}
        return rewrite(sql, refs, names)

    def _view(
        self, con: duckdb.DuckDBPyConnection, stream: str, run_ids: frozenset[str], built: int, journal: bool
    ) -> str:
        key = (stream, run_ids, built)
        name = self._names.get(key)
        if name is not None:
            return name
        if len(self._names) > _KEEP:
            self._names.clear()
        digest = hashlib.sha1("\0".join(sorted(run_ids)).encode()).hexdigest()[:16]
        name = f"_loupe_{stream}_{digest}"
        groups = con.execute(
            f"SELECT list(raw ORDER BY run_id, ord) FROM {Q.quote_ident(Q.PART_LISTS_TABLE)} "
            "WHERE kind = ? AND list_contains(?, run_id) GROUP BY cols ORDER BY min(ord)",
            [stream, sorted(run_ids)],
        ).fetchall()
        con.execute(*Q.stream_view(stream, [g for (g,) in groups], journal, name=name))
        self._names[key] = name
        return name
