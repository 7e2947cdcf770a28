"""Transformations of plotted series that the user controls: smoothing and log-safe values.

Pure functions over lists, run in the viewer's worker threads (never on the event loop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SMOOTHING_STEPS = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)


def ema(values: Sequence[float | None], weight: float) -> list[float | None]:
    """TensorBoard-style debiased exponential moving average; gaps (None/NaN) are kept."""
    if weight <= 0:
        return list(values)
    out: list[float | None] = []
    last = 0.0
    n = 0
    for v in values:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight**n))
    return out


def positive_only(xs: Sequence[float], ys: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """Points a log-scale axis can show (y > 0 and finite)."""
    px, py = [], []
    for x, y in zip(xs, ys):
        if y is not None and isinstance(y, (int, float)) and math.isfinite(y) and y > 0:
            px.append(x)
            py.append(y)
    return px, py


def finite_points(xs: Sequence[float | None], ys: Sequence[float | None]) -> tuple[list[float], list[float]]:
    px, py = [], []
    for x, y in zip(xs, ys):
        if x is None or y is None:
            continue
        if isinstance(y, float) and not math.isfinite(y):
            continue
        px.append(x)
        py.append(y)
    return px, py


def value_at(xs: Sequence[float], ys: Sequence[float | None], x: float) -> tuple[float, float | None] | None:
    """The point whose x is nearest to `x` (for the plot cursor readout)."""
    if not xs:
        return None
    i = min(range(len(xs)), key=lambda k: abs(xs[k] - x))
    return xs[i], ys[i]


def format_value(v: float | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))  # a step (29999, not 3e+04) or a count
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    if 1e4 <= abs(v) < 1e6:
        return f"{v:.1f}"
    return f"{v:.3e}"
