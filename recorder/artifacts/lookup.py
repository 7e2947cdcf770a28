"""Finding a logged artifact by reference, with or without a run."""

from __future__ import annotations

from pathlib import Path

from recorder.artifacts import versions as _versions
from recorder.artifacts.artifact import Artifact
from recorder.artifacts.locations import collection_dir
from recorder.artifacts.naming import parse_spec


class ArtifactNotFoundError(LookupError):
    """No artifact version (or registry member) matches the reference."""


def load_artifact(root: Path, spec: str, default_project: str, type: str | None = None) -> Artifact:
    """Resolve `name`, `name:alias`, `name:v3`, `project/name:alias` or
    `entity/project/name:alias` (entity ignored) under `root`.

    `project/...` first means an artifact of that project; if the project has no artifact
    of that name, a registry collection `<root>/_registry/<project>/<name>` is tried, so
    `model-registry/production-models:latest` resolves to the version linked last.
    """
    s = parse_spec(spec)
    root = Path(root)
    project = s.project or default_project
    cdir = collection_dir(root, project, s.name)
    art: Artifact | None = None
    if _versions.list_versions(cdir):
        version = _versions.resolve(cdir, s.alias)
        if version is None:
            raise ArtifactNotFoundError(
                f"artifact {project}/{s.name} has no version or alias {s.alias!r} "
                f"(versions: {', '.join(f'v{v}' for v in _versions.list_versions(cdir))}; "
                f"aliases: {', '.join(sorted(_versions.read_aliases(cdir))) or 'latest only'})"
            )
        art = Artifact._from_disk(root, project, s.name, version)
    elif s.project is not None:
        from recorder.artifacts.registry import collection_dir as reg_dir
        from recorder.artifacts.registry import resolve as reg_resolve

        if _versions.list_versions(reg_dir(root, s.project, s.name)):
            art = reg_resolve(root, s.project, s.name, s.alias)
            if art is None:
                raise ArtifactNotFoundError(
                    f"registry collection {s.project}/{s.name} has no version or alias {s.alias!r}"
                )
    if art is None:
        raise ArtifactNotFoundError(f"no artifact {project}/{s.name} under {root}")
    if type is not None and art.type != type:
        raise ValueError(f"artifact {art.qualified_name} has type {art.type!r}, not {type!r}")
    return art
