"""`loupe sweep create|ls|show|agent`.

Wire into the main parser with:

    from viewer.cli.main import sweep_commands as sweep_cli
    sweep_cli.add_parser(subparsers)          # adds "sweep", sets func=sweep_cli.handle
    args = parser.parse_args(); return args.func(args)

Every subcommand takes `--root` (default: LOUPE_DIR or ./runs). `main(argv)` runs it alone:
`python -m viewer.cli.sweep_commands ls`.

    loupe sweep create sweep.yaml --project demo      # prints the sweep id
    loupe sweep agent demo/abcd1234 --count 10 -- python train.py --epochs 3
    loupe sweep ls
    loupe sweep show abcd1234
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from viewer.cli.text_rows import write_rows


def _safe(value: Any) -> str:
    """Text for a terminal: control and escape characters shown as \\xNN, never emitted."""
    s = "" if value is None else str(value)
    return "".join(c if (c.isprintable() or c == " ") else f"\\x{ord(c):02x}" for c in s)


def _root(args: argparse.Namespace) -> Path:
    root = getattr(args, "root", None)
    return Path(root or os.environ.get("LOUPE_DIR") or "runs")


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return _safe(v)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `sweep` command (create/ls/show/agent) to an argparse subparsers object."""
    p = subparsers.add_parser(
        "sweep",
        help="create, list, inspect and run hyperparameter sweeps",
        description="Sweeps stored under <root>/<project>/_sweeps (see docs/sweeps.md).",
    )
    sub = p.add_subparsers(dest="sweep_command", metavar="{create,ls,show,agent}")
    sub.required = True

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--root", default=None, help="runs root (default: LOUPE_DIR or ./runs)")

    c = sub.add_parser("create", help="create a sweep from a YAML or JSON config; prints its id")
    c.add_argument("config", help="sweep config file (.yaml, .yml or .json)")
    c.add_argument("--project", help="project (default: the config's 'project', LOUPE_PROJECT or 'default')")
    common(c)

    ls = sub.add_parser("ls", help="list sweeps")
    ls.add_argument("--project", help="only this project")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    common(ls)

    show = sub.add_parser("show", help="a sweep's trials, best first")
    show.add_argument("sweep_id", help="sweep id, or project/id")
    show.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    show.add_argument("--limit", type=int, default=50, help="show at most this many trials (default 50)")
    show.add_argument("--importance", action="store_true", help="also rank parameters by importance")
    common(show)

    a = sub.add_parser(
        "agent",
        help="run trials of a sweep, each as a subprocess",
        description="Runs the sweep's program/command (or the command after --) once per trial, "
        "with the trial's parameters as --key=value arguments and in LOUPE_SWEEP_PARAMS; "
        "the script's recorder.init() puts them in its config.",
    )
    a.add_argument("sweep_id", help="sweep id, or project/id")
    a.add_argument("--count", type=int, help="run at most this many trials")
    a.add_argument("--project", help="project of the sweep (default: searched)")
    a.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        metavar="-- PROGRAM ARGS",
        help="the command to run per trial (default: the config's program/command)",
    )
    common(a)
    p.set_defaults(func=handle)
    return p


def handle(args: argparse.Namespace) -> int:
    return {"create": cmd_create, "ls": cmd_ls, "show": cmd_show, "agent": cmd_agent}[args.sweep_command](args)


def cmd_create(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    from recorder.sweeps import SweepConfigError, load_config

    try:
        raw = load_config(args.config)
        from recorder.sweeps.config import parse

        parse(raw)
        from recorder.sweeps.sweep_store import SweepStore

        store = SweepStore.create(raw, project=args.project, dir=_root(args))
    except SweepConfigError as exc:
        print(f"loupe sweep create: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, ImportError) as exc:
        print(f"loupe sweep create: {exc}", file=sys.stderr)
        return 1
    out.write(f"{store.id}\n")
    print(
        f"created sweep {store.project}/{store.id} in {store.path}\n"
        f"run an agent: loupe sweep agent {store.project}/{store.id}",
        file=sys.stderr,
    )
    return 0


def cmd_ls(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    from viewer.data.sweep_index import list_sweeps, load_sweep

    rows = [["ID", "PROJECT", "METHOD", "METRIC", "TRIALS", "DONE", "FAILED", "RUNNING", "BEST", "CREATED"]]
    for info in list_sweeps([_root(args)], getattr(args, "project", None)):
        sweep = load_sweep(info)
        counts = sweep.counts()
        best = sweep.best()
        if args.json:
            out.write(
                json.dumps(
                    {
                        "id": info.id,
                        "project": info.project,
                        "method": info.method,
                        "metric": info.metric,
                        "goal": info.goal,
                        "trials": len(sweep.trials),
                        "counts": counts,
                        "best": {"trial": best.number, "run_id": best.run_id, "value": best.value} if best else None,
                        "created_at": info.created_at,
                        "message": sweep.message,
                    }
                )
                + "\n"
            )
            continue
        metric = f"{info.metric} ({'max' if info.goal == 'maximize' else 'min'})" if info.metric else "-"
        rows.append(
            [
                _safe(info.id),
                _safe(info.project),
                _safe(info.method),
                _safe(metric),
                str(len(sweep.trials)),
                str(counts["finished"] + counts["early_terminated"]),
                str(counts["failed"] + counts["crashed"] + counts["no_metric"]),
                str(counts["running"]),
                _num(best.value) if best else "-",
                _safe((info.created_at or "")[:19]),
            ]
        )
    if not args.json:
        if len(rows) == 1:
            print(f"no sweeps under {_root(args)}", file=sys.stderr)
        else:
            write_rows(rows, out)
    return 0


def cmd_show(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    from viewer.data.sweep_index import find_sweep, load_sweep, param_importance

    info = find_sweep([_root(args)], args.sweep_id)
    if info is None:
        print(f"loupe sweep show: no sweep {args.sweep_id!r} under {_root(args)}", file=sys.stderr)
        return 1
    sweep = load_sweep(info)
    ranked = sweep.sorted_trials()
    best = sweep.best()
    importance = param_importance(sweep) if args.importance else None
    if args.json:
        out.write(
            json.dumps(
                {
                    "id": info.id,
                    "project": info.project,
                    "method": info.method,
                    "metric": info.metric,
                    "goal": info.goal,
                    "config": info.config,
                    "counts": sweep.counts(),
                    "message": sweep.message,
                    "best": best.number if best else None,
                    "trials": [
                        {
                            "number": t.number,
                            "run_id": t.run_id,
                            "state": t.state,
                            "value": t.value,
                            "params": t.params,
                            "error": t.error,
                        }
                        for t in ranked
                    ],
                    "importance": (
                        {"ranked": importance.ranked, "message": importance.message} if importance else None
                    ),
                },
                default=str,
            )
            + "\n"
        )
        return 0
    metric = f"{info.metric} ({info.goal})" if info.metric else "none"
    out.write(f"sweep {_safe(info.project)}/{_safe(info.id)}  method {_safe(info.method)}  metric {_safe(metric)}\n")
    counts = {k: v for k, v in sweep.counts().items() if v}
    out.write("trials: " + (", ".join(f"{v} {k}" for k, v in counts.items()) or "none yet") + "\n")
    if sweep.message:
        out.write(f"note: {_safe(sweep.message)}\n")
    if best is not None:
        out.write(
            f"best: trial {best.number}  run {_safe(best.run_id)}  {_safe(info.metric)}={_num(best.value)}  "
            f"{_safe(json.dumps(best.params, default=str))}\n"
        )
    names = sweep.param_names()
    rows = [
        ["#", "STATE", (info.metric or "VALUE").upper() if info.metric else "VALUE", "RUN"] + [_safe(n) for n in names]
    ]
    for t in ranked[: max(args.limit, 0)]:
        rows.append(
            [str(t.number), t.state, _num(t.value), _safe(t.run_id or "-")] + [_num(t.params.get(n)) for n in names]
        )
    out.write("\n")
    write_rows(rows, out)
    if len(ranked) > args.limit:
        out.write(f"... {len(ranked) - args.limit} more (use --limit)\n")
    if importance is not None:
        out.write("\nparameter importance" + (f" ({_safe(importance.message)})" if importance.message else "") + "\n")
        for name, share in importance.ranked:
            out.write(f"  {_safe(name):<24} {share:6.3f}  {'#' * int(round(share * 40))}\n")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    # argparse's REMAINDER also swallows options given after the sweep id (and drops a
    # "--" that comes right after it): read leading --count/--project/--root here.
    rest = list(args.program or [])
    known = {"--count": "count", "--project": "project", "--root": "root"}
    while rest and rest[0] != "--":
        flag, eq, value = rest[0].partition("=")
        if flag not in known:
            break
        if not eq:
            if len(rest) < 2:
                print(f"loupe sweep agent: {flag} needs a value", file=sys.stderr)
                return 2
            value = rest[1]
            rest = rest[1:]
        rest = rest[1:]
        if flag == "--count":
            try:
                value = int(value)
            except ValueError:
                print(f"loupe sweep agent: --count {value!r} is not an integer", file=sys.stderr)
                return 2
        setattr(args, known[flag], value)
    if rest and rest[0] == "--":
        rest = rest[1:]
    command = rest
    try:
        from recorder.sweeps.agent_loop import Agent
        from recorder.sweeps.sweep_store import SweepNotFound, SweepStore

        store = SweepStore.find(args.sweep_id, project=args.project, dir=_root(args))
        results = Agent(store, command=command or None, count=args.count).run()
    except KeyboardInterrupt:
        print("loupe sweep agent: interrupted", file=sys.stderr)
        return 130
    except (SweepNotFound, ValueError, ImportError, OSError) as exc:
        print(f"loupe sweep agent: {exc}", file=sys.stderr)
        return 1
    print(f"loupe sweep agent: ran {len(results)} trial(s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loupe")
    sub = parser.add_subparsers(dest="command_name")
    sub.required = True
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "sweep":
        argv = ["sweep"] + argv
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
