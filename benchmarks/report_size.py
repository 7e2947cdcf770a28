"""`loupe report` on 20 runs x 100,000 steps x 10 metrics: file size (target <= 5 MB) and time.

The history is benchmarks/query_scale.py's synthetic data (written with pyarrow in the
run format); each run also gets a system part (CPU, memory, disk, network and two GPUs,
one sample a second), a 5,000-line console log and a 60-key config. Prints, with
baselines measured in the same run:
- the report's size in bytes, against the same series at full resolution (every step
  of every metric as JSON numbers: what an undownsampled report would carry);
- the time to write the report (mean, p99 and max of --repeat runs), against reading
  the 20 runs' full histories with pyarrow (what drawing every point starts from).

    python benchmarks/report_size.py [--runs 20] [--steps 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from query_scale import generate  # noqa: E402

TARGET_BYTES = 5_000_000


def add_system_logs_config(root: Path, seconds: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    for i, d in enumerate(sorted(root.glob("bench/*/"))):
        run_id = d.name
        t = np.arange(seconds, dtype=np.float64)
        cols = {
            "run_id": pa.array([run_id] * seconds).dictionary_encode(),
            "_timestamp": 1_790_000_000.0 + t,
            "_runtime": t,
            "cpu.percent": rng.uniform(50, 100, seconds),
            "memory.percent": 40 + t / seconds * 10,
            "disk.read_mb": t * 0.5,
            "network.recv_mb": t * 0.2,
        }
        for g in range(2):
            cols[f"gpu.{g}.util_percent"] = rng.uniform(80, 100, seconds)
            cols[f"gpu.{g}.memory_percent"] = np.full(seconds, 70.0)
            cols[f"gpu.{g}.temp_c"] = 60 + rng.normal(0, 1, seconds)
            cols[f"gpu.{g}.power_w"] = 250 + rng.normal(0, 10, seconds)
        (d / "system").mkdir(exist_ok=True)
        pq.write_table(pa.table(cols), d / "system" / "part-0000abcd-00000000-00000000.parquet")
        with open(d / "output.log", "w") as f:
            for n in range(5000):
                f.write(f"2026-01-01T00:00:{n % 60:02d}.000Z O step {n * 20} loss {1 / (n + 1):.6f} lr 0.001\n")
        config = {f"opt.param_{k}": k * 0.1 for k in range(50)} | {"lr": 0.001 * (i + 1), "model": "mlp"}
        (d / "config.json").write_text(json.dumps(config))


def full_resolution_bytes(store, ids: list[str]) -> tuple[int, float]:
    """Bytes of every history value as JSON numbers, and the seconds to read them with pyarrow."""
    import pyarrow.parquet as pq

    total = 0
    t0 = time.perf_counter()
    tables = [pq.read_table(p) for rid in ids for p in (store.get(rid).path / "history").glob("*.parquet")]
    read_s = time.perf_counter() - t0
    for table in tables:
        for name in table.column_names:
            if name not in ("run_id", "_timestamp", "_runtime"):
                total += len(json.dumps(table.column(name).to_pylist()))
    return total, read_s


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from viewer.data.store import Store
    from viewer.report import write_report

    root = HERE / "out" / f"report-{args.runs}x{args.steps}"
    if not (root / ".report-complete").exists():
        print(f"generating {args.runs} runs x {args.steps} steps under {root}")
        generate(root, args.runs, args.steps)
        add_system_logs_config(root, seconds=args.steps // 100)
        (root / ".report-complete").write_text("")
    store = Store([root])
    ids = [r.id for r in store.runs()][: args.runs]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            size = write_report(store, ids, out)
            times.append(time.perf_counter() - t0)
    full, read_s = full_resolution_bytes(store, ids)
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    print(f"report of {len(ids)} runs x {args.steps} steps x 10 metrics (+ system, logs, config)")
    print(f"  size: {size:,} bytes ({size / 1e6:.2f} MB; target <= {TARGET_BYTES / 1e6:.0f} MB)")
    print(f"  baseline, the history at full resolution as JSON: {full:,} bytes ({full / 1e6:.1f} MB)")
    print(
        f"  write time over {len(times)} runs: mean {statistics.mean(times):.2f} s, "
        f"median {statistics.median(times):.2f} s, p99 {p99:.2f} s, max {times[-1]:.2f} s"
    )
    print(f"  baseline, reading the {len(ids)} full histories with pyarrow: {read_s:.2f} s")
    return 0 if size <= TARGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
