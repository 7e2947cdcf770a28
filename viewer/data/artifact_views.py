"""SQL views of artifacts for the viewer's DuckDB connection.

    register(con, [Path("runs")])
    con.sql("SELECT name, version, aliases FROM artifacts WHERE type = 'model'")

Views (registered Arrow tables, rebuilt on every call; safe to call after the sandbox
settings are locked, since nothing is read by DuckDB itself):

* artifacts(project, name, version, type, digest, size, file_count, aliases LIST<VARCHAR>,
  created_at TIMESTAMPTZ, producer_run_id, metadata (JSON text), description)
* artifact_files(project, name, version, path, digest, size, ref)
* artifact_usage(project, name, version, run_id, role 'input'|'output', run_project, at)
* artifact_links(registry, collection, version, aliases, type, source_project, source_name,
  source_version, source_digest, linked_at, run_id)

Rows come from viewer.data.artifact_index (pure Python), which never raises on damaged
files; register() returns nothing and leaves unreadable versions out.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from viewer.data import artifact_index as index
from viewer.data.arrow_build import column

_TS = pa.timestamp("us", tz="UTC")

ARTIFACTS_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("name", pa.string()),
        ("version", pa.int64()),
        ("type", pa.string()),
        ("digest", pa.string()),
        ("size", pa.int64()),
        ("file_count", pa.int64()),
        ("aliases", pa.list_(pa.string())),
        ("created_at", _TS),
        ("producer_run_id", pa.string()),
        ("metadata", pa.string()),
        ("description", pa.string()),
    ]
)
FILES_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("name", pa.string()),
        ("version", pa.int64()),
        ("path", pa.string()),
        ("digest", pa.string()),
        ("size", pa.int64()),
        ("ref", pa.string()),
    ]
)
USAGE_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("name", pa.string()),
        ("version", pa.int64()),
        ("run_id", pa.string()),
        ("role", pa.string()),
        ("run_project", pa.string()),
        ("at", _TS),
    ]
)
LINKS_SCHEMA = pa.schema(
    [
        ("registry", pa.string()),
        ("collection", pa.string()),
        ("version", pa.int64()),
        ("aliases", pa.list_(pa.string())),
        ("type", pa.string()),
        ("source_project", pa.string()),
        ("source_name", pa.string()),
        ("source_version", pa.int64()),
        ("source_digest", pa.string()),
        ("linked_at", _TS),
        ("run_id", pa.string()),
    ]
)


def _ts(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _clean(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    for row in rows:
        for f in schema:
            v = row.get(f.name)
            if f.type == _TS:
                v = _ts(v)
            elif pa.types.is_integer(f.type):
                v = v if isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 else None
            elif pa.types.is_string(f.type):
                v = v if isinstance(v, str) else (None if v is None else str(v))
            elif pa.types.is_list(f.type):
                v = [str(x) for x in v] if isinstance(v, list) else []
            cols[f.name].append(v)
    return pa.Table.from_arrays([column(cols[f.name], f.type) for f in schema], schema=schema)


def tables(roots: list[Path]) -> dict[str, pa.Table]:
    """The four views' contents as Arrow tables (what register() registers)."""
    a, f, u, l = [], [], [], []
    for root in roots:
        records = index.all_versions(Path(root))
        a += index.artifact_rows(root, records=records)
        f += index.file_rows(root, records=records)
        u += index.usage_rows(root, records=records)
        l += index.link_rows(root)
    return {
        "artifacts": _clean(a, ARTIFACTS_SCHEMA),
        "artifact_files": _clean(f, FILES_SCHEMA),
        "artifact_usage": _clean(u, USAGE_SCHEMA),
        "artifact_links": _clean(l, LINKS_SCHEMA),
    }


def register(con: Any, roots: list[Path]) -> None:
    """Create (or refresh) the artifacts, artifact_files, artifact_usage and artifact_links views."""
    for name, table in tables([Path(r) for r in roots]).items():
        con.register(name, table)
