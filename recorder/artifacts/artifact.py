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
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import stat
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

from ..layout import ARTIFACTS_DIR
from ..warn import warn
from . import versions as _versions
from .paths import check_entry_path, check_name, make_parents_inside, safe_join
from .store import (
    ArtifactCorruptedError,
    ArtifactMissingError,
    ObjectStore,
    copy_hashing,
    hash_file,
    open_regular,
    tmp_name,
)
from .walk import walk

COLLECTIONS_DIR = "collections"
MANIFEST_FORMAT = 1


def iso_now(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def artifacts_dir(root: Path, project: str) -> Path:
    return Path(root) / project / ARTIFACTS_DIR


def collection_dir(root: Path, project: str, name: str) -> Path:
    return artifacts_dir(root, project) / COLLECTIONS_DIR / check_name(name)


def default_download_root() -> Path:
    return Path(os.environ.get("LOUPE_ARTIFACT_DIR") or os.environ.get("WANDB_ARTIFACT_DIR") or "artifacts")


class ArtifactManifestEntry:
    """One file of an artifact: `path` inside it, `digest` (sha256 hex), `size`, `ref` URI or None."""

    def __init__(self, artifact: "Artifact", path: str, digest: str | None, size: int | None,
                 ref: str | None = None, local_path: str | None = None) -> None:
        self._artifact = artifact
        self.path = path
        self.digest = digest
        self.size = size
        self.ref = ref
        self.local_path = local_path

    @property
    def name(self) -> str:
        return self.path

    def download(self, root: str | os.PathLike | None = None, skip_cache: bool | None = None) -> str:
        """Write this one file under `root` (default: the artifact's download folder); returns its path."""
        art = self._artifact
        art._require_committed("download a file of")
        base = Path(root) if root is not None else art._default_root()
        return str(art._materialise(self, base, link=False))

    def ref_target(self) -> str:
        return self.ref or ""

    def __repr__(self) -> str:
        return f"<ArtifactManifestEntry {self.path!r} size={self.size} digest={(self.digest or '')[:12]}>"


class Artifact:
    def __init__(self, name: str, type: str, description: str | None = None, metadata: dict | None = None,
                 incremental: bool = False, use_as: str | None = None, **_ignored: Any) -> None:
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
        return {"entries": [{"path": p, **{k: v for k, v in e.items() if k != "follow"}}
                            for p, e in sorted(self._pending.items())]}

    def logged_by(self) -> str | None:
        """The id of the run that produced this version (None if logged without a run)."""
        producer = (self._record or {}).get("producer") or {}
        return producer.get("run_id")

    def used_by(self) -> list[str]:
        """Ids of the runs that used this version (from the project's usage log)."""
        self._require_committed("list the users of")
        from .lineage import read_usage

        seen: list[str] = []
        for ev in read_usage(artifacts_dir(self._root, self._project)):
            if ev["name"] == self._name and ev["version"] == self._version and ev["role"] == "input":
                if ev["run_id"] not in seen:
                    seen.append(ev["run_id"])
        return seen

    def wait(self, timeout: float | None = None) -> "Artifact":
        return self  # logging is synchronous

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self._type} {self.state.lower()}>"

    # -- building a draft -----------------------------------------------------------------
    def _require_draft(self, what: str) -> None:
        if self._version is not None:
            raise ValueError(f"cannot {what} artifact {self.qualified_name}: it is logged and immutable")

    def _require_committed(self, what: str) -> None:
        if self._version is None:
            raise ValueError(f"cannot {what} artifact {self._name!r}: it has not been logged yet")

    def _add_pending(self, path: str, item: dict[str, Any], overwrite: bool) -> ArtifactManifestEntry:
        old = self._pending.get(path)
        if old is not None and not overwrite and old != item:
            raise ValueError(
                f"artifact {self._name!r} already has a file at {path!r}; pass overwrite=True to replace it"
            )
        self._pending[path] = item
        return ArtifactManifestEntry(self, path, None, item.get("size"), item.get("ref"), item.get("src"))

    def add_file(self, local_path: str | os.PathLike, name: str | None = None, is_tmp: bool = False,
                 skip_cache: bool | None = None, policy: str | None = None, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add one file, at `name` inside the artifact (default: its base name)."""
        self._require_draft("add files to")
        local = os.fspath(local_path)
        entry_path = check_entry_path(name if name is not None else os.path.basename(local))
        try:
            st = os.stat(local)
        except FileNotFoundError:
            raise FileNotFoundError(f"add_file: {local} does not exist") from None
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"add_file: {local} is a folder; use add_dir()")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"add_file: {local} is not a regular file (FIFO, socket or device)")
        return self._add_pending(entry_path, {"src": os.path.abspath(local), "follow": True, "size": st.st_size},
                                 overwrite)

    def add_dir(self, local_path: str | os.PathLike, name: str | None = None, skip_cache: bool | None = None,
                policy: str | None = None, merge: bool = False) -> None:
        """Add every regular file under `local_path` (under `name/` inside the artifact).

        Symlinks are followed only to targets inside the folder; symlinks out of it,
        symlink loops, FIFOs, sockets and devices are skipped with a warning and listed in
        `self.skipped` ({"path", "reason"}). A file whose name is unsafe inside an artifact
        (backslash, control characters, over-long) raises ValueError before anything is added.
        """
        self._require_draft("add files to")
        prefix = check_entry_path(name) if name not in (None, "", ".", "/") else ""
        found, skipped = walk(local_path)
        planned: dict[str, dict[str, Any]] = {}
        for f in found:
            rel = check_entry_path(f"{prefix}/{f.rel}" if prefix else f.rel,
                                   f"file name {f.rel!r} found in {os.fspath(local_path)!r}")
            planned[rel] = {"src": f.source, "follow": f.follow, "size": f.size}
        for rel, item in planned.items():
            self._add_pending(rel, item, overwrite=merge)
        if skipped:
            for s in skipped:
                s = {**s, "path": f"{prefix}/{s['path']}" if prefix else s["path"]}
                self.skipped.append(s)
            shown = ", ".join(f"{s['path']!r} ({s['reason']})" for s in skipped[:5])
            more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            warn(f"add_dir({os.fspath(local_path)!r}): skipped {len(skipped)} item(s): {shown}{more}; "
                 "see artifact.skipped")

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True,
                      max_objects: int | None = None) -> list[ArtifactManifestEntry]:
        """Track a file that stays where it is. file:// URIs are checksummed (sha256) when
        logged unless checksum=False, and a folder adds one reference per file; other URIs
        (s3://, https://, ...) are recorded as they are and cannot be downloaded offline."""
        self._require_draft("add references to")
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"invalid reference {uri!r}")
        from .paths import _bad_char

        bad = _bad_char(uri)
        if bad:
            raise ValueError(f"invalid reference {uri!r}: contains {bad}")
        parsed = urlparse(uri)
        if parsed.scheme == "file" or parsed.scheme == "":
            local = unquote(parsed.path) if parsed.scheme == "file" else uri
            if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
                raise ValueError(f"file:// reference {uri!r} names another host")
            local = os.path.abspath(local)
            if os.path.isdir(local):
                found, skipped = walk(local)
                prefix = check_entry_path(name) if name else ""
                out = []
                for f in found[: max_objects or None]:
                    rel = check_entry_path(f"{prefix}/{f.rel}" if prefix else f.rel)
                    out.append(self._add_pending(rel, {
                        "ref": Path(os.path.join(local, *f.rel.split("/"))).as_uri(),
                        "src": f.source, "follow": f.follow, "size": f.size, "checksum": bool(checksum),
                    }, overwrite=False))
                if skipped:
                    self.skipped.extend(skipped)
                    warn(f"add_reference({uri!r}): skipped {len(skipped)} item(s); see artifact.skipped")
                return out
            try:
                st = os.stat(local)
            except FileNotFoundError:
                raise FileNotFoundError(f"add_reference: {local} does not exist") from None
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"add_reference: {local} is not a regular file")
            entry_path = check_entry_path(name if name is not None else os.path.basename(local))
            return [self._add_pending(entry_path, {
                "ref": Path(local).as_uri(), "src": local, "follow": True, "size": st.st_size,
                "checksum": bool(checksum),
            }, overwrite=False)]
        default = os.path.basename(parsed.path.rstrip("/")) or parsed.netloc or "reference"
        entry_path = check_entry_path(name if name is not None else default)
        return [self._add_pending(entry_path, {"ref": uri, "size": None}, overwrite=False)]

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[Any]:
        """Write a file straight into the artifact: `with art.new_file("a.txt") as f: f.write(...)`."""
        self._require_draft("add files to")
        entry_path = check_entry_path(name)
        if entry_path in self._pending:
            raise ValueError(f"artifact {self._name!r} already has a file at {entry_path!r}")
        if mode not in ("x", "w", "xb", "wb"):
            raise ValueError(f"new_file mode must be 'x', 'w', 'xb' or 'wb', not {mode!r}")
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="loupe-artifact-")
            self._staging_finalizer = weakref.finalize(self, shutil.rmtree, self._staging, True)
        path = os.path.join(self._staging, *entry_path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(path, mode, encoding=encoding) as f:
            yield f
        self.add_file(path, name=entry_path)

    def remove(self, item: str | ArtifactManifestEntry) -> None:
        self._require_draft("remove files from")
        path = item.path if isinstance(item, ArtifactManifestEntry) else check_entry_path(item)
        if path in self._pending:
            del self._pending[path]
            return
        prefix = path + "/"
        removed = [p for p in self._pending if p.startswith(prefix)]
        if not removed:
            raise FileNotFoundError(f"artifact {self._name!r} has no file or folder {path!r}")
        for p in removed:
            del self._pending[p]

    def add(self, obj: Any, name: str) -> ArtifactManifestEntry:
        raise NotImplementedError(
            "Artifact.add(object) is not supported by Loupe; write the object to a file and use add_file()"
        )

    # -- reading --------------------------------------------------------------------------
    def files(self, names: list[str] | None = None) -> list[ArtifactManifestEntry]:
        if self._record is None:
            entries = [ArtifactManifestEntry(self, p, None, e.get("size"), e.get("ref"), e.get("src"))
                       for p, e in sorted(self._pending.items())]
        else:
            entries = [self._entries[p] for p in sorted(self._entries)]
        return [e for e in entries if names is None or e.path in names]

    def get_entry(self, name: str) -> ArtifactManifestEntry:
        path = check_entry_path(name)
        if self._record is None:
            item = self._pending.get(path)
            if item is None:
                raise KeyError(f"artifact {self.name!r} has no file {path!r}")
            return ArtifactManifestEntry(self, path, None, item.get("size"), item.get("ref"), item.get("src"))
        entry = self._entries.get(path)
        if entry is None:
            raise KeyError(f"artifact {self.name!r} has no file {path!r}")
        return entry

    get_path = get_entry

    def get(self, name: str) -> Any:
        raise NotImplementedError("Artifact.get(object) is not supported; use get_entry(name).download()")

    def _default_root(self) -> Path:
        return default_download_root() / f"{self.collection_name}:{self.version}"

    def download(self, root: str | os.PathLike | None = None, allow_missing_references: bool = False,
                 skip_cache: bool | None = None, path_prefix: str | None = None,
                 link: bool = False, **_ignored: Any) -> str:
        """Materialise the files under `root` (default ./artifacts/<name>:v<N>); returns root.

        Every file is hashed on its way out: a store object (or a referenced file) whose
        sha256 no longer matches the manifest raises ArtifactCorruptedError and that file
        is not written. link=True hard-links store objects (read-only) instead of copying.
        """
        self._require_committed("download")
        base = Path(root) if root is not None else self._default_root()
        base.mkdir(parents=True, exist_ok=True)
        prefix = check_entry_path(path_prefix) if path_prefix else None
        for path in sorted(self._entries):
            if prefix and not path.startswith(prefix):
                continue
            entry = self._entries[path]
            try:
                self._materialise(entry, base, link=link)
            except ArtifactMissingError:
                if entry.ref and allow_missing_references:
                    warn(f"download: referenced file {entry.ref} is missing; skipped")
                    continue
                raise
        return str(base)

    checkout = download

    def _store(self) -> ObjectStore:
        return ObjectStore(artifacts_dir(self._root, self._project))

    def _materialise(self, entry: ArtifactManifestEntry, base: Path, link: bool) -> Path:
        target = safe_join(base, entry.path)
        make_parents_inside(base, target)
        if os.path.isdir(target) and not os.path.islink(target):
            raise IsADirectoryError(f"cannot write {target}: a folder is in the way")
        what = f"{self.qualified_name}/{entry.path}"
        if entry.digest and _same_file(target, entry.digest, entry.size):
            return target
        if entry.ref is not None:
            self._fetch_reference(entry, target, what)
            return target
        self._store().copy_out(entry.digest, target, link=link, what=what)
        return target

    def _fetch_reference(self, entry: ArtifactManifestEntry, target: Path, what: str) -> None:
        parsed = urlparse(entry.ref)
        if parsed.scheme != "file":
            raise ArtifactMissingError(
                f"{what}: reference {entry.ref} is not a local file; Loupe cannot fetch it offline "
                "(download(allow_missing_references=True) skips it)"
            )
        src = unquote(parsed.path)
        try:
            fd = open_regular(src)
        except FileNotFoundError:
            raise ArtifactMissingError(f"{what}: referenced file {src} is missing") from None
        tmp = target.with_name(tmp_name(".dl-"))
        try:
            digest, _ = copy_hashing(fd, tmp)
        except BaseException:
            _unlink(tmp)
            raise
        finally:
            os.close(fd)
        if entry.digest and digest != entry.digest:
            _unlink(tmp)
            raise ArtifactCorruptedError(
                f"{what}: referenced file {src} changed since it was logged "
                f"(sha256 {digest}, expected {entry.digest}); the file was not written"
            )
        os.replace(tmp, target)

    def verify(self, root: str | os.PathLike | None = None) -> None:
        """Check a downloaded folder against the manifest (or, with root=None, the store itself)."""
        self._require_committed("verify")
        if root is None:
            for e in self._entries.values():
                if e.ref is None:
                    self._store().verify(e.digest)
            return
        for e in self._entries.values():
            if e.digest is None:
                continue
            target = safe_join(Path(root), e.path)
            try:
                digest, _ = hash_file(target, follow=False)
            except FileNotFoundError:
                raise ArtifactMissingError(f"verify: {target} is missing") from None
            if digest != e.digest:
                raise ArtifactCorruptedError(f"verify: {target} has sha256 {digest}, expected {e.digest}")

    # -- committing -----------------------------------------------------------------------
    def _commit(self, root: Path, project: str, producer: dict[str, Any] | None,
                aliases: list[str]) -> bool:
        """Store the files and publish a version; returns True if a new version was created."""
        self._require_draft("log")
        _check_no_file_dir_clash(self._pending)
        adir = artifacts_dir(root, project)
        store = ObjectStore(adir)
        entries: list[dict[str, Any]] = []
        for path, item in sorted(self._pending.items()):
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
                raise FileNotFoundError(
                    f"log_artifact: {item['src']} (added as {path!r}) no longer exists"
                ) from None
            entries.append({"path": path, "digest": digest, "size": size})
        digest = _versions.content_digest(entries)
        record = {
            "format_version": MANIFEST_FORMAT,
            "project": project,
            "name": self._name,
            "type": self._type,
            "description": self.description,
            "metadata": self.metadata,
            "digest": digest,
            "size": sum(int(e.get("size") or 0) for e in entries),
            "file_count": len(entries),
            "created_at": iso_now(),
            "producer": producer,
            "skipped": self.skipped,
            "entries": entries,
        }
        cdir = collection_dir(root, project, self._name)

        def existing(versions: list[int]) -> int | None:
            if not versions:
                return None
            try:
                latest = _versions.read_version(cdir, max(versions))
            except Exception:
                return None  # a damaged record is never "equal": publish a fresh version
            if latest.get("type") != self._type:
                raise ValueError(
                    f"artifact {project}/{self._name} has type {latest.get('type')!r}; "
                    f"cannot log it as type {self._type!r}"
                )
            return max(versions) if latest.get("digest") == digest else None

        version, stored, created = _versions.publish(cdir, record, list(aliases) + list(self._aliases), existing)
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
                from .paths import check_digest

                check_digest(digest)
            self._entries[path] = ArtifactManifestEntry(self, path, digest, e.get("size"), e.get("ref"))
        self._aliases = list(aliases)
        self._saved_aliases = list(aliases)

    @classmethod
    def _from_disk(cls, root: Path, project: str, name: str, version: int) -> "Artifact":
        cdir = collection_dir(root, project, name)
        record = _versions.read_version(cdir, version)
        art = cls.__new__(cls)
        Artifact.__init__(art, name, record.get("type") or "unspecified")
        art._load(root, project, record, _versions.aliases_by_version(cdir).get(version, []))
        return art

    def save(self, project: str | None = None, settings: Any = None) -> "Artifact":
        """Committed: persist alias changes made to `artifact.aliases`. Draft: log it (with
        the active run when there is one)."""
        if self._version is None:
            from .. import _active
            from .run_api import log_artifact, log_without_run

            run = _active.current()
            if run is not None:
                return log_artifact(run, self)
            return log_without_run(self, project=project)
        if self._link:
            from .registry import set_link_aliases

            set_link_aliases(self._root, self._link, self._link.get("aliases", []))
            return self
        add = [a for a in self._aliases if a not in self._saved_aliases and a != _versions.LATEST]
        remove = [a for a in self._saved_aliases if a not in self._aliases and a != _versions.LATEST]
        cdir = collection_dir(self._root, self._project, self._name)
        _versions.set_aliases(cdir, self._version, add=add, remove=remove)
        self._aliases = _versions.aliases_by_version(cdir).get(self._version, [])
        self._saved_aliases = list(self._aliases)
        return self

    def link(self, target_path: str, aliases: list[str] | None = None) -> "Artifact":
        """Add this version to a registry collection (see recorder.artifacts.registry)."""
        from .. import _active
        from .run_api import link_artifact

        run = _active.current()
        if run is not None:
            return link_artifact(run, self, target_path, aliases=aliases)
        self._require_committed("link")
        from .registry import link

        return link(self, target_path, aliases or [], run=None)


def _check_no_file_dir_clash(paths: Any) -> None:
    """'a' and 'a/b' cannot both exist on disk: refuse before anything is stored."""
    folders = set()
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    clash = sorted(p for p in paths if p in folders)
    if clash:
        raise ValueError(f"artifact path {clash[0]!r} is both a file and a folder of other files")


def _same_file(target: Path, digest: str, size: int | None) -> bool:
    try:
        st = os.lstat(target)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or (size is not None and st.st_size != size):
        return False
    try:
        return hash_file(target, follow=False)[0] == digest
    except (OSError, ValueError):
        return False


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
