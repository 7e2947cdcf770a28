"""Import a wandb 0.31 offline run of 100k steps x 10 metrics; print seconds and steps/s.

Target: <= 5 s for the whole import (read, decode, write Parquet and JSON). Printed
beside two floors measured on the same file in the same run: reading and unframing the
log (no protobuf), and parsing every record once with wandb's plain `Record` type (what
any reader built on wandb's definitions pays before looking at a single value).

Making the source run with the real wandb takes a minute or more (wandb logs ~1-3k
steps/s); --keep DIR keeps it for the next invocation.

    python benchmarks/import_speed.py [--steps 100000] [--repeat 3] [--keep /tmp/wandb-100k]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from import_sources import tool_env, wandb_run_dir  # noqa: E402 (after the path setup)

MAKE = """
import sys, wandb
steps = int(sys.argv[2])
run = wandb.init(project="bench", dir=sys.argv[1], config={"steps": steps})
for i in range(steps):
    wandb.log({f"m{j}": i * 0.001 + j for j in range(10)})
wandb.finish()
"""


def make_source(where: Path, steps: int) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    if (where / "wandb").is_dir():
        return wandb_run_dir(where)
    script = where / "make_run.py"
    script.write_text(MAKE)
    t = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(where), str(steps)], env=tool_env(where), check=True)
    print(f"made the source run with wandb in {time.perf_counter() - t:.1f} s")
    return wandb_run_dir(where)


def timed(fn: Any) -> tuple[float, float, Any]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="make (or reuse) the source run here")
    args = ap.parse_args()

    from wandb.proto import wandb_internal_pb2 as pb

    from recorder.importers import import_wandb
    from recorder.importers.wandb_log import WandbLog

    with tempfile.TemporaryDirectory() as tmp:
        src = make_source(args.keep or Path(tmp) / "src", args.steps)
        log = next(src.glob("run-*.wandb"))
        print(f"source: {log} ({log.stat().st_size / 2**20:.1f} MiB), load average {os.getloadavg()[0]:.1f}")

        def unframe():
            return list(WandbLog(log.read_bytes()))

        frame_w, frame_c, payloads = timed(unframe)
        parse_w, parse_c, n_records = timed(
            lambda: sum(cast(Any, pb).Record.FromString(p) is not None for p in payloads)
        )
        walls, cpus = [], []
        for i in range(args.repeat):
            root = Path(tmp) / f"runs{i}"
            wall, cpu, report = timed(lambda root=root: import_wandb([src], root=root))
            (outcome,) = report.outcomes
            assert outcome.status == "imported" and outcome.steps == args.steps, outcome
            walls.append(wall)
            cpus.append(cpu)
            shutil.rmtree(root)

    mean = statistics.fmean(walls)
    print(f"{n_records:,} records, {args.steps:,} steps x 10 metrics")
    print(f"floor: read + unframe            {frame_w:6.2f} s wall  {frame_c:6.2f} s cpu")
    print(f"floor: + parse each Record once  {frame_w + parse_w:6.2f} s wall  {frame_c + parse_c:6.2f} s cpu")
    print(
        f"import ({args.repeat} runs): mean {mean:.2f} s, min {min(walls):.2f}, max {max(walls):.2f} s wall; "
        f"cpu mean {statistics.fmean(cpus):.2f} s"
    )
    print(f"        {args.steps / mean:,.0f} steps/s (mean), {args.steps / max(walls):,.0f} steps/s (slowest)")
    verdict = "met" if max(walls) <= 5.0 else "NOT met"
    print(f"target <= 5 s per import: {verdict} (slowest {max(walls):.2f} s)")


if __name__ == "__main__":
    main()
