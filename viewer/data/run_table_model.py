"""What the runs table shows: rows of display values, columns, text search, sort, groups.

Pure Python over RunInfo (no Textual, no files): the TUI's runs pane renders it and
tests check it directly. Expression filters go through the store (viewer.data.filter_expr).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from viewer.data.runs_table import RunInfo, flatten

BASE_COLUMNS = ("state", "name", "project", "group", "created", "runtime", "tags")
GROUPINGS = (None, "project", "group")
_EXPR_HINT = re.compile(r"[<>=!]|\b(and|or|not|like|in|is|contains)\b", re.IGNORECASE)
_PREFIX_TOKEN = re.compile(r"^(project|tag|state|group|name|job|host):(.*)$", re.IGNORECASE)


@dataclass
class TableRow:
    run: RunInfo
    values: dict[str, Any]
    # Rendered cells by column, filled by the view that draws the row.
    cells: dict[str, Any] = field(default_factory=dict)


def looks_like_expression(text: str) -> bool:
    """`lr > 1e-3 and state = 'finished'` is an expression; `resnet tag:best` is a search."""
    return bool(_EXPR_HINT.search(text)) and not all(_PREFIX_TOKEN.match(t) for t in text.split())


def build_rows(runs: list[RunInfo]) -> list[TableRow]:
    rows = []
    for run in runs:
        values: dict[str, Any] = {
            "id": run.id,
            "state": run.state,
            "name": run.name or run.id,
            "project": run.project,
            "group": run.group,
            "created": run.created_at,
            "runtime": run.runtime,
            "tags": ", ".join(run.tags),
            "job_type": run.job_type,
            "host": run.host,
        }
        flatten(run.config or {}, "config.", values)
        flatten(run.summary or {}, "summary.", values)
        rows.append(TableRow(run, values))
    return rows


# Config and summary columns the table shows unless the user chose: (prefix, how many).
AUTO_COLUMNS = (("config.", 6), ("summary.", 4))


_UNSEEN: Any = object()


def auto_columns(rows: list[TableRow]) -> list[str]:
    """Config, then summary columns; within each, those whose values differ across runs
    first. One pass over the rows (5,000 runs x 30 values is ~50 ms)."""
    prefixes = tuple(p for p, _ in AUTO_COLUMNS)
    private = tuple(p + "_" for p in prefixes)
    # Every key is judged once (None: not a candidate), not once per row: at 10,000 runs
    # the prefix tests were most of this function's time.
    found: dict[str, set[str] | None] = {}
    for row in rows:
        for key, v in row.values.items():
            values = found.get(key, _UNSEEN)
            if values is _UNSEEN:
                values = found[key] = set() if key.startswith(prefixes) and not key.startswith(private) else None
            if values is not None and len(values) < 2:  # two different values are all "varying" needs
                values.add(repr(v))
    seen = {k: v for k, v in found.items() if v is not None}
    out: list[str] = []
    for prefix, limit in AUTO_COLUMNS:
        keys = sorted(k for k in seen if k.startswith(prefix))
        varying = [k for k in keys if len(seen[k]) > 1 or len(rows) == 1]
        constant = [k for k in keys if not (len(seen[k]) > 1 or len(rows) == 1)]
        out += (varying + constant)[:limit]
    return out


def all_extra_columns(rows: list[TableRow]) -> list[str]:
    keys: set[str] = set()
    for row in rows:
        keys.update(k for k in row.values if k.startswith(("config.", "summary.")))
    return sorted(keys)


def text_match(row: TableRow, text: str) -> bool:
    """Plain words must all appear somewhere; `project:x`, `tag:x`, `state:x`... match fields."""
    v = row.values
    haystack = " ".join(str(v.get(k) or "") for k in ("id", "name", "project", "group", "tags", "state")).lower()
    haystack += " " + (row.run.notes or "").lower()
    for token in text.lower().split():
        m = _PREFIX_TOKEN.match(token)
        if m:
            field, want = m.group(1), m.group(2)
            if field == "tag":
                if not any(want in t.lower() for t in row.run.tags):
                    return False
            else:
                key = {"job": "job_type"}.get(field, field)
                if want not in str(v.get(key) or "").lower():
                    return False
        elif token not in haystack:
            return False
    return True


def sort_rows(rows: list[TableRow], column: str | None, descending: bool) -> list[TableRow]:
    if column is None:
        return rows

    def key(row: TableRow) -> tuple:
        value = row.values.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (1, 0, "")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, 0, value)
        if isinstance(value, dt.datetime):
            return (0, 0, value.timestamp())
        return (0, 1, str(value).lower())

    present = [r for r in rows if key(r)[0] == 0]
    missing = [r for r in rows if key(r)[0] == 1]
    present.sort(key=key, reverse=descending)
    return present + missing  # runs without the value stay at the bottom either way


def group_rows(rows: list[TableRow], grouping: str | None) -> list[tuple[str | None, list[TableRow]]]:
    if grouping is None:
        return [(None, rows)]
    groups: dict[str, list[TableRow]] = {}
    for row in rows:
        groups.setdefault(str(row.values.get(grouping) or "(none)"), []).append(row)
    return sorted(groups.items())


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return str(value)
    return str(value)


def format_runtime(seconds: float | None) -> str:
    """A duration as people say it: `2.2s`, `45s`, `3m05s`, `1h02m`."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}s"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
