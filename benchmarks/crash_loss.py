"""kill -9 a logging process N times at random moments; print steps lost and unreadable files.

Kills also land inside part publication and compaction (tiny parts, eager merging in
a third of the trials). Targets: 0 unreadable files, 0 duplicate steps, 0 lost steps.

    python benchmarks/crash_loss.py [--kills 100]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crash_harness import kill_once


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lost, unreadable, duplicates, gaps = [], 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.kills):
            tiny = i % 3 == 0
            r = kill_once(
                Path(tmp) / f"k{i}",
                delay=rng.uniform(0.02, 1.5),
                rows_per_part=20 if tiny else 500,
                compact_after=2 if tiny else 8,
            )
            steps = r["steps"]
            unreadable += len(r["unreadable"])
            duplicates += len(steps) - len(set(steps))
            gaps += steps != list(range(len(steps)))
            lost.append(max(0, r["accepted"] + 1 - len(steps)))
    print(f"kills: {args.kills}")
    print(f"steps lost per kill: max {max(lost)}  median {statistics.median(lost)}")
    print(f"unreadable files: {unreadable}   duplicate steps: {duplicates}   runs with gaps: {gaps}")


if __name__ == "__main__":
    main()
