"""recorder.Api read speed: history(), scan_history() and runs(filters=...), with baselines.

One run of --steps steps x 10 metrics written by the recorder (its parts compacted as
at finish), resumed by a process killed after --tail more rows (left in its journal); --runs small runs for runs().
Each figure is timed --repeat times and printed as mean, p99 and max, beside a
baseline measured in the same process:

- history(samples=500) and history(keys=[one metric]): baseline pyarrow reading the
  same parts whole (pq.read_table), what any sampling has to start from;
- scan_history() over every row: baseline plain DuckDB fetching every row of the
  parts as Python tuples; also the peak Python memory of each (tracemalloc);
- runs(filters={"config.lr": {"$gt": ...}}, order="-summary_metrics.acc"): baseline
  json-loading every run's run.json, config.json and summary.json.

    python benchmarks/api_history.py [--steps 100000] [--tail 5000] [--runs 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import glob
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def timed(fn: Callable[[], object], repeat: int) -> str:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    return f"mean {statistics.fmean(times) * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms  max {times[-1] * 1000:8.1f} ms"


def peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def make_data(root: Path, steps: int, tail: int, runs: int) -> str:
    import recorder

    run = recorder.init(dir=root, project="big", system_interval=0, capture_console=False)
    for i in range(steps):
        run.log({f"m{k}": i * 0.001 + k for k in range(10)})
    run.finish()
    # A resumed process that is killed: its rows stay in the journal, as a live or
    # crashed run leaves them.
    code = (
        "import os, signal, sys, recorder\n"
        "r = recorder.init(dir=sys.argv[1], project='big', id=sys.argv[2], resume='must', system_interval=0, capture_console=False)\n"
        "for _ in range(int(sys.argv[3])): r.log({f'm{k}': -1.0 for k in range(10)})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(root), run.id, str(tail)], check=False)
    for i in range(runs):
        r = recorder.init(
            dir=root,
            project="many",
            config={"lr": 10 ** -(i % 5)},
            reinit="create_new",
            system_interval=0,
            capture_console=False,
        )
        r.log({"acc": i / runs})
        r.finish()
    return run.id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--tail", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import duckdb
    import pyarrow.parquet as pq

    import recorder
    from recorder import layout
    from recorder.journal import read_json_object

    root = Path(tempfile.mkdtemp(prefix="api-bench-"))
    t0 = time.perf_counter()
    run_id = make_data(root, args.steps, args.tail, args.runs)
    print(
        f"data: {args.steps} steps + {args.tail} journal rows, {args.runs} runs ({time.perf_counter() - t0:.1f} s) in {root}"
    )
    api = recorder.Api(root)
    run = api.run(f"big/{run_id}")
    files = layout.live_stream_files(Path(run.dir) / layout.HISTORY_DIR)
    parts = [str(p) for p in files.parts]
    print(f"files: {len(parts)} parts, {len(files.journals)} journals\n")

    def whole_parts():
        for p in parts:
            pq.read_table(p)

    def duckdb_rows():
        duckdb.sql(
            "SELECT * FROM read_parquet(?, union_by_name = true)", params=[[glob.escape(p) for p in parts]]
        ).fetchall()

    rows = sum(1 for _ in run.scan_history())
    assert rows == args.steps + args.tail, rows
    print(f"history(samples=500), all keys   {timed(lambda: run.history(pandas=False), args.repeat)}")
    print(f"history(keys=['m3'])             {timed(lambda: run.history(keys=['m3'], pandas=False), args.repeat)}")
    print(f"  baseline pq.read_table parts   {timed(whole_parts, args.repeat)}")
    print(f"scan_history() all {rows} rows {timed(lambda: sum(1 for _ in run.scan_history()), args.repeat)}")
    print(f"  baseline DuckDB fetchall       {timed(duckdb_rows, args.repeat)}")
    print(
        f"scan_history(keys=['m3'])        {timed(lambda: sum(1 for _ in run.scan_history(keys=['m3'])), args.repeat)}"
    )
    print(
        f"peak Python memory: scan_history {peak_mb(lambda: sum(1 for _ in run.scan_history())):.1f} MB, "
        f"DuckDB fetchall {peak_mb(duckdb_rows):.1f} MB\n"
    )

    def filtered():
        found = api.runs("many", filters={"config.lr": {"$gt": 1e-3}}, order="-summary_metrics.acc")
        assert len(found) == sum(1 for i in range(args.runs) if 10 ** -(i % 5) > 1e-3)

    def sidecars():
        for d in sorted((root / "many").iterdir()):
            for name in (layout.RUN_FILE, layout.CONFIG_FILE, layout.SUMMARY_FILE):
                read_json_object(d / name)

    print(f"runs({args.runs} runs, filter + order) {timed(filtered, args.repeat)}")
    print(f"  baseline json-load 3 sidecars  {timed(sidecars, args.repeat)}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
