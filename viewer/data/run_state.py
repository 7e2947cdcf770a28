"""A run's state as the viewer shows it: the file contract's rule, recorder.journal.decide_state.

    decide_state(run_json, now=None, hostname=None, pid_alive=None) -> StateDecision

- `finished` / `failed`: as written by the recorder.
- `running` in the file: **crashed** when the process is gone, else **running**. The
  process is gone when `heartbeat_at` is older than HEARTBEAT_STALE_S (30 s: six
  missed 5 s heartbeats), or, when the run's `host` is this machine, when no process
  with the run's `pid` is alive that started before `created_at` (a pid reused by a
  newer process does not count; a zombie is not alive).
- `unknown`: run.json is missing or unreadable, or holds a state this reader does not
  know (a newer format).

The rule lives in recorder.journal so `recorder.Api` decides states by the same
definition; `StateDecision.reason` says in words why, for `loupe show` and the TUI.
"""

from __future__ import annotations

from recorder.journal import (
    HEARTBEAT_STALE_S,
    STATES,
    StateDecision,
    decide_state,
    pid_started_before,
    this_host,
)
from recorder.journal import parse_iso as parse_time

__all__ = [
    "HEARTBEAT_STALE_S",
    "STATES",
    "StateDecision",
    "decide_state",
    "parse_time",
    "pid_started_before",
    "this_host",
]
