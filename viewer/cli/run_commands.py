"""`loupe view|ls|show|sql|tail|export`: the subcommands over runs.

add_parsers() adds them to the main parser (viewer.cli.main), each setting func=cmd_<name>.
They read through viewer.data.store.Store, imported on first use so that `loupe --help`
and the other subcommands stay quick.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from viewer.cli.output import UsageError, cell, emit, print_table, write_csv, write_json
from viewer.data.byte_size import format_bytes

if TYPE_CHECKING:
    from viewer.data.store import Store

DEFAULT_LS_COLUMNS = ["id", "project", "name", "state", "created_at", "runtime"]


def _bundled_samples() -> Path:
    return Path(__file__).resolve().parents[2] / "sample_runs"


def _default_roots(note: bool = True) -> list[Path]:
    env = os.environ.get("LOUPE_DIR")
    if env:
        return [Path(env)]
    here = Path("runs")
    if here.is_dir():
        return [here]
    samples = _bundled_samples()
    if samples.is_dir():
        if note:
            print(f"loupe: no ./runs here; showing the bundled sample runs in {samples}", file=sys.stderr)
        return [samples]
    return [here]


def run_roots(given: Sequence[str] | None) -> list[Path]:
    return [Path(r) for r in given] if given else _default_roots()


def open_store(roots: list[Path]) -> Store:
    from viewer.data.sanitize import sanitize
    from viewer.data.store import Store

    return Store(roots, on_warning=lambda m: print(f"loupe: warning: {sanitize(m)}", file=sys.stderr))


def cmd_view(args: argparse.Namespace) -> int:
    roots = run_roots(args.roots)
    for r in roots:
        if not r.is_dir():
            raise FileNotFoundError(f"run root {str(r)!r} does not exist")
    try:
        app = importlib.import_module("viewer.tui.app")
        run_app = app.run_app
    except ModuleNotFoundError as exc:
        if exc.name != "viewer.tui.app":
            raise
        print("loupe: the dashboard is not installed yet; showing the runs table", file=sys.stderr)
        store = open_store(roots)
        print_table(store.list_runs(columns=DEFAULT_LS_COLUMNS))
        return 0
    return int(run_app(roots, poll=True if getattr(args, "poll", False) else None) or 0)


def cmd_ls(args: argparse.Namespace) -> int:
    from viewer.data.filter_expr import FilterError

    store = open_store(run_roots(args.roots))
    columns = _split_columns(args.columns) or DEFAULT_LS_COLUMNS
    try:
        table = store.list_runs(
            project=args.project, filter=args.filter, sort=args.sort or None, columns=columns, limit=args.limit
        )
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    emit(table, args.format)
    return 0


def _split_columns(cols: list[str] | None) -> list[str]:
    out: list[str] = []
    for c in cols or []:
        out.extend(x.strip() for x in c.split(",") if x.strip())
    return out


def cmd_show(args: argparse.Namespace) -> int:
    from viewer.data.run_details import internal_key_text
    from viewer.data.run_table_model import format_runtime
    from viewer.data.runs_table import flatten
    from viewer.data.sanitize import sanitize

    store = open_store(run_roots(args.root))
    info = store.resolve(args.run)
    files = store.saved_files(info.id, limit=200)
    metrics = store.metric_names([info.id])
    page = store.tail_log(info.id, max_lines=args.lines)
    if args.format == "json":
        write_json(
            {
                "id": info.id,
                "project": info.project,
                "name": info.name,
                "state": info.state,
                "state_reason": info.state_reason,
                "path": str(info.path),
                "run": info.run_json,
                "config": info.config,
                "summary": info.summary,
                "metrics": metrics,
                "files": [{"path": p, "size": s} for p, s in files],
                "log_tail": [{"time": ln.time, "stream": ln.stream, "text": ln.raw} for ln in page.lines],
            },
            sys.stdout,
        )
        return 0
    out = sys.stdout
    rows = [
        ("run", info.ref),
        ("name", info.name),
        ("state", f"{info.state} ({info.state_reason})"),
        ("group", info.group),
        ("job_type", info.job_type),
        ("tags", ", ".join(info.tags) or None),
        ("notes", info.notes),
        ("created", info.created_at),
        ("finished", info.finished_at),
        ("runtime", format_runtime(info.runtime) or None),
        ("exit code", info.exit_code),
        ("error", info.error),
        ("host", info.host),
        ("pid", info.pid),
        ("git", " ".join(x for x in (info.git_commit, info.git_branch) if x) or None),
        ("path", str(info.path)),
    ]
    for k, v in rows:
        if v is not None:
            out.write(f"{k:<10} {cell(v, 200)}\n")
    for title, data in (("config", info.config), ("summary", info.summary)):
        flat = flatten(data, "", {})
        out.write(f"\n{title} ({len(flat)} keys)\n")
        for k in sorted(flat)[:500]:
            shown = internal_key_text(k, flat[k]) if title == "summary" else None
            out.write(f"  {cell(k, 60)} = {shown or cell(flat[k], 120)}\n")
        if len(flat) > 500:
            out.write(f"  ... {len(flat) - 500} more\n")
    out.write(f"\nmetrics ({len(metrics)}): {cell(', '.join(metrics), 2000)}\n")
    out.write(f"\nfiles ({len(files)})\n")
    for p, s in files:
        out.write(f"  {cell(p, 120)}  {format_bytes(s)}\n")
    out.write(f"\nlast {len(page.lines)} log lines\n")
    for ln in page.lines:
        out.write(f"  {sanitize(ln.time or ''):<24} {ln.stream} {ln.text}\n")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    store = open_store(run_roots(args.root))
    table = store.query(args.query)
    if args.max_rows is not None and args.format == "table" and table.num_rows > args.max_rows:
        shown = table.slice(0, args.max_rows)
        emit(shown, args.format, args.output)
        print(f"({args.max_rows} of {table.num_rows} rows)", file=sys.stderr)
        return 0
    emit(table, args.format, args.output)
    return 0


def _print_log_line(ln) -> None:
    sys.stdout.write(f"{ln.time or '':<24} {ln.stream} {ln.text}\n" if ln.time else f"{ln.text}\n")


def cmd_tail(args: argparse.Namespace) -> int:
    from viewer.data.log_tail import LogFollower

    store = open_store(run_roots(args.root))
    info = store.resolve(args.run)
    path = store.log_path(info.id)
    follower = LogFollower(path, start="end") if args.follow else None
    page = store.tail_log(info.id, max_lines=args.lines)
    if not page.lines and not path.exists() and not args.follow:
        print(f"loupe: run {info.ref} has no console log", file=sys.stderr)
    for ln in page.lines:
        _print_log_line(ln)
    sys.stdout.flush()
    if follower is None:
        return 0
    try:
        while True:
            upd = follower.poll()
            if upd.reset:
                print("loupe: log truncated or replaced; following the new file", file=sys.stderr)
            if upd.skipped_bytes:
                print(f"loupe: skipped {upd.skipped_bytes} bytes", file=sys.stderr)
            for ln in upd.lines:
                _print_log_line(ln)
            if upd.lines:
                sys.stdout.flush()
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0


_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def cmd_export(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    store = open_store(run_roots(args.root))
    infos = [store.resolve(r) for r in args.runs]
    outdir = Path(args.output or ".")
    outdir.mkdir(parents=True, exist_ok=True)
    ext = "csv" if args.format == "csv" else "parquet"
    for info in infos:
        base = _SAFE.sub("_", f"{info.project}_{info.id}").lstrip(".") or "run"
        for stream, table in (("history", store.history([info.id])), ("system", store.system([info.id]))):
            if stream == "system" and table.num_rows == 0:
                continue
            path = outdir / f"{base}.{stream}.{ext}"
            if ext == "csv":
                with open(path, "w", encoding="utf-8", newline="") as f:
                    write_csv(table, f)
            else:
                pq.write_table(table, path)
            print(f"{path}  ({table.num_rows} rows)")
    return 0


def add_parsers(sub: Any) -> None:
    """Add view, ls, show, sql, tail and export to the main parser's subparsers."""
    v = sub.add_parser("view", help="open the dashboard (default command)")
    v.add_argument("roots", nargs="*", metavar="ROOT", help="run roots (default: ./runs)")
    v.add_argument(
        "--poll",
        action="store_true",
        help="poll the roots for changes instead of inotify (chosen automatically on NFS, Lustre, ...)",
    )
    v.set_defaults(func=cmd_view)

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("roots", nargs="*", metavar="ROOT", help="run roots (default: ./runs)")
    ls.add_argument("--project", "-p", help="only this project")
    ls.add_argument(
        "--sort",
        "-s",
        action="append",
        metavar="KEY",
        help="sort by a column; KEY:desc (or --sort=-KEY) for descending; repeatable",
    )
    ls.add_argument("--filter", "-f", metavar="EXPR", help="e.g. \"config.lr > 1e-3 and state = 'finished'\"")
    ls.add_argument("--columns", "-c", nargs="+", metavar="COL", help="columns to show (names or comma lists)")
    ls.add_argument("--limit", "-n", type=int)
    ls.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ls.set_defaults(func=cmd_ls)

    sh = sub.add_parser("show", help="a run's metadata, config, summary, files and last log lines")
    sh.add_argument("run", metavar="RUN")
    sh.add_argument("--root", "-r", action="append", metavar="ROOT")
    sh.add_argument("--lines", "-n", type=int, default=10)
    sh.add_argument("--format", choices=("text", "json"), default="text")
    sh.set_defaults(func=cmd_show)

    q = sub.add_parser("sql", help="run one SQL SELECT over the views runs, history, system, text, logs")
    q.add_argument("query", metavar="QUERY")
    q.add_argument("--root", "-r", action="append", metavar="ROOT")
    q.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    q.add_argument("--output", "-o", metavar="FILE")
    q.add_argument("--max-rows", type=int, default=1000, help="rows shown in table format (default 1000)")
    q.set_defaults(func=cmd_sql)

    t = sub.add_parser("tail", help="print (and follow) a run's console log")
    t.add_argument("run", metavar="RUN")
    t.add_argument("--root", "-r", action="append", metavar="ROOT")
    t.add_argument("--lines", "-n", type=int, default=20)
    t.add_argument("--follow", "-f", action="store_true")
    t.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    t.set_defaults(func=cmd_tail)

    e = sub.add_parser("export", help="write runs' history (and system metrics) as CSV or Parquet")
    e.add_argument("runs", nargs="+", metavar="RUN")
    e.add_argument("--root", "-r", action="append", metavar="ROOT")
    e.add_argument("--format", choices=("csv", "parquet"), required=True)
    e.add_argument("--output", "-o", metavar="DIR", help="directory (default: current)")
    e.set_defaults(func=cmd_export)
