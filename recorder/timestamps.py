"""The one timestamp spelling in every JSON file the recorder writes: UTC, microseconds, Z."""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime(FORMAT)


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
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.timestamp()
