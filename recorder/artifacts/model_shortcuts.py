"""wandb's model-registry shortcuts, over the artifact store and the local registry.

    run.log_model("out/model.pt", name="digits-mlp", aliases=["best"])  # artifact of type "model"
    path = run.use_model("digits-mlp:best")    # downloaded; the file itself when it is alone
    run.link_model("out/", "digits-classifier", aliases=["production"])  # model-registry/digits-classifier

As in wandb: the default name is the path's base name after `run-<run id>-`; a name or
registered model name with a project or an alias in it is refused; use_model refuses
an artifact whose type does not contain "model"; link_model logs the files (a new
version only when they differ from the latest) and links that version into the
`model-registry` collection named `registered_model_name`, creating it on first use.
Lineage is recorded as for log_artifact / use_artifact / link_artifact.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from recorder.artifacts.artifact import Artifact
from recorder.artifacts.artifact_names import check_name
from recorder.artifacts.lookup import load_artifact
from recorder.artifacts.naming import safe_default_name
from recorder.artifacts.run_artifacts import link_artifact, log_artifact, use_artifact

if TYPE_CHECKING:
    from recorder.run_api import Run

MODEL_TYPE = "model"
MODEL_REGISTRY = "model-registry"


class NotAModelError(ValueError, AssertionError):
    """use_model on an artifact whose type is not a model (wandb raises AssertionError)."""


def _plain(name: str, what: str) -> str:
    if not isinstance(name, str) or "/" in name or ":" in name:
        raise ValueError(f"{what} {name!r} must be a plain name (no project, registry or ':alias')")
    return check_name(name, what)


def _model(run: Run, path: Any, name: str | None) -> Artifact:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"log_model: {path} does not exist")
    if name is None:
        name = safe_default_name(f"run-{run.id}-{os.path.basename(os.path.normpath(path))}")
    art = Artifact(_plain(name, "model name"), MODEL_TYPE)
    if os.path.isdir(path):
        art.add_dir(path)
    else:
        art.add_file(path)
    return art


def log_model(run: Run, path: Any, name: str | None = None, aliases: list[str] | None = None) -> Artifact:
    """Log the file or folder at `path` as a version of model artifact `name`; returns it."""
    return log_artifact(run, _model(run, path, name), aliases=aliases)


def use_model(run: Run, name: str) -> str:
    """Download model artifact `name` (`name:alias`, `project/name:v3`, `model-registry/x:production`)
    and mark it as this run's input; returns the folder, or the file when it holds one."""
    found = load_artifact(run.settings.root, name, run.project)
    if MODEL_TYPE not in found.type.lower():  # checked first, so a refused use is not recorded as an input
        raise NotAModelError(f"use_model: {found.qualified_name} has type {found.type!r}; use use_artifact() for it")
    folder = use_artifact(run, found).download()
    entries = os.listdir(folder)
    if len(entries) == 1 and os.path.isfile(os.path.join(folder, entries[0])):
        return os.path.join(folder, entries[0])
    return folder


def link_model(
    run: Run,
    path: Any,
    registered_model_name: str,
    name: str | None = None,
    aliases: list[str] | None = None,
) -> Artifact | None:
    """Log `path` as a model (see log_model) and link it to `model-registry/<registered_model_name>`;
    `aliases` apply to the linked version only. Returns the linked artifact (None when disabled)."""
    registered = _plain(registered_model_name, "registered model name")
    art = log_model(run, path, name)  # a name already used by another type is refused there
    return link_artifact(run, art, f"{MODEL_REGISTRY}/{registered}", aliases=aliases)
