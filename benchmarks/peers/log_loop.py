"""One training loop under one tracker; the child side of benchmarks/log_overhead.py.

    python log_loop.py TRACKER STEPS KEYS SLEEP_US   -> prints one JSON object

TRACKER is floor (list.append), busy (a ~3 µs pure-Python call), loupe, trackio or wandb
(offline). Runs with whichever venv's python has the tracker installed, so it imports
nothing from this repository but `recorder` (for loupe, found through PYTHONPATH). Each step builds its row dict in
the loop, optionally sleeps (a training step that releases the GIL), then logs it.
Every tracker runs with its defaults, writing under a temporary directory.
"""

import json
import math
import os
import resource
import sys
import tempfile
import time
from array import array


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def steal_ms() -> float:
    """CPU time the hypervisor gave to others while this VM wanted it (/proc/stat), all cores."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(ordered: list[int], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def _busy_log():
    """A log() of pure Python work about as long as the recorder's call for 10 keys (~3 µs), on no
    thread or process of its own: how often this machine alone stalls a call that long."""
    kept: list = []

    def log(row: dict) -> None:
        for _ in range(5):
            flat = {}
            for k, v in row.items():
                flat[k] = float(v)
            kept.append(tuple(flat.items()))
        if len(kept) > 4096:
            kept.clear()

    return log


def open_tracker(name: str, tmp: str):
    """(log, finish) for the tracker, started with its defaults."""
    if name == "floor":
        rows: list = []
        return rows.append, lambda: None
    if name == "busy":
        return _busy_log(), lambda: None
    if name == "loupe":
        import recorder

        run = recorder.init(dir=tmp, project="bench")
        return run.log, run.finish
    if name == "trackio":
        os.environ["TRACKIO_DIR"] = tmp
        import trackio  # type: ignore[import-not-found]

        trackio.init(project="bench")
        return trackio.log, trackio.finish
    if name == "wandb":
        os.environ.update(WANDB_MODE="offline", WANDB_DIR=tmp, WANDB_SILENT="true")
        import wandb

        wandb_run = wandb.init(project="bench")
        return wandb_run.log, wandb_run.finish
    raise SystemExit(f"unknown tracker {name!r}")


def stall_causes(log, keys: list, values: list, steps: int, pause: float) -> dict:
    """Why calls took over 2 ms, from the calling thread's context switches around each
    call (two getrusage calls per step, so not the loop whose mean is reported):
    preempted (the OS gave the core to another task: an involuntary switch), waited (the
    thread blocked, on the GIL or a lock: a voluntary one), ran (neither: the call's own
    work, or the garbage collector)."""
    usage, who = resource.getrusage, resource.RUSAGE_THREAD
    pc = time.perf_counter_ns
    out = {"preempted": 0, "waited": 0, "ran": 0}
    for s in range(steps):
        row = dict(zip(keys, values[s & 255]))
        if pause:
            time.sleep(pause)
        r0 = usage(who)
        t0 = pc()
        log(row)
        t1 = pc()
        if t1 - t0 > 2_000_000:
            r1 = usage(who)
            if r1.ru_nivcsw > r0.ru_nivcsw:
                out["preempted"] += 1
            elif r1.ru_nvcsw > r0.ru_nvcsw:
                out["waited"] += 1
            else:
                out["ran"] += 1
    return out


def main() -> None:
    name, steps, n_keys, sleep_us = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    keys = [f"train/m{i}" for i in range(n_keys)]
    # A decaying curve per key, 4 significant digits, like a loss; made before the clock starts.
    values = [[round(math.exp(-s / 20000) * (1 + k / n_keys), 4) for k in range(n_keys)] for s in range(256)]
    pause = sleep_us / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        # Per-call times in a preallocated C array: a list of int objects would add ~36 MB
        # per million steps to the RSS growth this reports for the tracker. Made by
        # repetition, not from bytes(8 * steps), which would be a second 8 MB copy.
        calls = array("q", [0]) * steps
        # Whole steps too (row built, pause, log): a step over 2 ms beyond its pause is the
        # machine taking the core away (the floor has them as well) or the tracker's stall.
        step_ns = array("q", [0]) * steps
        log, finish = open_tracker(name, tmp)
        rss0 = rss_mb()
        steal0 = steal_ms()
        pc = time.perf_counter_ns
        if os.environ.get("LOG_LOOP_CAUSES"):
            causes = stall_causes(log, keys, values, steps, pause)
            finish()
            print(json.dumps(causes))
            return
        t_start = t_prev = pc()
        for s in range(steps):
            row = dict(zip(keys, values[s & 255]))
            if pause:
                time.sleep(pause)
            t0 = pc()
            log(row)
            t1 = pc()
            calls[s] = t1 - t0
            step_ns[s] = t1 - t_prev
            t_prev = t1
        loop_ns = pc() - t_start
        steal = steal_ms() - steal0
        rss_loop = rss_mb()
        t0 = pc()
        finish()
        finish_s = (pc() - t0) / 1e9
        # The peak before the figures below are worked out: sorting the times makes an
        # int object per step (~36 MB per million steps), the benchmark's, not the tracker's.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ordered = sorted(calls)
        print(
            json.dumps(
                {
                    "mean_us": loop_ns / steps / 1000,
                    "median_us": percentile(ordered, 0.5),
                    "p99_us": percentile(ordered, 0.99),
                    "max_us": ordered[-1] / 1000,
                    "over_2ms": sum(1 for c in ordered if c > 2_000_000),
                    "steps_over_2ms": sum(1 for c in step_ns if c > 2_000_000 + sleep_us * 1000),
                    "steal_ms": steal,
                    "finish_s": finish_s,
                    "rss_start_mb": rss0,
                    "rss_before_finish_mb": rss_loop,
                    "rss_peak_mb": peak,
                }
            )
        )


if __name__ == "__main__":
    main()
