"""`loupe diff RUN RUN... [--format table|json] [--all]`: runs side by side.

The comparison is viewer.data.run_compare's, the same the dashboard's compare view
shows: metadata, config keys that differ (the same ones counted, listed with --all),
and summary metrics with the best value of each row marked `*`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from viewer.cli.output import cell, write_json
from viewer.cli.run_commands import open_store, run_roots

__all__ = ["add_parser", "print_comparison"]

BEST = " *"
_KEY_WIDTH = 40
_VALUE_WIDTH = 28
BEST_RULE = "* best: the metric's define_metric goal, else lower for loss/err/error..., higher for acc/f1/auc..."


def cmd_diff(args: argparse.Namespace) -> int:
    from viewer.data.run_compare import compare_runs

    store = open_store(run_roots(args.root))
    infos = list({i.id: i for i in (store.resolve(r) for r in args.runs)}.values())
    if len(infos) < 2:
        print("loupe: error: name at least two different runs to compare", file=sys.stderr)
        return 2
    comparison = compare_runs(infos, [store.metric_definitions(i.id) for i in infos])
    if args.format == "json":
        write_json(comparison.to_json(), sys.stdout)
    else:
        print_comparison(comparison, sys.stdout, show_same=args.all)
    return 0


def print_comparison(c: Any, out: TextIO, show_same: bool = False) -> None:
    """The comparison as an aligned table: a key column, then a column per run."""
    from viewer.data.run_compare import format_value

    def cells(row: Any) -> list[str]:
        return [
            cell(format_value(row.key, v), _VALUE_WIDTH) + (BEST if i in row.best else "")
            for i, v in enumerate(row.values)
        ]

    sections: list[tuple[str, list[tuple[str, list[str]]]]] = []
    sections.append(("metadata", [(r.key, cells(r)) for r in c.metadata if r.key != "name"]))
    total = len(c.config_differ) + len(c.config_same)
    title = f"config: {len(c.config_differ)} of {total} keys differ"
    shown = list(c.config_differ)
    if c.config_same:
        if show_same:
            shown += list(c.config_same)
            title += f" (then the {len(c.config_same)} the same)"
        else:
            title += f" ({len(c.config_same)} the same: --all lists them)"
    sections.append((title, [(r.key, cells(r)) for r in shown]))
    sections.append((f"summary ({BEST_RULE})", [(r.key, cells(r)) for r in c.summary]))

    keys = [cell(k, _KEY_WIDTH) for _, rows in sections for k, _ in rows]
    key_w = max([len(k) for k in keys] + [8])
    labels = [cell(lb, _VALUE_WIDTH) for lb in c.labels]
    widths = [
        max([len(lb)] + [len(vals[i]) for _, rows in sections for _, vals in rows]) for i, lb in enumerate(labels)
    ]

    def line(key: str, values: list[str]) -> str:
        return ("  " + key.ljust(key_w) + "  " + "  ".join(v.ljust(w) for v, w in zip(values, widths))).rstrip()

    out.write(line("", labels) + "\n")
    for title, rows in sections:
        out.write(f"{title}\n")
        for key, values in rows:
            out.write(line(cell(key, _KEY_WIDTH), values) + "\n")
        if not rows:
            out.write("  (none)\n")


def add_parser(sub: Any) -> None:
    d = sub.add_parser("diff", help="compare runs side by side: config that differs, summary with the best marked")
    d.add_argument("runs", nargs="+", metavar="RUN")
    d.add_argument("--root", "-r", action="append", metavar="ROOT", help="run root (default: ./runs); repeatable")
    d.add_argument("--format", choices=("table", "json"), default="table")
    d.add_argument("--all", action="store_true", help="also list the config keys that are the same")
    d.set_defaults(func=cmd_diff)
