"""Logging a draft: copy its files into the object store and publish its version record.

Runs synchronously inside log_artifact: the bytes stored (and the digests recorded) are
those read now, not when the files were added. When the content digest equals the
latest version's, no new version is written and the latest is reused.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder.artifacts import versions as _versions
from recorder.artifacts.locations import artifacts_dir, collection_dir
from recorder.artifacts.object_store import ObjectStore, hash_file
from recorder.journal import iso_now

if TYPE_CHECKING:
    from recorder.artifacts.artifact import Artifact

MANIFEST_FORMAT = 1


def publish_draft(
    art: Artifact, root: Path, project: str, producer: dict[str, Any] | None, aliases: list[str]
) -> tuple[int, dict[str, Any], bool]:
    """Store `art`'s pending files and publish the version; returns (version, record, created)."""
    check_no_file_dir_clash(art._pending)
    entries = _store_entries(ObjectStore(artifacts_dir(root, project)), art._pending)
    digest = _versions.content_digest(entries)
    record = {
        "format_version": MANIFEST_FORMAT,
        "project": project,
        "name": art._name,
        "type": art._type,
        "description": art.description,
        "metadata": art.metadata,
        "digest": digest,
        "size": sum(int(e.get("size") or 0) for e in entries),
        "file_count": len(entries),
        "created_at": iso_now(),
        "producer": producer,
        "skipped": art.skipped,
        "entries": entries,
    }
    cdir = collection_dir(root, project, art._name)

    def existing(versions: list[int]) -> int | None:
        if not versions:
            return None
        try:
            latest = _versions.read_version(cdir, max(versions))
        except Exception:
            return None  # a damaged record is never "equal": publish a fresh version
        if latest.get("type") != art._type:
            raise ValueError(
                f"artifact {project}/{art._name} has type {latest.get('type')!r}; cannot log it as type {art._type!r}"
            )
        return max(versions) if latest.get("digest") == digest else None

    return _versions.publish(cdir, record, aliases, existing)


def _store_entries(store: ObjectStore, pending: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path, item in sorted(pending.items()):
        if "ref" in item:
            e: dict[str, Any] = {"path": path, "ref": item["ref"], "digest": None, "size": item.get("size")}
            if item.get("src") and item.get("checksum"):
                try:
                    e["digest"], e["size"] = hash_file(item["src"], item.get("follow", True))
                except FileNotFoundError:
                    raise FileNotFoundError(f"log_artifact: referenced file {item['src']} vanished") from None
            entries.append(e)
            continue
        try:
            digest, size = store.put(item["src"], item.get("follow", True))
        except FileNotFoundError:
            raise FileNotFoundError(f"log_artifact: {item['src']} (added as {path!r}) no longer exists") from None
        entries.append({"path": path, "digest": digest, "size": size})
    return entries


def check_no_file_dir_clash(paths: Collection[str]) -> None:
    """'a' and 'a/b' cannot both exist on disk: refuse before anything is stored."""
    folders = set()
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    clash = sorted(p for p in paths if p in folders)
    if clash:
        raise ValueError(f"artifact path {clash[0]!r} is both a file and a folder of other files")
