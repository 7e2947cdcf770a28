"""What one `run.log({...})` costs the training thread, in steady state, call by call.

benchmarks/log_overhead.py measures whole loops under each tracker's defaults, where
background threads and the helper process share the machine; this one isolates the
caller's own cost: system monitor and console capture off, a warm-up past the run's
start (helper start, metadata thread), then each call timed with perf_counter_ns.
Printed per shape (10 float keys, 10 int/float/bool keys, 100 float keys), beside the
floor (the same loop appending the row to a list): the training thread's CPU µs per
step of the timed loop (thread_time, row building included, which a busy machine's
preemption does not inflate: compare it with the floor's) as a mean and as the best
1,000-call batch (the cost when nothing else got in the way), then wall-clock
mean, median, p99, p99.9 and max µs per call, how many calls took over 2 ms, and the
training thread's context switches per 10,000 calls: voluntary (it waited for the GIL or
a lock) and preempted (the scheduler gave its core to another thread or process), which
tells our own stalls from a busy machine's.

With `--against DIR` the same children run a second checkout of the recorder (e.g.
the main branch) in alternation with this one, so a before/after comparison shares
the machine's load.

    python benchmarks/log_call.py [--calls 100000] [--repeats 3] [--against /path/to/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHAPES = {"10 floats": (10, "float"), "10 mixed": (10, "mixed"), "100 floats": (100, "float")}


def rows_for(n_keys: int, kind: str) -> list[dict]:
    keys = [f"train/m{i}" for i in range(n_keys)]
    out = []
    for s in range(256):
        row: dict = {k: round(1.0 / (1 + s + i), 4) for i, k in enumerate(keys)}
        if kind == "mixed":
            row[keys[0]] = s  # an int counter, a bool flag, floats for the rest
            row[keys[1]] = bool(s & 1)
        out.append(row)
    return out


def context_switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of this thread so far: a thread that waits
    for the GIL or a lock switches voluntarily, one the scheduler preempts involuntarily."""
    counts = {}
    try:
        with open("/proc/thread-self/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    name, value = line.split(":")
                    counts[name.strip()] = int(value)
    except OSError:  # not Linux
        return 0, 0
    return counts.get("voluntary_ctxt_switches", 0), counts.get("nonvoluntary_ctxt_switches", 0)


def child(tracker: str, calls: int, n_keys: int, kind: str) -> None:
    rows = rows_for(n_keys, kind)
    with tempfile.TemporaryDirectory() as tmp:
        if tracker == "floor":
            sink: list = []
            log = sink.append
            finish = sink.clear
        else:
            import recorder

            run = recorder.init(dir=tmp, project="bench", system_interval=0, capture_console=False)
            log, finish = run.log, run.finish
        for s in range(20_000):  # past the start: helper import, metadata thread
            log(dict(rows[s & 255]))
        time.sleep(1.0)
        times = array("q", bytes(8 * calls))
        pc = time.perf_counter_ns
        cpu = time.thread_time_ns
        batches = []  # CPU ns per 1,000 calls: the best shows the cost with no interference
        switches0 = context_switches()
        cpu0 = batch0 = cpu()
        for s in range(calls):
            row = dict(rows[s & 255])
            t0 = pc()
            log(row)
            times[s] = pc() - t0
            if s % 1000 == 999:
                now = cpu()
                batches.append(now - batch0)
                batch0 = now
        cpu_ns = cpu() - cpu0
        switches = [b - a for a, b in zip(switches0, context_switches())]
        finish()
    ordered = sorted(times)
    n = len(ordered)
    print(
        json.dumps(
            {
                "mean": sum(ordered) / n / 1000,
                "median": ordered[n // 2] / 1000,
                "p99": ordered[int(n * 0.99)] / 1000,
                "p999": ordered[int(n * 0.999)] / 1000,
                "max": ordered[-1] / 1000,
                "over_2ms": sum(1 for t in ordered if t > 2_000_000),
                "cpu": cpu_ns / n / 1000,
                "cpu_best": min(batches) / 1000 / 1000,
                "voluntary": switches[0] * 10_000 / n,
                "preempted": switches[1] * 10_000 / n,
            }
        )
    )


def measure(repo: Path, tracker: str, calls: int, n_keys: int, kind: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", tracker, str(calls), str(n_keys), kind],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{tracker} at {repo} failed: {proc.stderr.strip()[-800:]}")
    return json.loads(lines[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per figure, alternated")
    ap.add_argument("--against", type=Path, help="another recorder checkout to measure in the same run")
    args = ap.parse_args()
    subjects = [("floor (list.append)", REPO, "floor")]
    if args.against is not None:
        subjects.append((f"loupe @ {args.against}", args.against.resolve(), "loupe"))
    subjects.append(("loupe (this checkout)", REPO, "loupe"))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.calls} timed calls, {args.repeats} processes each"
    )
    for title, (n_keys, kind) in SHAPES.items():
        print(f"\n{title}")
        print(
            f"  {'':<32} {'CPU/step':>8} {'(best)':>7} {'mean µs':>8} {'(sd)':<6} {'median':>7} {'p99':>7} {'p99.9':>7}"
            f" {'max':>8} {'>2 ms':>6} {'waits':>6} {'preempt':>7}"
        )
        results: dict[str, list[dict]] = {label: [] for label, _, _ in subjects}
        for _ in range(args.repeats):
            for label, repo, tracker in subjects:
                results[label].append(measure(repo, tracker, args.calls, n_keys, kind))
        for label, runs in results.items():
            means = [r["mean"] for r in runs]
            sd = statistics.stdev(means) if len(means) > 1 else 0.0
            print(
                f"  {label[:32]:<32} {statistics.fmean(r['cpu'] for r in runs):>8.2f}"
                f" {min(r['cpu_best'] for r in runs):>7.2f}"
                f" {statistics.fmean(means):>8.2f} ±{sd:<5.2f}"
                f" {statistics.fmean(r['median'] for r in runs):>7.2f} {max(r['p99'] for r in runs):>7.2f}"
                f" {max(r['p999'] for r in runs):>7.1f} {max(r['max'] for r in runs):>8.0f}"
                f" {max(r['over_2ms'] for r in runs):>6}"
                f" {statistics.fmean(r['voluntary'] for r in runs):>6.1f}"
                f" {statistics.fmean(r['preempted'] for r in runs):>7.1f}"
            )


if __name__ == "__main__":
    main()
