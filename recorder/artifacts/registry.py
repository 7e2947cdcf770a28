"""A local model registry: named collections that point at artifact versions.

    <root>/_registry/<registry>/<collection>/
      v0.json, v1.json, ...   {"registry", "collection", "version", "type", "source":
                               {"project", "name", "version", "digest"}, "linked_at", "linked_by"}
      aliases.json            the collection's own aliases (latest is always its highest version)

`run.link_artifact(art, "model-registry/production-models")` appends the artifact's
version to the collection, which numbers its members v0, v1, ... on its own. Linking a
version that is already in the collection adds no member (its aliases still move).
`_registry` cannot be a project name (those start with a letter or digit), so the
registry never looks like a project to a reader of `<root>/*/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder import layout
from recorder.artifacts import versions as _versions
from recorder.artifacts.artifact import Artifact
from recorder.artifacts.artifact_names import check_name
from recorder.artifacts.naming import parse_target
from recorder.journal import iso_now

if TYPE_CHECKING:
    from recorder.run_api import Run


def collection_dir(root: Path, registry: str, collection: str) -> Path:
    return layout.registry_dir(root) / check_name(registry, "registry name") / check_name(collection, "collection name")


def link(art: Artifact, target_path: str, aliases: list[str], run: Run | None) -> Artifact:
    """Add committed `art` to the collection named by target_path; returns it as seen through
    the collection (name `collection:v<K>`, the collection's aliases)."""
    art._require_committed("link")
    default_project = run.project if run is not None else art._project
    registry, collection = parse_target(target_path, default_project)
    root = art._root
    cdir = collection_dir(root, registry, collection)
    source = {"project": art._project, "name": art._name, "version": art._version, "digest": art.digest}
    record = {
        "registry": registry,
        "collection": collection,
        "type": art.type,
        "source": source,
        "linked_at": iso_now(),
        "linked_by": ({"run_id": run.id, "project": run.project} if run is not None else None),
    }

    def existing(versions: list[int]) -> int | None:
        for v in reversed(versions):
            try:
                src = _versions.read_version(cdir, v).get("source") or {}
            except Exception:
                continue
            if all(src.get(k) == source[k] for k in ("project", "name", "version")):
                return v
        return None

    version, _stored, _created = _versions.publish(cdir, record, list(aliases), existing)
    return load_link(root, registry, collection, version)


def load_link(root: Path, registry: str, collection: str, version: int) -> Artifact:
    cdir = collection_dir(root, registry, collection)
    record = _versions.read_version(cdir, version)
    src = record.get("source") or {}
    art = Artifact._from_disk(
        root, check_name(src.get("project", ""), "project name"), src.get("name", ""), int(src.get("version"))
    )
    art._link = {
        "registry": registry,
        "collection": collection,
        "version": version,
        "aliases": _versions.aliases_by_version(cdir).get(version, []),
        "linked_at": record.get("linked_at"),
        "linked_by": record.get("linked_by"),
    }
    return art


def resolve(root: Path, registry: str, collection: str, alias: str) -> Artifact | None:
    cdir = collection_dir(root, registry, collection)
    version = _versions.resolve(cdir, alias)
    if version is None:
        return None
    return load_link(root, registry, collection, version)


def set_link_aliases(root: Path, link_info: dict[str, Any], aliases: list[str]) -> None:
    cdir = collection_dir(root, link_info["registry"], link_info["collection"])
    current = _versions.aliases_by_version(cdir).get(link_info["version"], [])
    _versions.set_aliases(
        cdir,
        link_info["version"],
        add=[a for a in aliases if a not in current],
        remove=[a for a in current if a not in aliases],
    )
