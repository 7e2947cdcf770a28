"""Plot axis ticks a reader takes in at a glance: 1-2-5 steps, short numbers, time with units.

plotext's own ticks split the data range evenly (`0.5  31.8  63.0` on an axis of whole
steps) and print raw seconds; these functions pick round tick values inside a range and
label them (`0 50 100 150`, `1.2k`, `1e-4`, `30s`, `5min`, `14:05`). Pure math, no
Textual: the TUI hands the results to plotext's xticks/yticks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Steps a clock or stopwatch is read in: seconds, minutes, hours, then days.
_TIME_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
# Each unit is used once ticks are at least this far apart: `0.5s`, but `20ms` not `2e-2s`.
_DURATION_UNITS = ((86400, 86400, "d"), (3600, 3600, "h"), (60, 60, "min"), (1, 0.1, "s"), (1e-3, 0, "ms"))

# What the Metrics and System x axes are called; ticks carry the time units themselves.
X_AXIS_LABELS = {"_step": "step", "_runtime": "runtime", "_timestamp": "wall time"}


@dataclass(frozen=True)
class Ticks:
    """Tick positions (in data units) and the text printed at each."""

    values: list[float]
    labels: list[str]


def nice_step(lo: float, hi: float, target: int, integer: bool = False) -> float:
    """The 1, 2 or 5 * 10^k step that puts about `target` ticks in [lo, hi] (at most one more)."""
    raw = (hi - lo) / max(1, target)
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    exp = math.floor(math.log10(raw))
    steps = [m * 10.0**e for e in range(exp - 1, exp + 2) for m in (1, 2, 5)]
    if integer:
        steps = [max(1.0, round(s)) for s in steps]
    return _fewest(lo, hi, steps, target)


def _fewest(lo: float, hi: float, steps: Iterable[float], target: int) -> float:
    """Of `steps` (ascending), the one whose tick count in [lo, hi] is nearest `target`.

    Never more than one tick over `target`; on a tie the fewer ticks win.
    """
    target = max(1, target)
    best, best_miss = 0.0, math.inf
    for step in steps:
        count = _count(lo, hi, step)
        miss = abs(count - target) + (0.5 if count > target else 0)
        if count <= target + 1 and miss < best_miss:
            best, best_miss = step, miss
    return best or max(steps, default=1.0)


def _span(lo: float, hi: float, step: float, offset: float) -> tuple[int, int]:
    """The first and last k with `offset + k*step` inside [lo, hi]."""
    return math.ceil((lo - offset) / step - 1e-9), math.floor((hi - offset) / step + 1e-9)


def _count(lo: float, hi: float, step: float, offset: float = 0.0) -> int:
    first, last = _span(lo, hi, step, offset)
    return max(0, last - first + 1)


def _multiples(lo: float, hi: float, step: float, offset: float = 0.0) -> list[float]:
    """Every `offset + k*step` inside [lo, hi], without float noise (0.30000000000000004)."""
    first, last = _span(lo, hi, step, offset)
    digits = _decimals(step) + 2  # past the step's own digits: clock times keep their milliseconds
    return [round(offset + k * step, digits) for k in range(first, last + 1)]


def nice_ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> list[float]:
    """Round values in [lo, hi] spaced by a 1-2-5 step; whole numbers only when `integer`."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    lo, hi = min(lo, hi), max(lo, hi)
    if lo == hi:
        return [lo]
    return _multiples(lo, hi, nice_step(lo, hi, target, integer))


def short_number(value: float, step: float | None = None) -> str:
    """`1.2k`, `3.4M`, `1e-4`, `0.25`: as many digits as `step` (the tick spacing) tells apart."""
    if not math.isfinite(value):
        return str(value)
    if step is not None and abs(value) < abs(step) * 1e-9:
        value = 0.0
    if value == 0:
        return "0"
    size = abs(value)
    if step is None:
        step = 10.0 ** (math.floor(math.log10(size)) - 2)  # three significant digits
    step = abs(step)
    # one notation along an axis of tiny steps: `5e-4 1e-3 1.5e-3`, not `5e-4 0.0010 0.0015`
    if size < 1e-3 or size >= 1e15 or (step < 1e-3 and size < 1e-2):
        digits = max(0, math.floor(math.log10(size)) - math.floor(math.log10(step)))
        mantissa, exponent = f"{value:.{digits}e}".split("e")
        return f"{_trim(mantissa)}e{int(exponent)}"
    for scale, suffix in _SUFFIXES:
        decimals = _decimals(step / scale)
        if size >= scale and decimals <= 2:
            return _trim(f"{value / scale:.{decimals}f}") + suffix
    return _trim(f"{value:.{_decimals(step)}f}")


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def number_ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> Ticks:
    """Ticks for a plain number axis, labelled in short form."""
    values = nice_ticks(lo, hi, target, integer)
    step = values[1] - values[0] if len(values) > 1 else None
    return Ticks(values, [short_number(v, step) for v in values])


def log_ticks(lo: float, hi: float, target: int = 5) -> Ticks:
    """Ticks for a log axis over positive [lo, hi]: powers of ten, with 2 and 5 between when few."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return Ticks([], [])
    lo, hi = min(lo, hi), max(lo, hi)
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    every = max(1, math.ceil((last - first + 1) / max(1, target)))
    values = [10.0**k for k in range(first, last + 1) if (k - first) % every == 0]
    if len(values) < 2:
        values = sorted(
            float(f"{m * 10.0**k:.12g}")
            for k in range(first - 1, last + 1)
            for m in (1, 2, 5)
            if lo * (1 - 1e-9) <= m * 10.0**k <= hi * (1 + 1e-9)
        )
    if len(values) < 2:
        return number_ticks(lo, hi, target)  # under a factor of two: even steps read fine
    return Ticks(values, [short_number(v) for v in values])


def time_step(lo: float, hi: float, target: int) -> float:
    """A step a clock is read in (1, 2, 5, 10, 15, 30 s or min; 1-12 h; days), about `target` ticks."""
    if (hi - lo) / max(1, target) < 1:
        return nice_step(lo, hi, target)
    days = [86400 * m * 10.0**e for e in range(0, 6) for m in (1, 2, 5)]
    return _fewest(lo, hi, [float(s) for s in _TIME_STEPS] + days, target)


def duration_ticks(lo: float, hi: float, target: int = 5) -> Ticks:
    """Ticks for an axis of elapsed seconds, each labelled with its unit: `30s`, `5min`, `2h`."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return Ticks([], [])
    lo, hi = min(lo, hi), max(lo, hi)
    step = time_step(lo, hi, target) if hi > lo else 1.0
    values = _multiples(lo, hi, step) if hi > lo else [lo]
    unit, name = next((u, n) for u, least, n in _DURATION_UNITS if step >= least)
    return Ticks(values, [short_number(v / unit, step / unit) + name for v in values])


def clock_ticks(lo: float, hi: float, target: int = 5, utc_offset: float | None = None) -> Ticks:
    """Ticks for an axis of unix times, on round local times: `14:05`, `14:05:30`, `12-03`.

    `utc_offset` (seconds east of UTC) defaults to this machine's offset at `lo`.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return Ticks([], [])
    lo, hi = min(lo, hi), max(lo, hi)
    if utc_offset is None:
        utc_offset = float(time.localtime(lo).tm_gmtoff or 0)
    step = time_step(lo + utc_offset, hi + utc_offset, target) if hi > lo else 1.0
    values = _multiples(lo, hi, step, offset=-utc_offset) if hi > lo else [lo]
    shape = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%m-%d"
    return Ticks(values, [_clock(v + utc_offset, shape, step) for v in values])


def _clock(local: float, shape: str, step: float) -> str:
    whole = math.floor(local)
    text = time.strftime(shape, time.gmtime(whole))
    if step < 1:  # a run of a few seconds: the ticks differ in their fractions of a second
        text += f"{local - whole:.{_decimals(step)}f}"[1:]
    return text


def data_range(values: Iterable[float]) -> tuple[float, float] | None:
    """min and max of the finite values, widened as plotext widens a flat range; None if empty.

    A flat line at zero sits at the bottom of 0..1: it is mostly a counter that has not
    moved (bytes sent, errors), and -1..1 would show it negative ticks it cannot reach."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    if lo == hi:
        return (0.5 * lo, 1.5 * lo) if lo > 0 else (1.5 * lo, 0.5 * lo) if lo < 0 else (0.0, 1.0)
    return lo, hi


def x_axis_ticks(x_axis: str, lo: float, hi: float, target: int, integer: bool) -> Ticks:
    """Ticks for a Metrics or System x axis: durations for `_runtime`, clock times for `_timestamp`."""
    if x_axis == "_runtime":
        return duration_ticks(lo, hi, target)
    if x_axis == "_timestamp":
        return clock_ticks(lo, hi, target)
    return number_ticks(lo, hi, target, integer=integer or x_axis == "_step")
