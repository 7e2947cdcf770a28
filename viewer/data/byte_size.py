"""Byte counts for people, written one way everywhere (dashboard and CLI).

IEC binary units, as the rest of Loupe measures (system metrics in MiB, the 1 MiB log
tail): 1 KiB = 1024 B, one decimal above bytes, e.g. `512 B`, `1.5 KiB`, `3.2 GiB`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(n: Any, missing: str = "") -> str:
    """`n` bytes as text; `missing` for anything that is not a byte count (None, a
    string from a damaged record, a negative or non-finite number)."""
    if not isinstance(n, (int, float)) or isinstance(n, bool) or not math.isfinite(n) or n < 0:
        return missing
    size = float(n)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return missing  # not reached: the last unit always returns
