"""Loupe viewer: query layer, CLI and terminal dashboard.

    import viewer
    con = viewer.connect("runs")            # sandboxed DuckDB with runs/history/system/text/logs
    con.sql('SELECT id, "config.lr" FROM runs').df()
    store = viewer.Store(["runs"])          # the typed API the dashboard uses

Attributes load on first use, so `import viewer` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunInfo", "Store", "connect"]


def __getattr__(name: str) -> Any:
    if name == "connect":
        from viewer.data.connect import connect

        return connect
    if name == "Store":
        from viewer.data.store import Store

        return Store
    if name == "RunInfo":
        from viewer.data.runs_table import RunInfo

        return RunInfo
    raise AttributeError(f"module 'viewer' has no attribute {name!r}")
