"""The SQL console's query call: a user's SELECT through the store, with a row limit.

    limited_query(store, sql, limit=500) -> LimitedResult(table, more, elapsed)

A SELECT is wrapped as `SELECT * FROM (<sql>) LIMIT limit+1` so DuckDB stops producing
rows after the probe row instead of materialising a whole `SELECT * FROM history`; the
probe row only tells `more`. Other statements the store allows (EXPLAIN) run as typed.
The store still checks the text (one statement, SELECT/EXPLAIN only) and runs it in its
sandbox; its QueryError / duckdb.Error propagate to the caller, except that a query
stopped by Store.interrupt() raises QueryCancelled, so the console needs no duckdb import.

No Textual import: this is the data layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from viewer.data.store import Store

__all__ = ["DEFAULT_LIMIT", "LimitedResult", "QueryCancelled", "limited_query"]

DEFAULT_LIMIT = 500


class QueryCancelled(Exception):
    """The query was stopped by Store.interrupt() before it finished."""


@dataclass
class LimitedResult:
    table: pa.Table  # at most `limit` rows
    more: bool  # the query had more rows than `limit`
    elapsed: float


def _wrapped(store: Store, sql: str, limit: int) -> str:
    try:
        statements = store.parse(sql)
    except duckdb.Error:
        return sql  # let the store report the parse error on the text as typed
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return sql
    body = statements[0].query.rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    # Newlines keep a trailing `-- comment` from swallowing the closing parenthesis.
    return f"SELECT * FROM (\n{body}\n) AS loupe_console LIMIT {int(limit) + 1}"


def limited_query(store: Store, sql: str, limit: int = DEFAULT_LIMIT) -> LimitedResult:
    t0 = time.perf_counter()
    try:
        table = store.query(_wrapped(store, sql, limit))
    except duckdb.InterruptException as exc:
        raise QueryCancelled(str(exc)) from exc
    more = table.num_rows > limit
    if more:
        table = table.slice(0, limit)
    return LimitedResult(table, more, time.perf_counter() - t0)
