"""A run's state from its run.json, as docs/format.md says readers should decide it.

    decide_state(run_json, now=None, hostname=None, pid_alive=None) -> StateDecision

- `finished` / `failed`: as written by the recorder; `crashed` as written by `loupe import`
  for a source run that never ended (a wandb log with no exit record).
- `running` in the file: **crashed** when the process is gone, else **running**. The
  process is gone (recorder.journal.heartbeat_check) when `heartbeat_at` is older than
  HEARTBEAT_STALE_S (30 s: six missed 5 s heartbeats), or, when the run's `host` is this
  machine, when no process with the run's `pid` is alive that started before
  `created_at` (a pid reused by a newer process does not count; a zombie is not alive).
- `unknown`: run.json is missing or unreadable, or holds a state this reader does not
  know (a newer format).

The rule is recorder.journal.run_state, so `recorder.Api` decides by the same
definition; `StateDecision.reason` says in words why, for `loupe show` and the TUI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.journal import HEARTBEAT_STALE_S, parse_iso, run_state, this_host
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
    return StateDecision(*run_state(run_json, now, hostname, pid_alive))
