"""`loupe import wandb|tensorboard|mlflow PATH... [--root ROOT] [--project P] [--force]`.

The import itself is the recorder's (recorder.importers, the write side this CLI module
may call); this module parses, shows a progress bar on a terminal, prints one line per
source that failed (`loupe: error: <path>: <why>`, on stderr) and a summary line at the
end (on stdout). Exit status: 0 when every source run was imported or was unchanged,
1 when any failed (the others are imported all the same).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from viewer.data.sanitize import sanitize

TOOLS = ("wandb", "tensorboard", "mlflow")
# Below this much source data no progress bar is shown (it would only flash).
_BAR_MIN_BYTES = 8 * 2**20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "import",
        help="import wandb offline runs, TensorBoard logs or MLflow file stores as Loupe runs",
        description="Each source run becomes a Loupe run; importing again updates it (docs/import.md).",
    )
    sub = p.add_subparsers(dest="import_tool", metavar="{wandb,tensorboard,mlflow}")
    sub.required = True
    helps = {
        "wandb": "wandb run folders (offline-run-*, run-*), a wandb/ folder, or run-*.wandb files",
        "tensorboard": "folders holding TensorBoard event files (each such folder is a run)",
        "mlflow": "MLflow file stores (mlruns/ folders)",
    }
    for tool in TOOLS:
        sp = sub.add_parser(tool, help=helps[tool])
        sp.add_argument("paths", nargs="+", metavar="PATH", help=helps[tool])
        sp.add_argument("--root", default=None, help="runs root to write to (default: LOUPE_DIR or ./runs)")
        sp.add_argument("--project", default=None, help="put every run in this project (default: the source's own)")
        sp.add_argument("--force", action="store_true", help="import runs again even when their source is unchanged")
        if tool == "mlflow":
            sp.add_argument("--artifacts", action="store_true", help="also copy each run's artifacts into its files/")
        sp.set_defaults(func=cmd_import)
    return p


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("import", total=None)

        def update(done: int, total: int, what: str) -> None:
            if total >= _BAR_MIN_BYTES:
                bar.update(task, completed=done, total=total, description=sanitize(os.path.basename(what))[:40])

        yield update


def cmd_import(args: argparse.Namespace) -> int:
    import recorder.importers as importers

    by_tool: dict[str, Callable[..., Any]] = {
        "wandb": importers.import_wandb,
        "tensorboard": importers.import_tensorboard,
        "mlflow": importers.import_mlflow,
    }
    run_import = by_tool[args.import_tool]
    extra = {"artifacts": args.artifacts} if args.import_tool == "mlflow" else {}
    try:
        with _progress_bar(sys.stderr.isatty()) as progress:
            report = run_import(
                args.paths, root=args.root, project=args.project, force=args.force, progress=progress, **extra
            )
    except (ImportError, ValueError) as exc:  # a missing extra, a bad --project
        print(f"loupe: error: {sanitize(str(exc))}", file=sys.stderr)
        return 1
    for outcome in report.failed:
        print(f"loupe: error: {sanitize(outcome.line)}", file=sys.stderr)
    print(sanitize(report.summary_line()))
    return 1 if report.failed else 0
