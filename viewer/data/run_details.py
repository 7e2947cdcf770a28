"""A run's overview for the detail pane: metadata, error, config/summary rows, files, artifacts.

    load_details(store, run_id) -> RunDetails      (reads small sidecars only; call in a worker)
    filter_rows(rows, query, limit) -> (rows, total)

Every string in a RunDetails is already sanitised (viewer.data.sanitize), so a UI can show it
as plain text. Config and summary are flattened (`a.b.c`) into (section, key, value)
rows, sorted by key; values that are not strings are shown as JSON.

No Textual import: this is the data layer.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from recorder import journal, layout
from viewer.data.discovery import json_object
from viewer.data.run_table_model import format_runtime
from viewer.data.runs_table import flatten
from viewer.data.sanitize import sanitize

if TYPE_CHECKING:
    from viewer.data.store import Store

__all__ = ["MAX_VALUE", "RunDetails", "filter_rows", "internal_key_text", "load_details"]

MAX_VALUE = 500  # characters of one value kept for display
_REQ_MAX_BYTES = 4 << 20


@dataclass
class RunDetails:
    run_id: str
    title: str
    overview: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None  # "Type: message" plus the traceback, newlines kept
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (section, key, value)
    files: list[tuple[str, int]] = field(default_factory=list)
    files_capped: bool = False
    packages: int | None = None
    artifacts: dict[str, list[str]] = field(default_factory=dict)


def _text(v: Any, limit: int = MAX_VALUE) -> str:
    if isinstance(v, str):
        s = v
    else:
        try:
            s = orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            s = str(v)
    s = sanitize(s)
    return s if len(s) <= limit else s[:limit] + f"… (+{len(s) - limit} chars)"


def _count_packages(path: os.PathLike[str] | str) -> int | None:
    try:
        with open(path, "rb") as f:
            data = f.read(_REQ_MAX_BYTES)
    except OSError:
        return None
    return sum(1 for line in data.splitlines() if line.strip() and not line.lstrip().startswith(b"#"))


def _artifact_label(item: dict[str, Any]) -> str:
    name = item.get("name") or item.get("target") or "?"
    project = item.get("project")
    version = item.get("version")
    s = f"{project}/{name}" if project else str(name)
    if version is not None:
        s += f":v{version}" if isinstance(version, int) else f":{version}"
    return sanitize(s)


def internal_key_text(key: str, value: Any) -> str | None:
    """The recorder's own summary keys in words: `_runtime` a duration, `_timestamp` a UTC time."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if key == layout.RUNTIME:
        return format_runtime(value) or None
    if key == layout.TIMESTAMP:
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        except (OverflowError, OSError, ValueError):
            return None
    return None


def load_details(store: Store, run_id: str, files_limit: int = 200) -> RunDetails:
    info = store.get(run_id) or store.resolve(run_id)
    rj = info.run_json if isinstance(info.run_json, dict) else {}
    d = RunDetails(info.id, sanitize(info.name or info.id))

    def add(key: str, value: Any) -> None:
        if value is None or value == "" or value == [] or value == {}:
            return
        d.overview.append((key, _text(value, 2000)))

    add("id", info.id)
    add("project", info.project)
    add("name", info.name)
    add("group", info.group)
    add("job type", info.job_type)
    add("tags", ", ".join(info.tags) if info.tags else None)
    add("notes", info.notes)
    state = info.state + (f" ({info.state_reason})" if info.state_reason and info.state_reason != info.state else "")
    add("state", state)
    add("created", info.created_at.isoformat(sep=" ", timespec="seconds") if info.created_at else None)
    add("finished", info.finished_at.isoformat(sep=" ", timespec="seconds") if info.finished_at else None)
    add("runtime", format_runtime(info.runtime) or None)
    add("exit code", info.exit_code)
    add("host", info.host)
    add("user", info.user)
    add("pid", info.pid)
    if info.world_size is not None:
        add("rank", f"{info.rank} / {info.world_size} (local {info.local_rank})")
    argv = rj.get("argv")
    if isinstance(argv, list):
        add("command", shlex.join(str(a) for a in argv))
    add("cwd", rj.get("cwd"))
    add("python", rj.get("python"))
    add("executable", rj.get("python_executable"))
    add("platform", rj.get("platform"))
    git = json_object(rj.get("git"))
    add("git commit", git.get("commit"))
    add("git branch", git.get("branch"))
    add("git remote", git.get("remote"))
    if isinstance(git.get("dirty"), bool):
        add("git dirty", "yes (files/diff.patch)" if git["dirty"] else "no")
    if rj.get("resumed"):
        add("resumed", "yes")
    werr = rj.get("write_errors")
    if isinstance(werr, dict):
        add("write errors", f"{werr.get('lost_rows')} rows lost; {werr.get('last_error')}")
    add("path", str(info.path))
    d.packages = _count_packages(info.path / layout.FILES_DIR / layout.REQUIREMENTS_FILE)
    if d.packages is not None:
        add("packages", f"{d.packages} (files/{layout.REQUIREMENTS_FILE})")

    err = rj.get("error")
    if isinstance(err, dict):
        head = f"{err.get('type') or 'Error'}: {err.get('message') or ''}".rstrip(": ")
        tb = err.get("traceback")
        text = head + ("\n" + tb if isinstance(tb, str) and tb else "")
        d.error = sanitize(text, keep_newlines=True)
    elif info.error:
        d.error = sanitize(info.error, keep_newlines=True)
    elif info.state == "crashed":
        d.error = sanitize(f"crashed: {info.state_reason}")

    rows: list[tuple[str, str, str]] = []
    for section, data in (("config", info.config), ("summary", info.summary)):
        if isinstance(data, dict):
            flat = flatten(data, "", {})
            for k in sorted(flat, key=str):
                value = internal_key_text(k, flat[k]) if section == "summary" else None
                rows.append((section, _text(k, 300), value or _text(flat[k])))
    d.rows = rows

    try:
        files = store.saved_files(info.id, limit=files_limit + 1)
    except Exception:
        files = []
    d.files_capped = len(files) > files_limit
    d.files = [(sanitize(p), size) for p, size in files[:files_limit]]

    try:
        arts = journal.read_run_artifacts(info.path)
        d.artifacts = {k: [_artifact_label(i) for i in v] for k, v in arts.items() if v}
    except Exception:
        d.artifacts = {}
    return d


def filter_rows(
    rows: list[tuple[str, str, str]], query: str, limit: int = 500
) -> tuple[list[tuple[str, str, str]], int]:
    """Rows whose key or value contains `query` (case-insensitive): the first `limit`, and the total."""
    q = query.strip().lower()
    if not q:
        return rows[:limit], len(rows)
    out: list[tuple[str, str, str]] = []
    total = 0
    for row in rows:
        if q in row[1].lower() or q in row[2].lower() or q == row[0]:
            total += 1
            if len(out) < limit:
                out.append(row)
    return out, total
