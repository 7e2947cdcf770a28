"""Why a log() call took over 2 ms: each slow call of a loop under recorder.init()'s
defaults, with what the training thread and our other tasks did meanwhile.

For every call over the threshold it prints when it began (ms after init), how long it
took, the training thread's own CPU during it, its context switches during it
(voluntary: it waited for the GIL or a lock, so one of our threads held it; involuntary:
the scheduler gave its core away), the garbage collections that ran inside it, and the
CPU each of our tasks (this process's threads by name, the helper process's threads) got
in the ~1 ms-wide windows around it, from /proc/<pid>/task/<tid>/schedstat (which on a
kernel with tick-based accounting moves in steps of one tick, 4 ms at HZ=250). Then a
tally over all repeats. Linux only.

    python benchmarks/log_stalls.py [--steps 100000] [--repeats 3] [--threshold-ms 2]
                                    [--against CHECKOUT]

With `--against` the same loop runs on another checkout first, in alternation.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVERY = 64  # steps between task readings


def task_cpu_ns(pid: int) -> dict[int, int]:
    out: dict[int, int] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except OSError:
            continue
    return out


def child(steps: int, threshold_ns: int) -> None:
    import recorder

    keys = [f"train/m{i}" for i in range(10)]
    values = [[round(math.exp(-s / 20000) * (1 + k / 10), 4) for k in range(10)] for s in range(256)]
    collections: list[tuple[int, int, int]] = []  # (generation, start ns, stop ns)
    started: dict[int, int] = {}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[info["generation"]] = time.perf_counter_ns()
        else:
            g = info["generation"]
            collections.append((g, started.pop(g, 0), time.perf_counter_ns()))

    gc.callbacks.append(on_gc)
    pc, ru, who = time.perf_counter_ns, resource.getrusage, resource.RUSAGE_THREAD
    me = os.getpid()
    slow = []
    with tempfile.TemporaryDirectory() as tmp:
        t_init = pc()
        run = recorder.init(dir=tmp, project="bench")
        assert run._files is not None
        helper = run._files._helper
        helper_pid = helper._proc.pid if helper is not None and helper._proc is not None else None

        def tasks() -> dict[str, int]:
            names = {t.native_id: t.name for t in threading.enumerate()}
            got = {f"training process: {names.get(tid, tid)}": ns for tid, ns in task_cpu_ns(me).items()}
            if helper_pid is not None:
                got.update({f"helper process: thread {tid}": ns for tid, ns in task_cpu_ns(helper_pid).items()})
            return got

        before = (pc(), tasks())
        pending = []
        for s in range(steps):
            row = dict(zip(keys, values[s & 255]))
            r0 = ru(who)
            c0 = time.thread_time_ns()
            t0 = pc()
            run.log(row)
            t1 = pc()
            if t1 - t0 > threshold_ns:
                c1 = time.thread_time_ns()
                r1 = ru(who)
                pending.append((t0, t1, c1 - c0, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw))
            if s % EVERY == EVERY - 1:
                now = (pc(), tasks())
                for t0, t1, cpu, vol, invol in pending:
                    ran = {k: (v - before[1].get(k, 0)) // 1000 for k, v in now[1].items()}
                    slow.append(
                        {
                            "at_ms": round((t0 - t_init) / 1e6, 1),
                            "ms": round((t1 - t0) / 1e6, 2),
                            "own_cpu_ms": round(cpu / 1e6, 2),
                            "voluntary": vol,
                            "involuntary": invol,
                            "gc": [g for g, a, b in collections if a < t1 and b > t0],
                            "window_ms": round((now[0] - before[0]) / 1e6, 1),
                            "ran_us": {k: v for k, v in ran.items() if v > 0},
                        }
                    )
                pending = []
                before = (pc(), tasks())
        run.finish()
    print(json.dumps(slow))


def measure(repo: Path, steps: int, threshold_ms: float) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(steps), str(int(threshold_ms * 1e6))],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"loop at {repo} failed: {proc.stderr.strip()[-800:]}")
    return json.loads(lines[-1])


def tally(label: str, runs: list[list[dict]]) -> None:
    calls = [c for r in runs for c in r]
    waited = sum(1 for c in calls if c["voluntary"])
    preempted = sum(1 for c in calls if c["involuntary"] and not c["voluntary"])
    with_gc = sum(1 for c in calls if c["gc"])
    early = sum(1 for c in calls if c["at_ms"] < 1000)
    print(
        f"  {label}: {[len(r) for r in runs]} slow calls per run; of {len(calls)}: {preempted} preempted only,"
        f" {waited} waited (GIL or lock), {with_gc} with a GC inside, {early} in the first second after init"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threshold-ms", type=float, default=2.0)
    ap.add_argument("--against", type=Path, help="another recorder checkout, measured in alternation")
    args = ap.parse_args()
    subjects = [("this checkout", REPO)]
    if args.against is not None:
        subjects.insert(0, (f"@ {args.against}", args.against.resolve()))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.steps} steps from init, {args.repeats} runs each"
    )
    results: dict[str, list[list[dict]]] = {label: [] for label, _ in subjects}
    for _ in range(args.repeats):
        for label, repo in subjects:
            results[label].append(measure(repo, args.steps, args.threshold_ms))
    for label, runs in results.items():
        print(f"\n{label}: calls over {args.threshold_ms} ms")
        for i, r in enumerate(runs):
            for c in r:
                print(f"  run {i + 1}: {json.dumps(c)}")
    print("\ntally")
    for label, runs in results.items():
        tally(label, runs)


if __name__ == "__main__":
    main()
