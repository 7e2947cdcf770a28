"""Cost of log() on the training thread, end-to-end time, memory and disk per step.

Prints, in one run: µs per log() of 10 scalars (median and p99), the same for a bare
list.append loop as the floor, total time including finish(), peak RSS, bytes on disk
per step, and RSS growth over a longer run (flat memory check).

    python benchmarks/log_overhead.py [--steps 100000] [--long-steps 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recorder

KEYS = [f"train/m{i}" for i in range(10)]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(xs: Sequence[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def curves(steps: int):
    """A plausible training curve per metric: decaying loss with noise, 4 significant digits."""
    import numpy as np

    rng = np.random.default_rng(0)
    i = np.arange(steps)[:, None]
    return np.round(np.exp(-i / 20000) + rng.random((steps, len(KEYS))) * 0.01, 4)


def floor_loop(values) -> tuple[float, float, float]:
    """The same loop with list.append instead of log(): the floor, and the harness's own cost."""
    out: list = []
    times = []
    pc = time.perf_counter_ns
    t_start = time.perf_counter()
    for vals in values:
        row = dict(zip(KEYS, vals.tolist()))
        t0 = pc()
        out.append(row)
        times.append(pc() - t0)
    return percentile(times, 0.5) / 1000, percentile(times, 0.99) / 1000, time.perf_counter() - t_start


def logged_run(root: Path, values, sample: bool) -> dict[str, Any]:
    steps = len(values)
    run = recorder.init(dir=root, project="bench", system_interval=0, capture_console=False, reinit="create_new")
    times = []
    pc = time.perf_counter_ns
    t_start = time.perf_counter()
    rss0 = rss_mb()
    rss_marks: list[float] = []
    for i, vals in enumerate(values):
        row = dict(zip(KEYS, vals.tolist()))
        if sample:
            t0 = pc()
            run.log(row)
            times.append(pc() - t0)
        else:
            run.log(row)
        if i and i % (steps // 8) == 0:
            rss_marks.append(rss_mb())
    t_log = time.perf_counter() - t_start
    run.finish()
    total = time.perf_counter() - t_start
    size = sum(p.stat().st_size for p in Path(run.dir).rglob("*") if p.is_file() and "history" in p.parts)
    res = {
        "total_s": total,
        "log_loop_s": t_log,
        "bytes_per_step": size / steps,
        "rss_start_mb": rss0,
        "rss_marks": rss_marks,
        "rss_end_mb": rss_mb(),
    }
    if sample:
        res["median_us"] = percentile(times, 0.5) / 1000
        res["p99_us"] = percentile(times, 0.99) / 1000
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--long-steps", type=int, default=1_000_000, help="0 skips the flat-memory run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        values = curves(args.steps)
        f50, f99, harness_s = floor_loop(values)
        r = logged_run(Path(tmp), values, sample=True)
        print(f"steps: {args.steps} x 10 scalars")
        print(f"log() per call:        median {r['median_us']:.2f} us   p99 {r['p99_us']:.2f} us")
        print(f"list.append floor:     median {f50:.2f} us   p99 {f99:.2f} us")
        print(
            f"end to end incl finish: {r['total_s']:.3f} s  (log loop {r['log_loop_s']:.3f} s; the same loop "
            f"with list.append takes {harness_s:.3f} s, so the recorder's share is "
            f"{r['total_s'] - harness_s:.3f} s)"
        )
        print(f"bytes on disk per step: {r['bytes_per_step']:.1f}")
        if args.long_steps:
            r2 = logged_run(Path(tmp), curves(args.long_steps), sample=False)
            marks = " ".join(f"{m:.0f}" for m in r2["rss_marks"])
            print(
                f"{args.long_steps} steps: RSS every 1/8 of the run (MB): {marks}; after finish "
                f"{r2['rss_end_mb']:.0f} MB; total {r2['total_s']:.1f} s, {r2['bytes_per_step']:.1f} B/step"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.1f} MB")


if __name__ == "__main__":
    main()
