"""The `loupe` command: browse, query, tail and export runs from the terminal.

    loupe [ROOT...]                 the dashboard (same as `loupe view`)
    loupe view [ROOT...]
    loupe ls [ROOT...] [--project P] [--sort KEY]... [--filter EXPR] [--columns COL...]
             [--limit N] [--format table|json|csv]
    loupe show RUN [--root ROOT] [--format text|json]
    loupe sql "QUERY" [--root ROOT] [--format table|csv|json|parquet] [-o FILE]
    loupe tail RUN [--root ROOT] [-n LINES] [-f]
    loupe export RUN... [--root ROOT] --format csv|parquet [-o DIR]

ROOT defaults to $LOUPE_DIR or ./runs; when neither exists the bundled sample_runs/ is
used, with a one-line note. RUN is an id, a unique id prefix, a name, or project/id.
Exit status: 0 success, 1 runtime error (unknown run, bad SQL, missing root), 2 usage
error (bad arguments, bad --filter or --sort). Errors are one line on stderr.

The dashboard lives in `viewer.app`: `viewer.app.run_app(roots, poll=...)` is called
when that module exists; until then `loupe`/`loupe view` print the runs table.
Everything printed from a run (names, config values, log lines) is sanitised.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib
import io
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

COMMANDS = ("view", "ls", "show", "sql", "tail", "export")
# Modules adding their own subcommands: each has add_parser(subparsers) setting func.
CLI_PLUGINS = ("viewer.sweep_cli", "viewer.artifacts_cli")
DEFAULT_LS_COLUMNS = ["id", "project", "name", "state", "created_at", "runtime"]
_MAX_CELL = 48


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(f"{message} (see {self.prog} --help)")


def _bundled_samples() -> Path:
    return Path(__file__).resolve().parent.parent / "sample_runs"


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


def _roots(given: Sequence[str] | None) -> list[Path]:
    return [Path(r) for r in given] if given else _default_roots()


def _store(roots: list[Path]):
    from .store import Store
    from .sanitize import sanitize

    return Store(roots, on_warning=lambda m: print(f"loupe: warning: {sanitize(m)}", file=sys.stderr))


# -- formatting -------------------------------------------------------------------------------

def _cell(v: Any, width: int | None = _MAX_CELL) -> str:
    from .sanitize import sanitize

    if v is None:
        s = ""
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, float):
        s = "nan" if math.isnan(v) else f"{v:.6g}"
    elif isinstance(v, dt.datetime):
        s = v.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(v, (list, tuple)):
        s = ",".join(_cell(x, None) for x in v)
    elif isinstance(v, dict):
        import orjson

        s = orjson.dumps(v, default=str).decode()
    else:
        s = str(v)
    s = sanitize(s)
    if width is not None and len(s) > width:
        s = s[: width - 1] + "…"
    return s


def _print_table(table, out=None) -> None:
    out = out or sys.stdout
    names = [_cell(n) for n in table.column_names]
    rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    numeric = [_is_numeric(table.schema.field(i).type) for i in range(len(names))]

    def fmt(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out.write(fmt(names) + "\n")
    for r in rows:
        out.write(fmt(r) + "\n")
    if not rows:
        out.write("(no rows)\n")


def _is_numeric(t) -> bool:
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _write_json(obj: Any, out) -> None:
    import orjson

    out.write(orjson.dumps(_jsonable(obj), default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def _write_csv(table, out) -> None:
    tty = getattr(out, "isatty", lambda: False)()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(table.column_names)
    for row in table.to_pylist():
        cells = []
        for v in row.values():
            if v is None:
                cells.append("")
            elif isinstance(v, (list, dict)):
                import orjson

                cells.append(orjson.dumps(_jsonable(v), default=str).decode())
            elif isinstance(v, dt.datetime):
                cells.append(v.isoformat())
            else:
                cells.append(str(v))
        if tty:
            from .sanitize import sanitize

            cells = [sanitize(c) for c in cells]
        w.writerow(cells)


def _emit(table, fmt: str, output: str | None = None) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if not output:
            raise UsageError("--format parquet needs -o FILE")
        pq.write_table(table, output)
        return
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            _emit_text(table, fmt, f)
    else:
        _emit_text(table, fmt, sys.stdout)


def _emit_text(table, fmt: str, out) -> None:
    if fmt == "json":
        _write_json(table.to_pylist(), out)
    elif fmt == "csv":
        _write_csv(table, out)
    else:
        _print_table(table, out)


# -- commands ---------------------------------------------------------------------------------

def cmd_view(args: argparse.Namespace) -> int:
    roots = _roots(args.roots)
    for r in roots:
        if not r.is_dir():
            raise FileNotFoundError(f"run root {str(r)!r} does not exist")
    try:
        app = importlib.import_module("viewer.app")
        run_app = app.run_app
    except ModuleNotFoundError as exc:
        if exc.name != "viewer.app":
            raise
        print("loupe: the dashboard is not installed yet; showing the runs table", file=sys.stderr)
        store = _store(roots)
        _print_table(store.list_runs(columns=DEFAULT_LS_COLUMNS))
        return 0
    return int(run_app(roots, poll=True if getattr(args, "poll", False) else None) or 0)


def cmd_ls(args: argparse.Namespace) -> int:
    from .filter_expr import FilterError

    store = _store(_roots(args.roots))
    columns = _split_columns(args.columns) or DEFAULT_LS_COLUMNS
    try:
        table = store.list_runs(project=args.project, filter=args.filter, sort=args.sort or None,
                                columns=columns, limit=args.limit)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    _emit(table, args.format)
    return 0


def _split_columns(cols: list[str] | None) -> list[str]:
    out: list[str] = []
    for c in cols or []:
        out.extend(x.strip() for x in c.split(",") if x.strip())
    return out


def _fmt_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def cmd_show(args: argparse.Namespace) -> int:
    from .runs_table import flatten
    from .sanitize import sanitize

    store = _store(_roots(args.root))
    info = store.resolve(args.run)
    files = store.saved_files(info.id, limit=200)
    metrics = store.metric_names([info.id])
    page = store.tail_log(info.id, max_lines=args.lines)
    if args.format == "json":
        _write_json({
            "id": info.id, "project": info.project, "name": info.name, "state": info.state,
            "state_reason": info.state_reason, "path": str(info.path), "run": info.run_json,
            "config": info.config, "summary": info.summary, "metrics": metrics,
            "files": [{"path": p, "size": s} for p, s in files],
            "log_tail": [{"time": ln.time, "stream": ln.stream, "text": ln.raw} for ln in page.lines],
        }, sys.stdout)
        return 0
    out = sys.stdout
    rows = [
        ("run", info.ref), ("name", info.name), ("state", f"{info.state} ({info.state_reason})"),
        ("group", info.group), ("job_type", info.job_type), ("tags", ", ".join(info.tags) or None),
        ("notes", info.notes), ("created", info.created_at), ("finished", info.finished_at),
        ("runtime", f"{info.runtime:.1f} s" if info.runtime is not None else None),
        ("exit code", info.exit_code), ("error", info.error), ("host", info.host), ("pid", info.pid),
        ("git", " ".join(x for x in (info.git_commit, info.git_branch) if x) or None),
        ("path", str(info.path)),
    ]
    for k, v in rows:
        if v is not None:
            out.write(f"{k:<10} {_cell(v, 200)}\n")
    for title, data in (("config", info.config), ("summary", info.summary)):
        flat = flatten(data, "", {})
        out.write(f"\n{title} ({len(flat)} keys)\n")
        for k in sorted(flat)[:500]:
            out.write(f"  {_cell(k, 60)} = {_cell(flat[k], 120)}\n")
        if len(flat) > 500:
            out.write(f"  ... {len(flat) - 500} more\n")
    out.write(f"\nmetrics ({len(metrics)}): {_cell(', '.join(metrics), 2000)}\n")
    out.write(f"\nfiles ({len(files)})\n")
    for p, s in files:
        out.write(f"  {_cell(p, 120)}  {_fmt_size(s)}\n")
    out.write(f"\nlast {len(page.lines)} log lines\n")
    for ln in page.lines:
        out.write(f"  {sanitize(ln.time or ''):<24} {ln.stream} {ln.text}\n")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    store = _store(_roots(args.root))
    table = store.query(args.query)
    if args.max_rows is not None and args.format == "table" and table.num_rows > args.max_rows:
        shown = table.slice(0, args.max_rows)
        _emit(shown, args.format, args.output)
        print(f"({args.max_rows} of {table.num_rows} rows)", file=sys.stderr)
        return 0
    _emit(table, args.format, args.output)
    return 0


def _print_log_line(ln) -> None:
    sys.stdout.write(f"{ln.time or '':<24} {ln.stream} {ln.text}\n" if ln.time else f"{ln.text}\n")


def cmd_tail(args: argparse.Namespace) -> int:
    from .log_tail import LogFollower

    store = _store(_roots(args.root))
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

    store = _store(_roots(args.root))
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
                    _write_csv(table, f)
            else:
                pq.write_table(table, path)
            print(f"{path}  ({table.num_rows} rows)")
    return 0


# -- argument parsing -------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="loupe", description="Browse, query and export Loupe runs (offline).",
                epilog="`loupe ROOT...` with no command opens the dashboard.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("view", help="open the dashboard (default command)")
    v.add_argument("roots", nargs="*", metavar="ROOT", help="run roots (default: ./runs)")
    v.add_argument("--poll", action="store_true",
                   help="poll the roots for changes instead of inotify (chosen automatically on NFS, Lustre, ...)")
    v.set_defaults(func=cmd_view)

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("roots", nargs="*", metavar="ROOT", help="run roots (default: ./runs)")
    ls.add_argument("--project", "-p", help="only this project")
    ls.add_argument("--sort", "-s", action="append", metavar="KEY",
                    help="sort by a column; KEY:desc (or --sort=-KEY) for descending; repeatable")
    ls.add_argument("--filter", "-f", metavar="EXPR",
                    help="e.g. \"config.lr > 1e-3 and state = 'finished'\"")
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

    for name in CLI_PLUGINS:
        try:
            importlib.import_module(name).add_parser(sub)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return p


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        if not argv or (argv[0] not in _commands(parser) and (not argv[0].startswith("-") or argv[0] == "--poll")):
            argv = ["view", *argv]
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return args.func(args)
    except UsageError as exc:
        print(f"loupe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = io.StringIO()
        except Exception:
            pass
        return 0
    except Exception as exc:
        return _runtime_error(exc)


def _runtime_error(exc: Exception) -> int:
    from .sanitize import sanitize

    try:
        import duckdb

        db_error = isinstance(exc, duckdb.Error)
    except ImportError:  # pragma: no cover
        db_error = False
    from .store import QueryError, RunNotFound

    if isinstance(exc, (FileNotFoundError, NotADirectoryError, RunNotFound, QueryError, OSError)) or db_error:
        msg = str(exc.args[0]) if isinstance(exc, RunNotFound) and exc.args else str(exc)
    else:
        msg = f"{type(exc).__name__}: {exc}"
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    print(f"loupe: error: {sanitize(first)}", file=sys.stderr)
    return 1
