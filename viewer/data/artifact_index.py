"""Rows of everything artifacts leave on disk, for the viewer (pure Python: no pyarrow, no duckdb).

The SQL views (viewer/data/artifact_views.py), the artifacts pane (viewer/data/artifact_rows.py)
and `loupe artifacts ls` build on these. Files are found and decoded only through the file
contract (recorder.layout names the folders and version files, recorder.journal reads the
version, alias and usage records), the same functions the recorder's artifact store uses.
Each reader takes a runs root (`<root>/<project>/...`) and never raises on damaged files: a
version record that does not parse is left out and described in `errors` if a list is passed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from recorder import journal, layout

projects = layout.artifact_projects
collections = layout.artifact_collections


def versions(root: Path, project: str, name: str, errors: list[str] | None = None) -> list[dict[str, Any]]:
    """Version records of one artifact, oldest first, with `version`, `aliases`, `project`
    and `name` set; raises ValueError for a name that could leave the store (names may come
    from a damaged link record)."""
    cdir = layout.artifact_collections_dir(root, layout.check_name(project, "project name"))
    cdir = cdir / layout.check_name(name, "artifact name")
    return [{**rec, "project": project, "name": name} for rec in journal.read_collection(cdir, errors)]


def all_versions(root: Path, errors: list[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for p in projects(root):
        for n in collections(root, p):
            out.extend(versions(root, p, n, errors))
    return out


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except Exception:
        return "{}"


def artifact_rows(
    root: Path, errors: list[str] | None = None, records: list[dict] | None = None
) -> list[dict[str, Any]]:
    records = all_versions(root, errors) if records is None else records
    return [
        {
            "project": r["project"],
            "name": r["name"],
            "version": r["version"],
            "type": r.get("type"),
            "digest": r.get("digest"),
            "size": r.get("size"),
            "file_count": r.get("file_count", len(r.get("entries") or [])),
            "aliases": list(r.get("aliases") or []),
            "created_at": r.get("created_at"),
            "producer_run_id": (r.get("producer") or {}).get("run_id"),
            "metadata": _json_text(r.get("metadata") or {}),
            "description": r.get("description"),
        }
        for r in records
    ]


def file_rows(root: Path, errors: list[str] | None = None, records: list[dict] | None = None) -> list[dict[str, Any]]:
    records = all_versions(root, errors) if records is None else records
    out = []
    for r in records:
        for e in r.get("entries") or []:
            if not isinstance(e, dict):
                continue
            out.append(
                {
                    "project": r["project"],
                    "name": r["name"],
                    "version": r["version"],
                    "path": e.get("path"),
                    "digest": e.get("digest"),
                    "size": e.get("size"),
                    "ref": e.get("ref"),
                }
            )
    return out


def usage_rows(root: Path, errors: list[str] | None = None, records: list[dict] | None = None) -> list[dict[str, Any]]:
    """(project, name, version, run_id, role, run_project, at): producers and consumers."""
    records = all_versions(root, errors) if records is None else records
    out: list[dict[str, Any]] = []
    seen: set[tuple] = set()

    def add(row: dict[str, Any]) -> None:
        key = (row["project"], row["name"], row["version"], row["run_id"], row["role"])
        if key not in seen:
            seen.add(key)
            out.append(row)

    for r in records:
        producer = r.get("producer") or {}
        if producer.get("run_id"):
            add(
                {
                    "project": r["project"],
                    "name": r["name"],
                    "version": r["version"],
                    "run_id": producer["run_id"],
                    "role": "output",
                    "run_project": producer.get("project"),
                    "at": r.get("created_at"),
                }
            )
    for p in projects(root):
        for ev in journal.read_usage(layout.artifacts_dir(root, p)):
            add(
                {
                    "project": p,
                    "name": ev["name"],
                    "version": ev["version"],
                    "run_id": ev["run_id"],
                    "role": ev["role"],
                    "run_project": ev.get("run_project"),
                    "at": ev.get("at"),
                }
            )
    return out


def link_rows(root: Path, errors: list[str] | None = None) -> list[dict[str, Any]]:
    """Registry members: (registry, collection, version, aliases, source_*, linked_at, run_id)."""
    out = []
    for reg, col in layout.registry_collections(root):
        for rec in journal.read_collection(layout.registry_dir(root) / reg / col, errors):
            src = rec.get("source") or {}
            out.append(
                {
                    "registry": reg,
                    "collection": col,
                    "version": rec["version"],
                    "aliases": rec["aliases"],
                    "type": rec.get("type"),
                    "source_project": src.get("project"),
                    "source_name": src.get("name"),
                    "source_version": src.get("version"),
                    "source_digest": src.get("digest"),
                    "linked_at": rec.get("linked_at"),
                    "run_id": (rec.get("linked_by") or {}).get("run_id"),
                }
            )
    return out


# -- for browsing (the viewer's artifacts pane) ---------------------------------------------------
def locate(roots: Any) -> list[tuple[Path, str | None]]:
    """Where artifacts live for each given folder: (runs root, project or None for every project).

    A folder may be a runs root (`<root>/<project>/...`), a project folder (it holds
    `_artifacts` or runs) or a run folder; the last two name their project.
    """
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    out: list[tuple[Path, str | None]] = []
    for r in map(Path, roots):
        if layout.is_run_dir(r):
            found = (r.parent.parent, r.parent.name)
        elif (r / layout.ARTIFACTS_DIR).is_dir() or _holds_runs(r):
            found = (r.parent, r.name)
        else:
            found = (r, None)
        if found not in out:
            out.append(found)
    # A whole root already covers its projects.
    return [(root, p) for root, p in out if p is None or (root, None) not in out]


def _holds_runs(folder: Path) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(e.is_dir() and layout.is_run_dir(Path(e.path)) for e in it)
    except OSError:
        return False


def collection_rows(root: Path, project: str | None = None) -> list[dict[str, Any]]:
    """One row per artifact collection: project, name, versions (count), type, latest version.

    Reads only each collection's latest version record (for its type), not every version.
    """
    out = []
    for p in [project] if project else projects(root):
        for n in collections(root, p):
            cdir = layout.artifact_collections_dir(root, p) / n
            nums = layout.listed_versions(cdir)
            kind = None
            if nums:
                try:
                    kind = journal.read_version_record(cdir, nums[-1]).get("type")
                except (OSError, ValueError):
                    kind = None
            out.append(
                {"project": p, "name": n, "versions": len(nums), "type": kind, "latest": nums[-1] if nums else None}
            )
    return out


def registry_rows(root: Path) -> list[dict[str, Any]]:
    """One row per registry collection: registry, collection, versions (count)."""
    return [
        {
            "registry": reg,
            "collection": col,
            "versions": len(layout.listed_versions(layout.registry_dir(root) / reg / col)),
        }
        for reg, col in layout.registry_collections(root)
    ]
