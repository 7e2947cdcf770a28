"""`loupe report [RUN or FILTER ...] [--root ROOT] [-o report.html]`: one offline HTML file.

Each argument is a run (id, unique prefix, name, project/id) or else a filter: an
expression such as `config.lr > 1e-3 and state = 'finished'`, or the Runs tab's words
and `project:x tag:y state:z`. No argument: every run. Runs are reported newest first
as the Runs tab lists them (named runs in the order given), at most --max-runs (20,
what the dashboard overlays); the page itself is viewer.report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from viewer.cli.output import UsageError
from viewer.cli.run_commands import open_store, run_roots
from viewer.data.counted import counted

if TYPE_CHECKING:
    from viewer.data.runs_table import RunInfo
    from viewer.data.store import Store

DEFAULT_MAX_RUNS = 20  # viewer.data.metric_panels.MAX_OVERLAID_RUNS, without importing it for --help


def pick_runs(store: Store, terms: Sequence[str]) -> list[RunInfo]:
    """The runs the arguments name, without repeats: runs first as named, filters' matches
    newest first. Raises UsageError for a term that names nothing or does not parse."""
    from viewer.data import run_table_model as model
    from viewer.data.filter_expr import FilterError
    from viewer.data.store import RunNotFound

    runs = store.runs()
    if not terms:
        return runs
    picked: dict[str, RunInfo] = {}
    rows = None
    for term in terms:
        try:
            info = store.resolve(term)
            picked.setdefault(info.id, info)
            continue
        except RunNotFound as exc:
            not_a_run = str(exc)
        if model.looks_like_expression(term):
            try:
                ids = set(store.list_runs(filter=term, columns=["id"]).column("id").to_pylist())
            except FilterError as exc:
                raise UsageError(f"{term!r} is neither a run nor a valid filter: {exc}") from exc
            hits = [r for r in runs if r.id in ids]
        else:
            rows = rows if rows is not None else model.build_rows(runs)
            hits = [row.run for row in rows if model.text_match(row, term)]
        if not hits:
            raise UsageError(f"{not_a_run}, and no run matches it as a filter")
        for info in hits:
            picked.setdefault(info.id, info)
    return list(picked.values())


def cmd_report(args: argparse.Namespace) -> int:
    from viewer.data.sanitize import sanitize
    from viewer.report import write_report

    if args.max_runs < 1:
        raise UsageError("--max-runs must be at least 1")
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"{str(out)!r} is a directory: give a file name, e.g. -o {out / 'report.html'}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"directory {str(out.parent)!r} does not exist")
    store = open_store(run_roots(args.root))
    runs = pick_runs(store, args.runs)
    if not runs:
        raise FileNotFoundError(f"no runs under {', '.join(str(r) for r in store.roots)}")
    if len(runs) > args.max_runs:
        print(
            f"loupe: reporting the first {args.max_runs} of {len(runs)} runs (raise --max-runs or narrow the filter)",
            file=sys.stderr,
        )
        runs = runs[: args.max_runs]
    size = write_report(store, [r.id for r in runs], out, title=args.title)
    print(f"{sanitize(str(out))}  ({counted(len(runs), 'run')}, {size / 1e6:.2f} MB)")
    return 0


def add_parser(sub: Any) -> None:
    r = sub.add_parser(
        "report",
        help="write runs as one self-contained HTML file (opens offline, anywhere)",
        description="One HTML file with the runs table, metric and system plots, latest media, "
        "config and log tails; it loads nothing from any host.",
    )
    r.add_argument("runs", nargs="*", metavar="RUN or FILTER", help="runs or filters (default: every run)")
    r.add_argument("--root", "-r", action="append", metavar="ROOT", help="run root (repeatable; default: ./runs)")
    r.add_argument("--output", "-o", default="report.html", metavar="FILE", help="the HTML file (default report.html)")
    r.add_argument(
        "--max-runs", type=int, default=DEFAULT_MAX_RUNS, help=f"at most this many runs ({DEFAULT_MAX_RUNS})"
    )
    r.add_argument("--title", help="the page title (default: 'Loupe report: N runs')")
    r.set_defaults(func=cmd_report)
