"""Artifacts: versioned, content-addressed files with lineage, and a local model registry.

See docs/artifacts.md for the on-disk layout. Imported on first use of
`recorder.Artifact` / `run.log_artifact`, never by `import recorder`.
"""

from __future__ import annotations

from recorder.artifacts.artifact import Artifact, ArtifactManifestEntry
from recorder.artifacts.lookup import ArtifactNotFoundError, load_artifact
from recorder.artifacts.object_store import ArtifactCorruptedError, ArtifactMissingError

__all__ = [
    "Artifact",
    "ArtifactCorruptedError",
    "ArtifactManifestEntry",
    "ArtifactMissingError",
    "ArtifactNotFoundError",
    "load_artifact",
]
