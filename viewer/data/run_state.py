"""Decide a run's state from its run.json, as docs/format.md says readers should.

    decide_state(run_json, now=None, hostname=None, pid_alive=None) -> StateDecision

- `finished` / `failed`: as written by the recorder.
- `running` in the file: **crashed** when the process is gone, else **running**. The
  process is gone (recorder.journal.heartbeat_check) when `heartbeat_at` is older than
  HEARTBEAT_STALE_S (30 s: six missed 5 s heartbeats), or, when the run's `host` is this
  machine, when no process with the run's `pid` is alive that started before
  `created_at` (a pid reused by a newer process does not count; a zombie is not alive).
- `unknown`: run.json is missing or unreadable, or holds a state this reader does not
  know (a newer format).

`StateDecision.reason` says in words why, for `loupe show` and the TUI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.journal import HEARTBEAT_STALE_S, heartbeat_check, parse_iso, this_host
from recorder.journal import process_alive as pid_started_before

__all__ = [
    "HEARTBEAT_STALE_S",
    "STATES",
    "StateDecision",
    "decide_state",
    "parse_time",
    "pid_started_before",
    "this_host",
]

STATES = ("running", "finished", "failed", "crashed", "unknown")


@dataclass(frozen=True)
class StateDecision:
    state: str
    reason: str


# Times in run.json, as the recorder writes them (UTC, 'Z').
parse_time = parse_iso


def decide_state(
    run_json: dict[str, Any],
    now: float | None = None,
    hostname: str | None = None,
    pid_alive: Callable[[int, float | None], bool] | None = None,
) -> StateDecision:
    written = run_json.get("state") if isinstance(run_json, dict) else None
    if written in ("finished", "failed"):
        return StateDecision(written, f"recorded as {written}")
    if written != "running":
        if not run_json:
            return StateDecision("unknown", "run.json is missing or unreadable")
        return StateDecision("unknown", f"run.json has state {written!r}")
    # The heartbeat rule is the file contract's: sweep agents are judged by the same one.
    gone, why = heartbeat_check(run_json, "created_at", HEARTBEAT_STALE_S, now, hostname, pid_alive)
    return StateDecision("crashed", f"running, but {why}") if gone else StateDecision("running", why)
