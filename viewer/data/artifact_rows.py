"""What the artifacts pane shows, read from disk: collections and their versions.

Pure functions over viewer.data.artifact_index, called from the pane's thread workers.
Records are untrusted, so every field is read defensively and nothing here draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import journal
from viewer.data import artifact_index


@dataclass(frozen=True)
class Entry:
    kind: str  # artifact | registry
    root: Path
    group: str  # project, or registry name
    name: str  # artifact name, or registry collection
    versions: int
    type: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "registry":
            return f"registry {self.group}/{self.name}"
        return f"{self.group}/{self.name}"


@dataclass
class VersionRow:
    version: int
    aliases: list[str]
    type: str | None
    size: int | None
    file_count: int
    created_at: str | None
    digest: str | None
    description: str | None = None
    metadata: Any = None
    files: list[dict] = field(default_factory=list)
    skipped: list[Any] = field(default_factory=list)
    producer: tuple[str, str | None] | None = None  # run id, run project
    consumers: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # run id, project, at
    source: str | None = None  # registry member: project/name:vN
    linked_at: str | None = None
    run_names: dict[str, str] = field(default_factory=dict)


def load_entries(roots: list[Path]) -> tuple[list[Entry], list[str]]:
    """Every artifact and registry collection under the roots, and what could not be read."""
    entries: list[Entry] = []
    errors: list[str] = []
    seen_registries: set[Path] = set()
    for root, project in artifact_index.locate(roots):
        try:
            for r in artifact_index.collection_rows(root, project):
                entries.append(Entry("artifact", root, r["project"], r["name"], r["versions"], r["type"]))
            if root not in seen_registries:
                seen_registries.add(root)
                for r in artifact_index.registry_rows(root):
                    entries.append(Entry("registry", root, r["registry"], r["collection"], r["versions"]))
        except Exception as exc:
            errors.append(f"{root}: {exc}")
    return entries, errors


def load_versions(
    entry: Entry, run_name: Callable[[str], str | None] | None = None
) -> tuple[list[VersionRow], list[str]]:
    """The entry's versions, newest first, with producers and consumers (and run names)."""
    errors: list[str] = []
    rows: list[VersionRow] = []
    if entry.kind == "artifact":
        records = artifact_index.versions(entry.root, entry.group, entry.name, errors)
        usage = artifact_index.usage_rows(entry.root, errors, records=records)
        for rec in records:
            rows.append(_row_from_record(rec, rec["version"], rec.get("aliases") or []))
        by_version = {r.version: r for r in rows}
        for u in usage:
            if u["project"] != entry.group or u["name"] != entry.name:
                continue
            row = by_version.get(u["version"])
            if row is None:
                continue
            if u["role"] == "output":
                row.producer = row.producer or (u["run_id"], u.get("run_project"))
            elif u["role"] == "input":
                row.consumers.append((u["run_id"], u.get("run_project"), u.get("at")))
    else:
        cache: dict[tuple[str, str], dict[int, dict]] = {}
        for link in artifact_index.link_rows(entry.root, errors):
            if link["registry"] != entry.group or link["collection"] != entry.name:
                continue
            sp, sn, sv = link.get("source_project"), link.get("source_name"), link.get("source_version")
            source = None
            if isinstance(sp, str) and isinstance(sn, str):
                if (sp, sn) not in cache:
                    try:
                        cache[(sp, sn)] = {r["version"]: r for r in artifact_index.versions(entry.root, sp, sn, errors)}
                    except Exception as exc:  # a hostile source name in a damaged link record
                        errors.append(f"{sp}/{sn}: {exc}")
                        cache[(sp, sn)] = {}
                source = cache[(sp, sn)].get(sv)
            row = _row_from_record(source or {"type": link.get("type")}, link["version"], link.get("aliases") or [])
            row.source = f"{sp}/{sn}:v{sv}"
            row.linked_at = link.get("linked_at")
            if link.get("run_id"):
                row.producer = (link["run_id"], None)
            rows.append(row)
    if run_name is not None:
        ids = {r.producer[0] for r in rows if r.producer} | {c[0] for r in rows for c in r.consumers}
        names = {i: n for i in ids if (n := run_name(i))}
        for r in rows:
            r.run_names = names
    rows.sort(key=lambda r: -r.version)
    return rows, errors


def _row_from_record(rec: dict, version: int, aliases: list[str]) -> VersionRow:
    entries = [e for e in rec.get("entries") or [] if isinstance(e, dict)]
    producer = rec.get("producer") if isinstance(rec.get("producer"), dict) else {}
    return VersionRow(
        version=version,
        aliases=[str(a) for a in aliases],
        type=rec.get("type"),
        size=rec.get("size"),
        file_count=int(rec.get("file_count") or len(entries)),
        created_at=rec.get("created_at"),
        digest=rec.get("digest"),
        description=rec.get("description"),
        metadata=rec.get("metadata"),
        files=entries,
        skipped=list(rec.get("skipped") or []),
        producer=(producer["run_id"], producer.get("project")) if producer.get("run_id") else None,
    )


def load_run_io(run_dir: Path) -> dict[str, list[dict]]:
    """A run's artifact inputs, outputs and registry links ({"inputs", "outputs", "links"});
    empty lists when it has none or its artifacts.json is damaged."""
    return journal.read_run_artifacts(run_dir)
