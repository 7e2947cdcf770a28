"""The Artifact object: a draft you add files to, then a committed, immutable version.

    art = Artifact("training-dataset", type="dataset", metadata={"split": "train"})
    art.add_file("data/train.csv")
    art.add_dir("data/images/")            # symlinks out of the folder, FIFOs, loops: skipped
    run.log_artifact(art, aliases=["best"])  # copies into the store and publishes v<N> now
    art.download()                           # ./artifacts/training-dataset:v<N>/ verified by sha256

A draft remembers where its files are; their bytes are read when the artifact is logged
(synchronously, inside log_artifact), so a file must not change between add_file and
log_artifact if you care which bytes are kept. The stored digest is always that of the
bytes actually copied.

This module holds the object's identity and state, loading a version from disk and
saving alias changes; adding files is in draft_files.py, storing and publishing a
version in publish.py, getting files back out in download.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorder.artifacts import versions as _versions
from recorder.artifacts.artifact_names import check_digest, check_entry_path, check_name
from recorder.artifacts.download import Downloads
from recorder.artifacts.draft_files import DraftFiles
from recorder.artifacts.locations import artifacts_dir, collection_dir
from recorder.artifacts.manifest_entry import ArtifactManifestEntry
from recorder.artifacts.publish import publish_draft


class Artifact(DraftFiles, Downloads):
    """A versioned set of files, with wandb.Artifact's API: a draft until logged, then immutable."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        **_ignored: Any,
    ) -> None:
        self._name = check_name(name, "artifact name")
        self._type = check_name(type, "artifact type")
        self.description = description
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("artifact metadata must be a dict")
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.incremental = incremental
        self.skipped: list[dict[str, str]] = []
        self._pending: dict[str, dict[str, Any]] = {}
        self._staging: str | None = None
        self._staging_finalizer: Any = None
        # Committed state (set once logged, or when loaded from disk).
        self._root: Path | None = None
        self._project: str | None = None
        self._version: int | None = None
        self._record: dict[str, Any] | None = None
        self._entries: dict[str, ArtifactManifestEntry] = {}
        self._aliases: list[str] = []
        self._saved_aliases: list[str] = []
        self._link: dict[str, Any] | None = None  # set when loaded through a registry collection

    # -- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """`name` for a draft; `name:v<N>` once logged (as wandb)."""
        if self._link:
            return f"{self._link['collection']}:v{self._link['version']}"
        return self._name if self._version is None else f"{self._name}:v{self._version}"

    @property
    def source_name(self) -> str:
        return self._name if self._version is None else f"{self._name}:v{self._version}"

    @property
    def collection_name(self) -> str:
        return self._link["collection"] if self._link else self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def version(self) -> str | None:
        if self._link:
            return f"v{self._link['version']}"
        return None if self._version is None else f"v{self._version}"

    @property
    def source_version(self) -> str | None:
        return None if self._version is None else f"v{self._version}"

    @property
    def project(self) -> str | None:
        return self._link["registry"] if self._link else self._project

    @property
    def source_project(self) -> str | None:
        return self._project

    @property
    def entity(self) -> str:
        return "local"

    @property
    def qualified_name(self) -> str:
        return f"{self.project}/{self.name}" if self.project else self.name

    @property
    def id(self) -> str | None:
        return f"{self._project}/{self._name}:v{self._version}" if self._version is not None else None

    @property
    def state(self) -> str:
        return "COMMITTED" if self._version is not None else "PENDING"

    def is_draft(self) -> bool:
        return self._version is None

    @property
    def aliases(self) -> list[str]:
        if self._link:
            return self._link.setdefault("aliases", [])
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        if self._link:
            self._link["aliases"] = list(value)
        else:
            self._aliases = list(value)

    @property
    def digest(self) -> str | None:
        return self._record.get("digest") if self._record else None

    @property
    def size(self) -> int:
        if self._record:
            return int(self._record.get("size") or 0)
        return sum(int(p.get("size") or 0) for p in self._pending.values())

    @property
    def file_count(self) -> int:
        return len(self._entries) if self._record else len(self._pending)

    @property
    def created_at(self) -> str | None:
        return self._record.get("created_at") if self._record else None

    @property
    def manifest(self) -> dict[str, Any]:
        """The version's manifest as stored (a copy); a draft's pending entries otherwise."""
        if self._record:
            return dict(self._record)
        return {
            "entries": [
                {"path": p, **{k: v for k, v in e.items() if k != "follow"}} for p, e in sorted(self._pending.items())
            ]
        }

    def logged_by(self) -> str | None:
        """The id of the run that produced this version (None if logged without a run)."""
        producer = (self._record or {}).get("producer") or {}
        return producer.get("run_id")

    def used_by(self) -> list[str]:
        """Ids of the runs that used this version (from the project's usage log)."""
        self._require_committed("list the users of")
        from recorder.journal import read_usage

        seen: list[str] = []
        for ev in read_usage(artifacts_dir(self._root, self._project)):
            if (
                ev["name"] == self._name
                and ev["version"] == self._version
                and ev["role"] == "input"
                and ev["run_id"] not in seen
            ):
                seen.append(ev["run_id"])
        return seen

    def wait(self, timeout: float | None = None) -> Artifact:
        return self  # logging is synchronous

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self._type} {self.state.lower()}>"

    # -- state guards -----------------------------------------------------------------------
    def _require_draft(self, what: str) -> None:
        if self._version is not None:
            raise ValueError(f"cannot {what} artifact {self.qualified_name}: it is logged and immutable")

    def _require_committed(self, what: str) -> None:
        if self._version is None:
            raise ValueError(f"cannot {what} artifact {self._name!r}: it has not been logged yet")

    # -- reading --------------------------------------------------------------------------
    def files(self, names: list[str] | None = None) -> list[ArtifactManifestEntry]:
        if self._record is None:
            entries = [self._pending_entry(p, e) for p, e in sorted(self._pending.items())]
        else:
            entries = [self._entries[p] for p in sorted(self._entries)]
        return [e for e in entries if names is None or e.path in names]

    def get_entry(self, name: str) -> ArtifactManifestEntry:
        path = check_entry_path(name)
        if self._record is None:
            item = self._pending.get(path)
            if item is None:
                raise KeyError(f"artifact {self.name!r} has no file {path!r}")
            return self._pending_entry(path, item)
        entry = self._entries.get(path)
        if entry is None:
            raise KeyError(f"artifact {self.name!r} has no file {path!r}")
        return entry

    get_path = get_entry

    def get(self, name: str) -> Any:
        raise NotImplementedError("Artifact.get(object) is not supported; use get_entry(name).download()")

    # -- committing -----------------------------------------------------------------------
    def _commit(self, root: Path, project: str, producer: dict[str, Any] | None, aliases: list[str]) -> bool:
        """Store the files and publish a version; returns True if a new version was created."""
        self._require_draft("log")
        version, stored, created = publish_draft(self, root, project, producer, list(aliases) + list(self._aliases))
        cdir = collection_dir(root, project, self._name)
        self._load(root, project, stored, _versions.aliases_by_version(cdir).get(version, []))
        if self._staging_finalizer is not None:
            self._staging_finalizer()
        self._pending = {}
        return created

    def _load(self, root: Path, project: str, record: dict[str, Any], aliases: list[str]) -> None:
        self._root = Path(root)
        self._project = project
        self._version = int(record["version"])
        self._record = record
        self._type = record.get("type", self._type)
        self.description = record.get("description")
        meta = record.get("metadata")
        self.metadata = dict(meta) if isinstance(meta, dict) else {}
        skipped = record.get("skipped")
        self.skipped = [s for s in skipped if isinstance(s, dict)] if isinstance(skipped, list) else []
        self._entries = {}
        for e in record.get("entries") or []:
            path = check_entry_path(e.get("path"), "file path in manifest")
            digest = e.get("digest")
            if digest is not None:
                check_digest(digest)
            self._entries[path] = ArtifactManifestEntry(self, path, digest, e.get("size"), e.get("ref"))
        self._aliases = list(aliases)
        self._saved_aliases = list(aliases)

    @classmethod
    def _from_disk(cls, root: Path, project: str, name: str, version: int) -> Artifact:
        cdir = collection_dir(root, project, name)
        record = _versions.read_version(cdir, version)
        art = cls.__new__(cls)
        Artifact.__init__(art, name, record.get("type") or "unspecified")
        art._load(root, project, record, _versions.aliases_by_version(cdir).get(version, []))
        return art

    def save(self, project: str | None = None, settings: Any = None) -> Artifact:
        """Committed: persist alias changes made to `artifact.aliases`. Draft: log it (with
        the active run when there is one)."""
        if self._version is None:
            from recorder import _active
            from recorder.artifacts.run_artifacts import log_artifact, log_without_run

            run = _active.current()
            if run is not None:
                return log_artifact(run, self)
            return log_without_run(self, project=project)
        if self._link:
            from recorder.artifacts.registry import set_link_aliases

            set_link_aliases(self._root, self._link, self._link.get("aliases", []))
            return self
        add = [a for a in self._aliases if a not in self._saved_aliases and a != _versions.LATEST]
        remove = [a for a in self._saved_aliases if a not in self._aliases and a != _versions.LATEST]
        cdir = collection_dir(self._root, self._project, self._name)
        _versions.set_aliases(cdir, self._version, add=add, remove=remove)
        self._aliases = _versions.aliases_by_version(cdir).get(self._version, [])
        self._saved_aliases = list(self._aliases)
        return self

    def link(self, target_path: str, aliases: list[str] | None = None) -> Artifact:
        """Add this version to a registry collection (see recorder.artifacts.registry)."""
        from recorder import _active
        from recorder.artifacts.run_artifacts import link_artifact

        run = _active.current()
        if run is not None:
            return link_artifact(run, self, target_path, aliases=aliases)
        self._require_committed("link")
        from recorder.artifacts.registry import link

        return link(self, target_path, aliases or [], run=None)
