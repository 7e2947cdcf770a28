"""What log() costs a training loop: the whole loop's mean, not the median call.

Each figure comes from a fresh process running the same loop (benchmarks/peers/log_loop.py)
under one tracker with its defaults (for the recorder: system monitor and console capture
on). Printed, in one run, per loop shape:

- whole-loop mean µs per step and its overhead over the floor (the same loop with
  list.append), the number a training loop pays;
- a second floor whose call is pure Python about as long as the recorder's median call
  and has no thread or process beside it: its calls over 2 ms are this machine's own;
- per-call median / p99 / max µs and how many calls took over 2 ms; beside it, how many
  whole steps took over 2 ms beyond their pause ("steps": the floor's are the machine
  taking the core away, which no tracker can prevent) and the VM's steal time meanwhile;
- finish() seconds and RSS growth from init to peak;
- the recorder's calls over 2 ms by cause, from the thread's context switches around each
  call in more processes: preempted by the OS, waited on the GIL or a lock, or ran;
- the same loop under trackio and wandb (offline) when their side venvs exist
  (TRACKIO_PYTHON / WANDB_PYTHON, default /work/venvs/{trackio,wandb}/bin/python), skipped
  with a message otherwise.

Loop shapes: 10 scalars per step; 10 scalars after a 1 ms step that releases the GIL
(time.sleep, as a GPU step does); 1,000 scalars per step. Then one long recorder run for
finish() time and flat memory.

    python benchmarks/log_overhead.py [--steps 100000] [--peer-steps 20000] [--repeats 3]
                                      [--long-steps 1000000] [--against CHECKOUT] [--no-peers]

`--against` adds a row for another checkout of the recorder (e.g. main, for a before/after
in the same run); `--no-peers` leaves out trackio and wandb.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOP = REPO / "benchmarks" / "peers" / "log_loop.py"
PEERS = {
    "trackio": os.environ.get("TRACKIO_PYTHON", "/work/venvs/trackio/bin/python"),
    "wandb": os.environ.get("WANDB_PYTHON", "/work/venvs/wandb/bin/python"),
}


def child(
    python: str,
    tracker: str,
    steps: int,
    keys: int,
    sleep_us: int,
    env: dict[str, str] | None = None,
    repo: Path = REPO,
) -> dict:
    proc = subprocess.run(
        [python, str(LOOP), tracker, str(steps), str(keys), str(sleep_us)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo), **(env or {})},
        timeout=1800,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{tracker} loop failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def measured(python: str, tracker: str, steps: int, keys: int, sleep_us: int, repeats: int, **kw) -> dict:
    """Means over `repeats` fresh processes; the worst p99, max and stall count seen."""
    runs = [child(python, tracker, steps, keys, sleep_us, **kw) for _ in range(repeats)]
    means = [r["mean_us"] for r in runs]
    return {
        "mean_us": statistics.fmean(means),
        "mean_sd": statistics.stdev(means) if len(means) > 1 else 0.0,
        "median_us": statistics.fmean(r["median_us"] for r in runs),
        "p99_us": max(r["p99_us"] for r in runs),
        "max_us": max(r["max_us"] for r in runs),
        "over_2ms": max(r["over_2ms"] for r in runs),
        "steps_over_2ms": max(r["steps_over_2ms"] for r in runs),
        "steal_ms": max(r["steal_ms"] for r in runs),
        "finish_s": max(r["finish_s"] for r in runs),
        "rss_growth_mb": max(r["rss_peak_mb"] - r["rss_start_mb"] for r in runs),
    }


def stall_causes(python: str, steps: int, keys: int, sleep_us: int, repeats: int) -> str:
    """The recorder's calls over 2 ms by cause (benchmarks/peers/log_loop.py stall_causes),
    summed over `repeats` more processes."""
    total = {"preempted": 0, "waited": 0, "ran": 0}
    for _ in range(repeats):
        found = child(python, "loupe", steps, keys, sleep_us, env={"LOG_LOOP_CAUSES": "1"})
        for k in total:
            total[k] += found[k]
    return (
        f"  loupe calls over 2 ms by cause, {repeats} more processes: {total['preempted']} preempted by the OS,"
        f" {total['waited']} waited (GIL or lock), {total['ran']} ran (own work or GC)"
    )


def row(label: str, steps: int, r: dict, floor: dict) -> str:
    over = r["mean_us"] - floor["mean_us"]
    return (
        f"  {label:<24} {steps:>8} {r['mean_us']:>9.2f} ±{r['mean_sd']:<5.2f} {over:>9.2f}"
        f" {r['median_us']:>8.2f} {r['p99_us']:>9.1f} {r['max_us']:>10.0f} {r['over_2ms']:>6}"
        f" {r['steps_over_2ms']:>6} {r['steal_ms']:>6.0f} {r['finish_s']:>8.3f} {r['rss_growth_mb']:>7.1f}"
    )


HEADER = (
    f"  {'tracker':<24} {'steps':>8} {'mean µs':>9} {'(sd)':<6} {'over floor':>9}"
    f" {'median':>8} {'p99 µs':>9} {'max µs':>10} {'>2 ms':>6} {'steps':>6} {'steal':>6} {'finish s':>8} {'RSS MB':>7}"
)


def shape(
    title: str,
    steps: int,
    peer_steps: int,
    keys: int,
    sleep_us: int,
    repeats: int,
    against: Path | None = None,
    peers: bool = True,
) -> None:
    print(f"\n{title}")
    print(HEADER)
    me = sys.executable
    floor = measured(me, "floor", steps, keys, sleep_us, repeats)
    print(row("floor (list.append)", steps, floor, floor))
    if keys <= 10:  # its call is ~3 µs for a 10-key row: beside the recorder's only there
        busy = measured(me, "busy", steps, keys, sleep_us, repeats)
        print(row("floor, a ~3 µs Python call", steps, busy, floor))
    if against is not None:
        before = measured(me, "loupe", steps, keys, sleep_us, repeats, repo=against)
        print(row(f"loupe @ {against.name}", steps, before, floor))
    print(row("loupe", steps, measured(me, "loupe", steps, keys, sleep_us, repeats), floor))
    thread = measured(me, "loupe", steps, keys, sleep_us, repeats, env={"LOUPE_PUBLISHER": "thread"})
    print(row("loupe, thread publisher", steps, thread, floor))
    print(stall_causes(me, steps, keys, sleep_us, repeats))
    if not peers:
        return
    peer_floor = floor if peer_steps == steps else measured(me, "floor", peer_steps, keys, sleep_us, repeats)
    for name, python in PEERS.items():
        if not Path(python).exists():
            print(f"  {name}: skipped, no side venv at {python} (set {name.upper()}_PYTHON)")
            continue
        try:
            print(row(name, peer_steps, measured(python, name, peer_steps, keys, sleep_us, repeats), peer_floor))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"  {name}: failed: {exc}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--peer-steps", type=int, default=20_000, help="steps for trackio and wandb (they are slower)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per figure")
    ap.add_argument("--long-steps", type=int, default=1_000_000, help="0 skips the long recorder run")
    ap.add_argument("--against", type=Path, help="another recorder checkout (say, main) measured in the same run")
    ap.add_argument("--no-peers", action="store_true", help="skip trackio and wandb")
    args = ap.parse_args()
    against = args.against.resolve() if args.against is not None else None
    peers = not args.no_peers
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; means over {args.repeats} processes")
    shape("10 scalars per step", args.steps, min(args.steps, args.peer_steps), 10, 0, args.repeats, against, peers)
    n_sleep = max(1, args.steps // 20)
    n_peer = min(n_sleep, args.peer_steps)
    shape("10 scalars after a 1 ms GIL-free step", n_sleep, n_peer, 10, 1000, args.repeats, against, peers)
    n_wide = max(1, args.steps // 50)
    shape("1,000 scalars per step", n_wide, min(n_wide, args.peer_steps // 10), 1000, 0, args.repeats, against, peers)
    if args.long_steps:
        r = child(sys.executable, "loupe", args.long_steps, 10, 0)
        print(
            f"\nloupe, {args.long_steps} steps: mean {r['mean_us']:.2f} µs/step, max call {r['max_us']:.0f} µs, "
            f"{r['over_2ms']} calls over 2 ms, finish() {r['finish_s']:.3f} s, "
            f"RSS growth {r['rss_before_finish_mb'] - r['rss_start_mb']:.1f} MB by the last step, "
            f"{r['rss_peak_mb'] - r['rss_start_mb']:.1f} MB at the peak (finish() included)"
        )


if __name__ == "__main__":
    main()
