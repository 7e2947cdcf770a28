"""Where a project's artifacts live on disk, and where downloads go by default.

<root>/<project>/_artifacts/collections/<name>/   one folder per artifact name
"""

from __future__ import annotations

import os
from pathlib import Path

from recorder.artifacts.artifact_names import check_name
from recorder.layout import artifact_collections_dir, artifacts_dir

__all__ = ["artifacts_dir", "collection_dir", "default_download_root"]


def collection_dir(root: Path, project: str, name: str) -> Path:
    """A collection's folder, for a name given by a user (checked: it may not escape)."""
    return artifact_collections_dir(root, project) / check_name(name)


def default_download_root() -> Path:
    # WANDB_ARTIFACT_DIR too, so scripts written for wandb download where they expect.
    return Path(os.environ.get("LOUPE_ARTIFACT_DIR") or os.environ.get("WANDB_ARTIFACT_DIR") or "artifacts")
