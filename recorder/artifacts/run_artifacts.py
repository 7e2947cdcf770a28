"""What Run.log_artifact / use_artifact / link_artifact do (they import this on first use).

Everything happens synchronously in the calling thread: files are hashed and copied
into the project's store and the version is published before log_artifact returns.
In disabled mode nothing is written (use_artifact still reads what exists).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder.artifacts.artifact import Artifact
from recorder.artifacts.lineage import append_usage, record_in_run
from recorder.artifacts.locations import artifacts_dir
from recorder.artifacts.lookup import load_artifact
from recorder.artifacts.naming import safe_default_name
from recorder.journal import iso_now

if TYPE_CHECKING:
    from recorder.run_api import Run


def _coerce(artifact_or_path: Any, name: str | None, type: str | None) -> Artifact:
    if isinstance(artifact_or_path, Artifact):
        return artifact_or_path
    if isinstance(artifact_or_path, (str, os.PathLike)):
        path = os.fspath(artifact_or_path)
        art = Artifact(name or safe_default_name(os.path.basename(os.path.normpath(path))), type or "unspecified")
        if os.path.isdir(path):
            art.add_dir(path)
        else:
            art.add_file(path)
        return art
    raise TypeError(f"log_artifact expects an Artifact or a path, not {artifact_or_path.__class__.__name__}")


def _item(art: Artifact, **extra: Any) -> dict[str, Any]:
    return {
        "project": art._project,
        "name": art._name,
        "version": art._version,
        "type": art.type,
        "digest": art.digest,
        "at": iso_now(),
        **extra,
    }


def _record_usage(run: Run, art: Artifact, role: str) -> None:
    append_usage(
        artifacts_dir(art._root, art._project),
        {
            "name": art._name,
            "version": art._version,
            "role": role,
            "run_id": run.id,
            "run_project": run.project,
            "at": iso_now(),
        },
    )
    if run.dir:
        record_in_run(Path(run.dir), "outputs" if role == "output" else "inputs", _item(art))


def log_artifact(
    run: Run,
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
) -> Artifact:
    art = _coerce(artifact_or_path, name, type)
    aliases = list(aliases or [])
    if run.disabled:
        return art
    if art.is_draft():
        art._commit(run.settings.root, run.project, {"run_id": run.id, "project": run.project}, aliases)
    elif aliases:
        art.aliases = list(dict.fromkeys([*art.aliases, *aliases]))
        art.save()
    _record_usage(run, art, "output")
    return art


def log_without_run(art: Artifact, project: str | None = None) -> Artifact:
    """Artifact.save() with no active run: publish under LOUPE_DIR / project, no producer."""
    from recorder.settings import resolve

    settings = resolve(None, None, project)
    if settings.mode == "disabled":
        return art
    art._commit(settings.root, settings.project, None, [])
    return art


def use_artifact(
    run: Run, artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None
) -> Artifact:
    if isinstance(artifact_or_name, Artifact):
        art = artifact_or_name
        if art.is_draft():
            if run.disabled:
                return art
            art._commit(run.settings.root, run.project, None, list(aliases or []))
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.qualified_name} has type {art.type!r}, not {type!r}")
    elif isinstance(artifact_or_name, str):
        art = load_artifact(run.settings.root, artifact_or_name, run.project, type=type)
    else:
        raise TypeError(f"use_artifact expects an Artifact or a name, not {artifact_or_name.__class__.__name__}")
    if run.disabled:
        return art
    if aliases:
        art.aliases = list(dict.fromkeys([*art.aliases, *aliases]))
        art.save()
    _record_usage(run, art, "input")
    return art


def link_artifact(run: Run, artifact: Artifact, target_path: str, aliases: list[str] | None = None) -> Artifact | None:
    if run.disabled:
        return None
    if not isinstance(artifact, Artifact):
        raise TypeError("link_artifact expects an Artifact")
    if artifact.is_draft():
        log_artifact(run, artifact)
    from recorder.artifacts.registry import link

    linked = link(artifact, target_path, list(aliases or []), run=run)
    if run.dir:
        record_in_run(
            Path(run.dir),
            "links",
            _item(
                artifact,
                target=f"{linked._link['registry']}/{linked._link['collection']}:v{linked._link['version']}",
            ),
        )
    return linked
