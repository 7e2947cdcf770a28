"""The `loupe` command: browse, query, tail and export runs from the terminal.

    loupe [ROOT...]                 the dashboard (same as `loupe view`)
    loupe view [ROOT...]
    loupe ls [ROOT...] [--project P] [--sort KEY]... [--filter EXPR] [--columns COL...]
             [--limit N] [--format table|json|csv]
    loupe show RUN [--root ROOT] [--format text|json]
    loupe sql "QUERY" [--root ROOT] [--format table|csv|json|parquet] [-o FILE]
    loupe tail RUN [--root ROOT] [-n LINES] [-f]
    loupe export RUN... [--root ROOT] --format csv|parquet [-o DIR]
    loupe diff RUN RUN... [--root ROOT] [--format table|json] [--all]
    loupe tag RUN [+TAG|-TAG]... / note RUN [TEXT] / rename RUN NAME   [--root ROOT]
    loupe rm RUN... [--force] [--yes] / restore [RUN...] / gc --trash  [--root ROOT]
    loupe report [RUN or FILTER...] [--root ROOT] [-o report.html]   one offline HTML file
    loupe serve [ROOT...] [--host 127.0.0.1] [--port 8000] [--public]   the dashboard in a browser
    loupe import wandb|tensorboard|mlflow PATH... [--root ROOT] [--project P] [--force]

ROOT defaults to $LOUPE_DIR or ./runs; when neither exists the bundled sample_runs/ is
used, with a one-line note. RUN is an id, a unique id prefix, a name, or project/id.
Exit status: 0 success, 1 runtime error (unknown run, bad SQL, missing root), 2 usage
error (bad arguments, bad --filter or --sort). Errors are one line on stderr.

The dashboard lives in `viewer.tui.app`: `viewer.tui.app.run_app(roots, poll=...)` is called
when that module exists; until then `loupe`/`loupe view` print the runs table.
Everything printed from a run (names, config values, log lines) is sanitised.

This module parses and dispatches; the run subcommands are in viewer.cli.run_commands,
diff in viewer.cli.diff_command, tag/note/rename/rm/restore/gc in
viewer.cli.manage_commands, the table/JSON/CSV writers in viewer.cli.output, and
`loupe sweep` / `loupe artifacts` come from viewer.cli.sweep_commands and
viewer.cli.artifact_commands; `loupe report` and `loupe serve` from
viewer.cli.report_command and viewer.cli.serve_command; `loupe import` from
viewer.cli.import_command.
"""

from __future__ import annotations

import argparse
import importlib
import io
import sys
from collections.abc import Sequence
from typing import NoReturn

from viewer.cli.diff_command import add_parser as add_diff_parser
from viewer.cli.manage_commands import add_parsers as add_manage_parsers
from viewer.cli.output import UsageError
from viewer.cli.run_commands import add_parsers as add_run_parsers

__all__ = ["main"]

COMMANDS = ("view", "ls", "show", "sql", "tail", "export", "diff", "tag", "note", "rename", "rm", "restore", "gc")
# Modules adding their own subcommands, by the command each adds: each has
# add_parser(subparsers) setting func. Imported only for their own command (or for help
# and unknown words): all five cost ~35 ms, a seventh of `loupe sql` at 10,000 runs.
CLI_PLUGINS = {
    "sweep": "viewer.cli.sweep_commands",
    "artifacts": "viewer.cli.artifact_commands",
    "report": "viewer.cli.report_command",
    "serve": "viewer.cli.serve_command",
    "import": "viewer.cli.import_command",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(f"{message} (see {self.prog} --help)")


# -- argument parsing -------------------------------------------------------------------------


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `command` (a core command or a plugin's), only the plugin
    modules that command needs are imported."""
    p = _Parser(
        prog="loupe",
        description="Browse, query and export Loupe runs (offline).",
        epilog="`loupe ROOT...` with no command opens the dashboard.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_run_parsers(sub)
    add_diff_parser(sub)
    add_manage_parsers(sub)

    names = list(CLI_PLUGINS.values())
    if command in COMMANDS:
        names = []
    elif command in CLI_PLUGINS:
        names = [CLI_PLUGINS[command]]
    for name in names:
        try:
            importlib.import_module(name).add_parser(sub)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        first = argv[0] if argv else None
        if first is None or (
            first not in COMMANDS and first not in CLI_PLUGINS and (not first.startswith("-") or first == "--poll")
        ):
            argv = ["view", *argv]
        parser = build_parser(argv[0])
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
    from viewer.data.sanitize import sanitize

    try:
        import duckdb

        db_error = isinstance(exc, duckdb.Error)
    except ImportError:  # pragma: no cover
        db_error = False
    from viewer.data.store import QueryError, RunNotFound

    if isinstance(exc, (FileNotFoundError, NotADirectoryError, RunNotFound, QueryError, OSError)) or db_error:
        msg = str(exc.args[0]) if isinstance(exc, RunNotFound) and exc.args else str(exc)
    else:
        msg = f"{type(exc).__name__}: {exc}"
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    print(f"loupe: error: {sanitize(first)}", file=sys.stderr)
    return 1
