"""The one timestamp spelling in every JSON file the recorder writes: UTC, microseconds, Z."""

from __future__ import annotations

import datetime as _dt
import time

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime(FORMAT)
