"""Bring runs from wandb, TensorBoard and MLflow into Loupe (docs/import.md).

    from recorder.importers import import_wandb, import_tensorboard, import_mlflow
    report = import_wandb(["wandb/"], root="runs")          # offline-run-* / run-* folders
    report = import_tensorboard(["logs/"], root="runs", project="tb")
    report = import_mlflow(["mlruns/"], root="runs", artifacts=True)
    print(report.summary_line())

Each source run becomes one ordinary Loupe run, written by the recorder's own writer
code. Importing again updates that run (its source is kept in run.json under `source`)
and skips it when the source has not changed (force=True imports it anyway). A source
that cannot be read is reported in `report.failed` with a one-line reason; the rest of
the batch goes on, and an earlier import of a failed source stays as it was.

Each source needs its reader library: `pip install 'loupe[wandb]'`, `'loupe[tensorboard]'`
or `'loupe[mlflow]'`; without it the function raises one ImportError naming the extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from recorder.importers.import_batch import Progress, run_batch
from recorder.importers.import_report import ImportReport, Outcome

__all__ = ["ImportReport", "Outcome", "import_mlflow", "import_tensorboard", "import_wandb"]

PathLike = str | os.PathLike[str]


def _paths(paths: PathLike | Sequence[PathLike]) -> list[PathLike]:
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


def _root(root: PathLike | None) -> PathLike:
    return root if root is not None else os.environ.get("LOUPE_DIR") or "runs"


def import_wandb(
    paths: PathLike | Sequence[PathLike],
    root: PathLike | None = None,
    project: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import wandb run logs (`run-<id>.wandb`) found in `paths` (files or folders).

    Each run keeps its wandb project unless `project` is given."""
    from recorder.importers import wandb_run

    wandb_run.protobuf_module()
    sources, failures = wandb_run.find_runs(_paths(paths))
    return run_batch("wandb", list(sources), failures, _root(root), project, force, progress)


def import_tensorboard(
    paths: PathLike | Sequence[PathLike],
    root: PathLike | None = None,
    project: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every folder holding TensorBoard event files under `paths` (project "tensorboard" by default)."""
    from recorder.importers import tensorboard_run

    tensorboard_run.reader_module()
    sources, failures = tensorboard_run.find_runs(_paths(paths))
    return run_batch("tensorboard", list(sources), failures, _root(root), project, force, progress)


def import_mlflow(
    paths: PathLike | Sequence[PathLike],
    root: PathLike | None = None,
    project: str | None = None,
    force: bool = False,
    artifacts: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the runs of MLflow file stores (`mlruns/` folders); experiments become projects
    unless `project` is given. `artifacts=True` copies each run's artifacts into its files/."""
    from recorder.importers import mlflow_run

    mlflow_run.store_module()
    sources, failures = mlflow_run.find_runs(_paths(paths), artifacts=artifacts)
    return run_batch("mlflow", list(sources), failures, _root(root), project, force, progress)
