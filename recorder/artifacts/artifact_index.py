"""Pure-Python readers of everything artifacts leave on disk (no pyarrow, no duckdb).

The SQL views (viewer/data/artifact_views.py), the CLI and the TUI build on these. Each
reader takes a runs root (`<root>/<project>/...`) and never raises on damaged files: a
version record that does not parse is left out and described in `errors` if a list is
passed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from recorder import layout
from recorder.artifacts import versions as _versions
from recorder.artifacts.artifact_names import check_name
from recorder.artifacts.lineage import read_run_artifacts, read_usage
from recorder.artifacts.locations import COLLECTIONS_DIR, artifacts_dir
from recorder.artifacts.registry import collection_dir as _reg_dir
from recorder.artifacts.registry import list_registries


def projects(root: Path) -> list[str]:
    """Projects under root that have an `_artifacts` folder."""
    return layout.listed_names(
        root, lambda n: layout.check_name(n, "project name"), lambda p: (p / layout.ARTIFACTS_DIR).is_dir()
    )


def collections(root: Path, project: str) -> list[str]:
    return layout.listed_names(artifacts_dir(root, project) / COLLECTIONS_DIR, check_name, Path.is_dir)


def versions(root: Path, project: str, name: str, errors: list[str] | None = None) -> list[dict[str, Any]]:
    """Version records of one artifact, oldest first, each with an `aliases` list added."""
    cdir = artifacts_dir(root, project) / COLLECTIONS_DIR / name
    nums = _versions.list_versions(cdir)
    aliases = _versions.aliases_by_version(cdir, nums)
    out = []
    for v in nums:
        try:
            rec = _versions.read_version(cdir, v)
        except Exception as exc:
            if errors is not None:
                errors.append(f"{_versions.version_file(cdir, v)}: {exc}")
            continue
        rec = {**rec, "version": v, "project": project, "name": name, "aliases": aliases.get(v, [])}
        out.append(rec)
    return out


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
        for ev in read_usage(artifacts_dir(root, p)):
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
    for reg, col in list_registries(root):
        cdir = _reg_dir(root, reg, col)
        nums = _versions.list_versions(cdir)
        aliases = _versions.aliases_by_version(cdir, nums)
        for v in nums:
            try:
                rec = _versions.read_version(cdir, v)
            except Exception as exc:
                if errors is not None:
                    errors.append(f"{_versions.version_file(cdir, v)}: {exc}")
                continue
            src = rec.get("source") or {}
            out.append(
                {
                    "registry": reg,
                    "collection": col,
                    "version": v,
                    "aliases": aliases.get(v, []),
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


def run_artifacts(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """A run's `artifacts.json`: {"inputs": [...], "outputs": [...], "links": [...]}."""
    return read_run_artifacts(Path(run_dir))


def referenced_digests(root: Path, project: str) -> set[str]:
    """Every store object a manifest of `project` references. Raises if any manifest is
    unreadable: a garbage collector must not guess."""
    out: set[str] = set()
    for n in collections(root, project):
        cdir = artifacts_dir(root, project) / COLLECTIONS_DIR / n
        for v in _versions.list_versions(cdir):
            rec = _versions.read_version(cdir, v)  # raises on damage, on purpose
            for e in rec.get("entries") or []:
                if isinstance(e, dict) and e.get("digest") and not e.get("ref"):
                    out.add(e["digest"])
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
        found: tuple[Path, str | None]
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
            cdir = artifacts_dir(root, p) / COLLECTIONS_DIR / n
            nums = _versions.list_versions(cdir)
            kind = None
            if nums:
                try:
                    kind = _versions.read_version(cdir, nums[-1]).get("type")
                except Exception:
                    kind = None
            out.append(
                {"project": p, "name": n, "versions": len(nums), "type": kind, "latest": nums[-1] if nums else None}
            )
    return out


def registry_rows(root: Path) -> list[dict[str, Any]]:
    """One row per registry collection: registry, collection, versions (count)."""
    return [
        {"registry": reg, "collection": col, "versions": len(_versions.list_versions(_reg_dir(root, reg, col)))}
        for reg, col in list_registries(root)
    ]
