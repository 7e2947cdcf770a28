"""What a report holds, gathered through the Store: plain dicts and lists, ready for JSON.

    gather(store, run_ids, colors=None) -> dict

No HTML here (viewer.report.html_page writes the page) and no Textual. Series come from
Store.downsampled(), the bucketed min/max/mean the dashboard plots, turned into
panels by viewer.data.metric_panels.build_panels; runs-table cells by
viewer.data.run_table_model, as in the dashboard's Runs tab.

Size: every part has a budget, so a report of 20 runs x 100k steps stays well under
5 MB (benchmarks/report_size.py prints the figures). Series share SERIES_BUCKETS
buckets (each run/metric gets between MIN_POINTS and MAX_POINTS); logs, config keys,
images and histograms are capped per run (viewer.report.report_media for the last two).

Every string from a run (names, tags, config, log lines) is passed through
viewer.data.sanitize and stays data: the page shows it with textContent only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any

from viewer.data.metric_columns import hidden_keys
from viewer.data.metric_panels import Panel, build_panels, plottable_metrics
from viewer.data.run_colors import RunColors
from viewer.data.run_table_model import BASE_COLUMNS, auto_columns, build_rows, display, format_runtime
from viewer.data.runs_table import RunInfo, flatten
from viewer.data.sanitize import sanitize
from viewer.data.store import Store
from viewer.report.report_media import run_media

# Buckets for all series of a report together (~36 bytes of JSON each: x, mean, min, max).
SERIES_BUCKETS = 80_000
MAX_POINTS = 500  # per run and metric: more than a plot on a screen can show
MIN_POINTS = 20
MAX_PLOTS = 100  # metric plots; the rest are named in the report's notes
MAX_SYSTEM_PLOTS = 40
LOG_LINES = 100
LOG_BYTES = 32 << 10  # per run
MAX_KEYS = 300  # config / summary keys listed per run
MAX_VALUE_CHARS = 200
_GPU = re.compile(r"^gpu\.(\d+)\.")


def gather(store: Store, run_ids: Sequence[str], colors: RunColors | None = None) -> dict[str, Any]:
    """Everything the page shows about these runs (in this order), as JSON-ready data."""
    infos = [store.resolve(r) for r in dict.fromkeys(run_ids)]
    ids = [i.id for i in infos]
    if colors is None:
        colors = RunColors.in_order(ids)
    notes: list[str] = []
    metric_names = _metrics(store, ids)
    if len(metric_names) > MAX_PLOTS:
        notes.append(
            f"{len(metric_names) - MAX_PLOTS} more metrics not plotted: " + ", ".join(metric_names[MAX_PLOTS:])
        )
        metric_names = metric_names[:MAX_PLOTS]
    system_names = [m for m in store.metric_names(ids, stream="system") if m not in ("_runtime", "_timestamp")]
    system_names.sort(key=lambda m: (not _GPU.match(m), m))
    if len(system_names) > MAX_SYSTEM_PLOTS:
        notes.append(f"{len(system_names) - MAX_SYSTEM_PLOTS} more system metrics not plotted")
        system_names = system_names[:MAX_SYSTEM_PLOTS]
    points = points_per_series(len(ids) * (len(metric_names) + len(system_names)))
    index = {rid: i for i, rid in enumerate(ids)}
    metrics = _sections(store, ids, metric_names, points, "_step", "history", index)
    system = _sections(store, ids, system_names, points, "_runtime", "system", index)
    columns, rows = runs_table(infos, colors)
    return {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "points": points,
        "notes": [sanitize(n)[:2000] for n in notes],
        "columns": columns,
        "runs": rows,
        "metrics": metrics,
        "system": system,
        "media": [run_media(info, index[info.id]) for info in infos],
        "details": [run_details(store, info, index[info.id]) for info in infos],
    }


def points_per_series(series: int) -> int:
    """Buckets per run and metric so that all series together stay within SERIES_BUCKETS."""
    if series <= 0:
        return MAX_POINTS
    return max(MIN_POINTS, min(MAX_POINTS, SERIES_BUCKETS // series))


def _metrics(store: Store, ids: list[str]) -> list[str]:
    keys = store.metric_names(ids)
    hidden: set[str] = set()
    for rid in ids:
        hidden |= hidden_keys(store.metric_definitions(rid).get("definitions", []), keys)
    names, _ = plottable_metrics(keys, hidden, "", "_step")
    return names


def _sections(
    store: Store, ids: list[str], names: list[str], points: int, x: str, stream: str, index: dict[str, int]
) -> list[dict[str, Any]]:
    """[{title, panels: [{metric, series: [{run, x, y, lo, hi}]}]}], sections in first-seen order."""
    if not names or not ids:
        return []
    table = store.downsampled(ids, names, points=points, x=x, stream=stream)
    sections: dict[str, list[dict[str, Any]]] = {}
    for panel in build_panels(table, names, ids, 0.0):
        if panel.series:
            title = _system_section(panel.metric) if stream == "system" else panel.section
            sections.setdefault(title, []).append(_panel(panel, index))
    return [{"title": sanitize(t), "panels": p} for t, p in sections.items()]


def _system_section(metric: str) -> str:
    m = _GPU.match(metric)
    return f"GPU {m.group(1)}" if m else "system"


def _panel(panel: Panel, index: dict[str, int]) -> dict[str, Any]:
    return {
        "metric": sanitize(panel.metric),
        "series": [
            {
                "run": index[s.run_id],
                "x": [_num(v) for v in s.xs],
                "y": [_num(v) for v in s.ys],
                "lo": [_num(v) for v in s.lows],
                "hi": [_num(v) for v in s.highs],
            }
            for s in panel.series
        ],
    }


def _num(v: Any) -> float | int | None:
    """Six significant digits (a plot needs no more), integers without '.0'; NaN/inf -> None."""
    if v is None or isinstance(v, bool):
        return None
    f = float(v)
    if not math.isfinite(f):
        return None
    f = float(f"{f:.6g}")
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


# -- the runs table ----------------------------------------------------------------------


def runs_table(infos: list[RunInfo], colors: RunColors) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns (the dashboard's: base, then config/summary ones that vary first) and rows:
    {id, color, cells: {column: text}, sort: {column: number | text | None}}."""
    rows = build_rows(infos)
    columns = list(BASE_COLUMNS) + auto_columns(rows)
    out = []
    for row in rows:
        cells: dict[str, str] = {}
        keys: dict[str, Any] = {}
        for col in columns:
            value = row.values.get(col)
            cells[col] = _cell_text(col, value)
            keys[col] = _sort_key(value)
        out.append({"id": sanitize(row.run.id), "color": colors.hex(row.run.id), "cells": cells, "sort": keys})
    return [sanitize(c) for c in columns], out


def _cell_text(column: str, value: Any) -> str:
    if column == "runtime":
        return format_runtime(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return sanitize(display(value))[:MAX_VALUE_CHARS]


def _sort_key(value: Any) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _num(value)
    return sanitize(display(value)).lower()[:MAX_VALUE_CHARS]


# -- one run's details -------------------------------------------------------------------


def run_details(store: Store, info: RunInfo, index: int) -> dict[str, Any]:
    """Metadata, config, summary and the tail of the console log of one run."""
    git = " ".join(x for x in (info.git_commit, info.git_branch) if x) or None
    meta = [
        ("id", info.id),
        ("project", info.project),
        ("state", f"{info.state} ({info.state_reason})"),
        ("group", info.group),
        ("job type", info.job_type),
        ("tags", ", ".join(info.tags) or None),
        ("notes", info.notes),
        ("created", _cell_text("created", info.created_at) if info.created_at else None),
        ("runtime", format_runtime(info.runtime) or None),
        ("exit code", info.exit_code),
        ("error", info.error),
        ("host", info.host),
        ("git", git),
    ]
    page = store.tail_log(info.id, max_lines=LOG_LINES, max_bytes=LOG_BYTES)
    log_lines = [sanitize(f"{ln.time or ''} {ln.stream} {ln.text}".strip())[:1000] for ln in page.lines]
    return {
        "run": index,
        "name": sanitize(info.name or info.id),
        "meta": [[k, sanitize(display(v))[:MAX_VALUE_CHARS]] for k, v in meta if v is not None],
        "config": _pairs(info.config),
        "summary": _pairs({k: v for k, v in (info.summary or {}).items() if not str(k).startswith("_")}),
        "log": log_lines,
        "log_complete": page.at_start,
    }


def _pairs(data: dict[str, Any] | None) -> dict[str, Any]:
    flat = flatten(data or {}, "", {})
    keys = sorted(flat)
    return {
        "rows": [
            [sanitize(k)[:MAX_VALUE_CHARS], sanitize(display(flat[k]))[:MAX_VALUE_CHARS]] for k in keys[:MAX_KEYS]
        ],
        "more": max(0, len(keys) - MAX_KEYS),
    }
