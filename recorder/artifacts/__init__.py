"""Artifacts: versioned, content-addressed files with lineage, and a local model registry.

See docs/artifacts.md for the on-disk layout. Imported on first use of
`recorder.Artifact` / `run.log_artifact`, never by `import recorder`.
"""

from __future__ import annotations

from .artifact import Artifact, ArtifactManifestEntry
from .lookup import ArtifactNotFoundError, load_artifact
from .store import ArtifactCorruptedError, ArtifactMissingError

__all__ = [
    "Artifact", "ArtifactManifestEntry", "ArtifactCorruptedError", "ArtifactMissingError",
    "ArtifactNotFoundError", "load_artifact",
]
