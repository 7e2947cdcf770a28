"""One file of an artifact, as its manifest lists it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorder.artifacts.artifact import Artifact


class ArtifactManifestEntry:
    """One file of an artifact: `path` inside it, `digest` (sha256 hex), `size`, `ref` URI or None."""

    def __init__(
        self,
        artifact: Artifact,
        path: str,
        digest: str | None,
        size: int | None,
        ref: str | None = None,
        local_path: str | None = None,
    ) -> None:
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
