"""Dashboard scale benchmark on 1,000 runs x 10,000 steps x 10 metrics (headless Textual).

Uses the data of benchmarks/query_scale.py (generated there if missing, written in the
run format with pyarrow). Prints, with the baseline measured in the same run:
- start to runs table populated (target <= 1 s); baseline: json-loading every run.json
- plots for 10 selected runs on screen (every plot in view rendered with the new data),
  cold (<= 500 ms) and again after narrowing the selection
  to 5 and going back (data cached: <= 150 ms);
  baseline: reading those 10 runs' full histories with pyarrow (what plotting every
  point would start from)
- live update lag: a step written by a running run until its plot shows it (<= 2 s)
- peak RSS of the dashboard process (<= 300 MB)

    python benchmarks/viewer_scale.py [--runs 1000] [--steps 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def measure(root: Path) -> dict:
    from textual.widgets import TabbedContent

    import recorder
    from viewer.tui.app import LoupeApp
    from viewer.tui.metric_plot import MetricPlot, SafePlot
    from viewer.tui.runs_pane import RunsPane

    out: dict = {}

    async def until(pilot, cond, timeout=60.0, step=0.01) -> float:
        t0 = time.perf_counter()
        while not cond():
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("condition not reached")
            await pilot.pause(step)
        return time.perf_counter() - t0

    runs_on_disk = sum(1 for _ in root.glob("*/*/run.json"))

    async def run() -> None:
        t_start = time.perf_counter()
        app = LoupeApp([root], live=True, poll=True)
        async with app.run_test(size=(160, 48)) as pilot:
            # Every row in the table (past 1,000 runs it fills over several turns).
            await until(pilot, lambda: app.query_one(RunsPane).table.row_count >= runs_on_disk)
            out["table_populated_s"] = time.perf_counter() - t_start
            ids = [r.run.id for r in app.query_one(RunsPane).rows[:10]]

            def plotted() -> bool:
                plots = list(app.query(MetricPlot))
                return bool(plots) and all(len(p.panel.series) == len(ids) for p in plots)

            def painted() -> bool:
                # Data in the widgets is not yet pixels: wait until every plot on screen
                # has been rendered with its current data (the frame the terminal gets).
                view = app.query_one("#metrics-scroll").region
                on_screen = [p for p in app.query(SafePlot) if p.region.overlaps(view)]
                return bool(on_screen) and all(p.painted_key == p.figure_key for p in on_screen)

            await pilot.press("2")  # as a user would: the Metrics tab
            await until(pilot, lambda: app.query_one(TabbedContent).active == "metrics")
            t0 = time.perf_counter()
            app.select(ids)
            await until(pilot, lambda: plotted() and not app.workers._workers and painted())
            out["plots_10_runs_cold_s"] = time.perf_counter() - t0
            # Narrow the selection, then go back: the second showing comes from the cache.
            app.select(ids[:5])
            await until(
                pilot, lambda: all(len(p.panel.series) == 5 for p in app.query(MetricPlot)) and not app.workers._workers
            )
            t0 = time.perf_counter()
            app.select(ids)
            await until(pilot, lambda: plotted() and not app.workers._workers and painted())
            out["plots_10_runs_warm_s"] = time.perf_counter() - t0

            # Live: a run in the same root logs a step; how long until its plot shows it?
            live = recorder.init(
                dir=root, project="bench", name="live", system_interval=0, capture_console=False, reinit="create_new"
            )
            live.log({"val/loss": 1.0})
            await until(pilot, lambda: any(r.run.id == live.id for r in app.query_one(RunsPane).rows), timeout=30)
            app.select([live.id])
            await until(
                pilot,
                lambda: any(p.panel.series and p.panel.series[0].last_x == 0 for p in app.query(MetricPlot)),
                timeout=30,
            )
            lags = []
            for step in range(1, 4):
                live.log({"val/loss": 1.0 / (step + 1)})
                t0 = time.perf_counter()
                await until(
                    pilot,
                    lambda s=step: any(
                        p.panel.metric == "val/loss" and p.panel.series and p.panel.series[0].last_x == s
                        for p in app.query(MetricPlot)
                    ),
                    timeout=30,
                    step=0.02,
                )
                lags.append(time.perf_counter() - t0)
            out["live_lag_s"] = max(lags)
            live.finish()
            import shutil

            shutil.rmtree(live.dir, ignore_errors=True)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    return out


def baselines(root: Path) -> dict:
    import pyarrow.parquet as pq

    out = {}
    t0 = time.perf_counter()
    metas = [json.loads(p.read_text()) for p in root.glob("*/*/run.json")]
    out["json_load_all_run_json_s"] = time.perf_counter() - t0
    out["runs"] = len(metas)
    dirs = sorted(root.glob("*/*/history"))[:10]
    t0 = time.perf_counter()
    rows = sum(pq.read_table(p).num_rows for d in dirs for p in d.glob("*.parquet"))
    out["pyarrow_read_10_full_histories_s"] = time.perf_counter() - t0
    out["rows_10_runs"] = rows
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    root = HERE / "out" / f"runs-{args.runs}x{args.steps}"
    if not (root / ".complete").exists():
        subprocess.run(
            [sys.executable, str(HERE / "query_scale.py"), "--runs", str(args.runs), "--steps", str(args.steps)],
            check=True,
        )
    res = subprocess.run([sys.executable, __file__, "--measure", str(root)], capture_output=True, text=True)
    if res.returncode != 0:
        print(res.stderr[-4000:], file=sys.stderr)
        return 1
    r = json.loads(res.stdout.strip().splitlines()[-1])
    b = baselines(root)
    print(f"data: {b['runs']} runs x {args.steps} steps x 10 metrics (benchmarks/query_scale.py's generator)")
    print(
        f"start -> runs table populated:        {r['table_populated_s'] * 1e3:8.0f} ms   (target <= 1000 ms;"
        f" baseline json-loading every run.json: {b['json_load_all_run_json_s'] * 1e3:.0f} ms)"
    )
    print(
        f"plots for 10 selected runs, cold:     {r['plots_10_runs_cold_s'] * 1e3:8.0f} ms   (target <= 500 ms;"
        f" baseline pyarrow-reading their {b['rows_10_runs']:,} rows: "
        f"{b['pyarrow_read_10_full_histories_s'] * 1e3:.0f} ms)"
    )
    print(f"plots for 10 selected runs, warm:     {r['plots_10_runs_warm_s'] * 1e3:8.0f} ms   (target <= 150 ms)")
    print(f"live update lag (worst of 3 steps):   {r['live_lag_s'] * 1e3:8.0f} ms   (target <= 2000 ms)")
    print(f"peak RSS of the dashboard process:    {r['peak_rss_mb']:8.0f} MB   (target <= 300 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
