"""Getting a logged version's files back out: download (copy or hard-link) and verify.

Every byte written is hashed on its way out, and a file is moved into place only once
its sha256 matches the manifest, so a corrupted store object or a referenced file that
changed since it was logged is reported (ArtifactCorruptedError) instead of used.
Targets are joined with safe_join, so a hostile manifest path cannot write outside root.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from recorder.artifacts.artifact_names import check_digest, check_entry_path, make_parents_inside, safe_join
from recorder.artifacts.locations import artifacts_dir, default_download_root
from recorder.artifacts.object_store import (
    ArtifactCorruptedError,
    ArtifactMissingError,
    ObjectStore,
    _unlink,
    copy_hashing,
    hash_file,
    open_regular,
    tmp_name,
)
from recorder.warn import warn

if TYPE_CHECKING:
    from recorder.artifacts.manifest_entry import ArtifactManifestEntry


class Downloads:
    """The reading-out half of Artifact. Relies on Artifact's `_root`, `_project`,
    `_entries`, `collection_name`, `version`, `qualified_name` and `_require_committed`."""

    _root: Path | None
    _project: str | None
    _entries: dict[str, ArtifactManifestEntry]

    if TYPE_CHECKING:  # defined by Artifact, the one class that mixes this in

        @property
        def collection_name(self) -> str: ...
        @property
        def version(self) -> str | None: ...
        @property
        def qualified_name(self) -> str: ...
        def _require_committed(self, what: str) -> None: ...

    def _location(self) -> tuple[Path, str]:
        """(root, project) of a logged version: Artifact._load sets both with the version."""
        if self._root is None or self._project is None:
            raise ValueError(f"artifact {self.collection_name!r} has not been logged yet")
        return self._root, self._project

    def _default_root(self) -> Path:
        return default_download_root() / f"{self.collection_name}:{self.version}"

    def download(
        self,
        root: str | os.PathLike | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        link: bool = False,
        **_ignored: Any,
    ) -> str:
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
        return ObjectStore(artifacts_dir(*self._location()))

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
        # an entry that is neither a reference nor has a digest is a bad manifest: refused there
        self._store().copy_out(check_digest(entry.digest), target, link=link, what=what)
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
                    self._store().verify(check_digest(e.digest))
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


def _same_file(target: Path, digest: str, size: int | None) -> bool:
    # A file already there with the right bytes is kept, so a second download writes nothing.
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
