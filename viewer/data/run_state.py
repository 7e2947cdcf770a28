"""Decide a run's state from its run.json, as docs/format.md says readers should.

    decide_state(run_json, now=None, hostname=None, pid_alive=None) -> StateDecision

- `finished` / `failed`: as written by the recorder; `crashed` as written by `loupe import`
  for a source run that never ended (a wandb log with no exit record).
- `running` in the file: **crashed** when the process is gone, else **running**. The
  process is gone when `heartbeat_at` is older than HEARTBEAT_STALE_S (30 s: six
  missed 5 s heartbeats), or, when the run's `host` is this machine, when no process
  with the run's `pid` is alive that started before `created_at` (a pid reused by a
  newer process does not count; a zombie is not alive).
- `unknown`: run.json is missing or unreadable, or holds a state this reader does not
  know (a newer format).

`StateDecision.reason` says in words why, for `loupe show` and the TUI.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.journal import parse_iso

__all__ = ["HEARTBEAT_STALE_S", "STATES", "StateDecision", "decide_state", "parse_time", "pid_started_before"]

STATES = ("running", "finished", "failed", "crashed", "unknown")
HEARTBEAT_STALE_S = 30.0
# Process start times come from clock ticks since boot; allow this much disagreement
# with the wall clock the recorder read at init().
_START_SLACK_S = 2.0


@dataclass(frozen=True)
class StateDecision:
    state: str
    reason: str


# Times in run.json, as the recorder writes them (UTC, 'Z').
parse_time = parse_iso


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
        _HOSTNAME = socket.gethostname()
    return _HOSTNAME


def decide_state(
    run_json: dict[str, Any],
    now: float | None = None,
    hostname: str | None = None,
    pid_alive: Callable[[int, float | None], bool] | None = None,
) -> StateDecision:
    written = run_json.get("state") if isinstance(run_json, dict) else None
    if written in ("finished", "failed", "crashed"):
        return StateDecision(written, f"recorded as {written}")
    if written != "running":
        if not run_json:
            return StateDecision("unknown", "run.json is missing or unreadable")
        return StateDecision("unknown", f"run.json has state {written!r}")
    now = time.time() if now is None else now
    beat = parse_time(run_json.get("heartbeat_at"))
    if beat is None:
        beat = parse_time(run_json.get("created_at"))
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
        if not check(pid, parse_time(run_json.get("created_at"))):
            return StateDecision("crashed", f"running, but process {pid} on this host is gone")
        return StateDecision("running", f"process {pid} is alive; heartbeat {age:.0f} s ago")
    return StateDecision("running", f"heartbeat {age:.0f} s ago")
