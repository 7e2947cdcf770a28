"""viewer.connect(): a sandboxed DuckDB connection over the runs, for notebooks and scripts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import duckdb

from viewer.data.store import Store

__all__ = ["connect"]


def connect(
    roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], on_warning: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """A sandboxed DuckDB connection with views runs, history, system, text and logs.

        con = viewer.connect("runs")
        con.sql('SELECT id, "config.lr", "summary.val/loss" FROM runs ORDER BY 3').df()

    The views are a snapshot of the roots at call time; call connect() again to see new
    runs. Python replacement scans are off, so register DataFrames explicitly. Query this
    connection itself, not a .cursor() of it: the views read tables and variables that
    DuckDB keeps per connection (for threads, call connect() once per thread).
    """
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    return Store(roots, on_warning=on_warning, prebuild_views=True).hand_over_connection()
