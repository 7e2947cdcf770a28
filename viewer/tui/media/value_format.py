"""How a logged value prints in the media views: short floats, everything else as str."""

from __future__ import annotations

import math
from typing import Any


def fmt(v: Any) -> str:
    """Floats to 4 significant digits (inf and nan spelled out); anything else via str()."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)
