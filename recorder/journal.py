"""How the recorder spells what it writes, for writers and readers alike.

The file contract has two modules: `recorder.layout` says where every file is and what
it is called; this one says how lines and values inside them are encoded:

- journal rows (history, system, text, media index): one JSON object per line, NaN
  and +-inf kept apart under `_nf` because JSON has neither;
- console log lines: `2026-11-29T14:08:12.123Z O text` (UTC with milliseconds, O/E);
- ISO-8601 times in the JSON sidecars: UTC, microseconds, Z;
- a run's state as readers decide it from run.json (docs/format.md), for the viewer
  and `recorder.Api` alike.

Only the standard library and orjson, so training code and the viewer import it cheaply.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from recorder import layout

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}


def encode_row(row: dict[str, Any]) -> bytes:
    """One journal line; a leading newline fences off any line torn by a failed write."""
    line = orjson.dumps(row)
    if b"null" in line:
        line = orjson.dumps(_with_nonfinite_marked(row))
    return b"\n" + line


def _with_nonfinite_marked(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN/inf (orjson writes null); keep them apart so a reader restores them.
    clean: dict[str, Any] = {}
    marked: dict[str, str] = {}
    for k, v in row.items():
        if type(v) is float and not math.isfinite(v):
            marked[k] = "nan" if v != v else _NONFINITE[v]
        else:
            clean[k] = v
    if marked:
        clean[layout.JOURNAL_NONFINITE_KEY] = marked
    return clean


def decode_journal(data: bytes) -> list[dict[str, Any]]:
    """Rows of a journal; torn or garbled lines (a crash mid-write) are skipped."""
    rows = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        marked = row.pop(layout.JOURNAL_NONFINITE_KEY, None)
        if isinstance(marked, dict):
            for k, v in marked.items():
                row[k] = float(v) if v in ("nan", "inf", "-inf") else None
        rows.append(row)
    return rows


# -- console log lines ----------------------------------------------------------

_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([OE]) (.*)$", re.DOTALL)


def format_log_time(t: float) -> str:
    ms = int((t % 1.0) * 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{min(ms, 999):03d}Z"


def parse_log_line(line: str) -> tuple[str | None, str, str]:
    """(ISO time or None, 'O' or 'E', text) of one output.log line.

    Lines not in the format (a log written by something else, a torn last line) come
    back whole as stdout text with no time, so a reader never has to reject a line.
    """
    if line.endswith("\n"):
        line = line[:-1]
    m = _LINE_RE.match(line)
    if m is None:
        return None, "O", line
    return m.group(1), m.group(2), m.group(3)


# -- times in the JSON sidecars -----------------------------------------------------

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime(FORMAT)


def parse_iso(value: Any) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (ours, or any with or without a zone,
    taken as UTC when it has none); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.timestamp()


# -- run state, decided from run.json -------------------------------------------------

STATES = ("running", "finished", "failed", "crashed", "unknown")
HEARTBEAT_STALE_S = 30.0
# Process start times come from clock ticks since boot; allow this much disagreement
# with the wall clock the recorder read at init().
_START_SLACK_S = 2.0


@dataclass(frozen=True)
class StateDecision:
    state: str
    reason: str


def pid_started_before(pid: int, before: float | None) -> bool:
    """True when a live, non-zombie process `pid` exists that started before `before`."""
    try:
        import psutil

        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # A start after `before` means the pid was reused by a newer process.
        return before is None or proc.create_time() <= before + _START_SLACK_S
    except Exception:  # NoSuchProcess, AccessDenied on odd platforms, psutil missing
        return False


_HOSTNAME: str | None = None


def this_host() -> str:
    global _HOSTNAME
    if _HOSTNAME is None:
        import socket

        _HOSTNAME = socket.gethostname()
    return _HOSTNAME


def decide_state(
    run_json: dict[str, Any],
    now: float | None = None,
    hostname: str | None = None,
    pid_alive: Callable[[int, float | None], bool] | None = None,
) -> StateDecision:
    """`finished` / `failed` as written; `running` in the file is **crashed** once the
    process is gone (heartbeat older than HEARTBEAT_STALE_S, or, on this host, no live
    process `pid` that started before `created_at`), else **running**; `unknown` when
    run.json is missing, unreadable or holds a state this reader does not know."""
    written = run_json.get("state") if isinstance(run_json, dict) else None
    if written in ("finished", "failed"):
        return StateDecision(written, f"recorded as {written}")
    if written != "running":
        if not run_json:
            return StateDecision("unknown", "run.json is missing or unreadable")
        return StateDecision("unknown", f"run.json has state {written!r}")
    now = time.time() if now is None else now
    beat = parse_iso(run_json.get("heartbeat_at"))
    if beat is None:
        beat = parse_iso(run_json.get("created_at"))
    if beat is None:
        return StateDecision("crashed", "running, but run.json has no heartbeat time")
    age = now - beat
    if age > HEARTBEAT_STALE_S:
        return StateDecision("crashed", f"running, but the last heartbeat was {age:.0f} s ago")
    host = run_json.get("host")
    pid = run_json.get("pid")
    local = hostname if hostname is not None else this_host()
    if host == local and isinstance(pid, int) and not isinstance(pid, bool):
        check = pid_alive or pid_started_before
        if not check(pid, parse_iso(run_json.get("created_at"))):
            return StateDecision("crashed", f"running, but process {pid} on this host is gone")
        return StateDecision("running", f"process {pid} is alive; heartbeat {age:.0f} s ago")
    return StateDecision("running", f"heartbeat {age:.0f} s ago")
