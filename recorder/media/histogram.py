"""recorder.Histogram: bin edges and counts, stored as list<double> columns (queryable)."""

from __future__ import annotations

import math
from typing import Any

MAX_BINS = 512


class Histogram:
    """`Histogram(values, num_bins=64)` or `Histogram(np_histogram=np.histogram(values))`.

    `bins` holds the num_bins + 1 edges, `histogram` the num_bins counts (as in wandb).
    Non-finite values are left out.
    """

    _loupe_media = True
    kind = "histogram"

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        if np_histogram is not None:
            counts, bins = np_histogram
            self.histogram = [float(c) for c in _to_list(counts)]
            self.bins = [float(b) for b in _to_list(bins)]
            if len(self.bins) != len(self.histogram) + 1:
                raise ValueError("Histogram(np_histogram=(counts, bins)) needs len(bins) == len(counts) + 1")
            if len(self.histogram) > MAX_BINS:
                raise ValueError(f"Histogram(): at most {MAX_BINS} bins")
            return
        if sequence is None:
            raise ValueError("Histogram() needs a sequence or np_histogram=")
        num_bins = max(1, min(int(num_bins), MAX_BINS))
        self.histogram, self.bins = _compute(sequence, num_bins)

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins [{self.bins[0]:g}, {self.bins[-1]:g}]>"


def _to_list(v: Any) -> list:
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    tolist = getattr(v, "tolist", None)
    return tolist() if callable(tolist) else list(v)


def _compute(sequence: Any, num_bins: int) -> tuple[list[float], list[float]]:
    if hasattr(sequence, "detach"):  # torch tensor
        sequence = sequence.detach().cpu().float().numpy()
    try:
        import numpy as np
    except ImportError:
        return _compute_plain(sequence, num_bins)
    a = np.asarray(sequence, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    counts, bins = np.histogram(a, bins=num_bins)
    return counts.astype(np.float64).tolist(), bins.tolist()


def _compute_plain(sequence: Any, num_bins: int) -> tuple[list[float], list[float]]:
    values = [float(x) for x in _flatten(sequence)]
    values = [x for x in values if math.isfinite(x)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / num_bins
    counts = [0.0] * num_bins
    for x in values:
        counts[min(int((x - lo) / width), num_bins - 1)] += 1.0
    return counts, [lo + i * width for i in range(num_bins)] + [hi]


def _flatten(seq: Any):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flatten(x)
        else:
            yield x
