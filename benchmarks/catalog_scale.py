"""Opening a large root through the run catalog: 10,000 runs x 1,000 steps x 10 metrics.

Runs are made by benchmarks/scale_runs.py (the recorder's exact shape, checked against a
recorder-written run). Prints, each beside a baseline measured in the same run:
- first open (no catalog) and second open of `loupe sql "SELECT count(*) FROM runs"`,
  whole process; baselines: the interpreter with duckdb and pyarrow imported (the floor)
  and plain DuckDB counting the run.json files;
- `loupe ls` whole process, second open;
- viewer.connect() in process, second open (the first call of a process, which also makes
  the imports, shown apart); baseline: DuckDB reading the catalog file;
- top-5 runs by final m0 with two config columns (connect + query, in process) on 200
  and on 10,000 runs, through the `final` view (checked against the same question asked of
  history); baselines: plain DuckDB over the summary.json files, and trackio
  0.43 on the same 200 runs when /work/venvs/trackio (or $TRACKIO_PYTHON) exists;
- dashboard (headless): start to a screenful of runs and to the full table, peak RSS, and how long a new run
  takes to appear while it is open.

    python benchmarks/catalog_scale.py [--runs 10000] [--reps 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(HERE))
from scale_runs import make_root  # noqa: E402

PY = sys.executable
LOUPE = [PY, "-m", "viewer"]
# The final value of m0 through the `final` view: summaries where the recorder vouches for
# them, history for the rest (docs/query.md). TOP5_HISTORY asks history itself, the check.
TOP5 = (
    'SELECT r.id, r."config.lr", r."config.batch_size", f.value AS m0 FROM final f JOIN runs r ON r.id = f.run_id '
    "WHERE f.key = 'm0' ORDER BY f.value DESC NULLS LAST, r.id LIMIT 5"
)
TOP5_HISTORY = (
    'SELECT r.id, r."config.lr", r."config.batch_size", h.m0 FROM (SELECT run_id, arg_max(m0, _step) AS m0 '
    "FROM history WHERE m0 IS NOT NULL GROUP BY run_id) h JOIN runs r ON r.id = h.run_id "
    "ORDER BY h.m0 DESC NULLS LAST, r.id LIMIT 5"
)


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
    return f"mean {statistics.mean(xs):.3f} s  p99 {p99:.3f}  max {xs[-1]:.3f}  min {xs[0]:.3f}  (n={len(xs)})"


def timed(cmd: list[str], reps: int, env: dict | None = None) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        out.append(time.perf_counter() - t0)
    return out


def in_process(code: str, reps: int, warmup: bool = False) -> list[float]:
    """`code` defines run(): timed `reps` times in one fresh process, after its imports
    (with `warmup`, after one untimed run(): the imports run() itself makes, once a process)."""
    prog = (
        f"import sys, time, json\nsys.path.insert(0, {str(REPO)!r})\n{code}\n"
        + ("run()\n" if warmup else "")
        + f"ts = []\nfor _ in range({reps}):\n    t0 = time.perf_counter(); run(); ts.append(time.perf_counter() - t0)\n"
        "print(json.dumps(ts))"
    )
    out = subprocess.run([PY, "-c", prog], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def trackio_top5(runs: int, reps: int) -> list[float] | str:
    python = os.environ.get("TRACKIO_PYTHON", "/work/venvs/trackio/bin/python")
    if not Path(python).exists():
        return (
            f"skipped: no trackio venv at {python} (python3 -m venv /work/venvs/trackio && pip install trackio==0.43.*)"
        )
    script = HERE / "peers" / "trackio_top5.py"
    out = subprocess.run([python, str(script), str(runs), str(reps)], capture_output=True, text=True)
    if out.returncode != 0:
        return "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def dashboard(root: Path) -> dict:
    from viewer.tui.app import LoupeApp
    from viewer.tui.runs_pane import RunsPane

    out: dict = {}
    on_disk = sum(1 for _ in root.glob("*/*/run.json"))

    async def until(pilot, cond, timeout=120.0) -> None:
        t0 = time.perf_counter()
        while not cond():
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("condition not reached")
            await pilot.pause(0.01)

    async def run() -> None:
        import recorder

        # The table makes a row's cells when it first draws it (viewer.tui.lazy_table):
        # the first call is the moment rows reach the screen.
        make_cell = RunsPane._lazy_cell

        def first_drawn(pane: RunsPane, run_id: str, column: str) -> str:
            out.setdefault("first_drawn_s", time.perf_counter() - t0)
            return make_cell(pane, run_id, column)

        RunsPane._lazy_cell = first_drawn  # type: ignore[method-assign,assignment]
        t0 = time.perf_counter()
        app = LoupeApp([root], live=True, poll=True)
        async with app.run_test(size=(160, 48)) as pilot:
            # A screenful of rows (the table fills the rest in later turns), then every run.
            await until(pilot, lambda: app.query_one(RunsPane).table.row_count >= min(on_disk, 40))
            out["first_rows_s"] = time.perf_counter() - t0
            print(f"first row drawn {out.get('first_drawn_s', float('nan')):.2f} s", file=sys.stderr, flush=True)
            print(f"first rows {out['first_rows_s']:.2f} s", file=sys.stderr, flush=True)
            await until(pilot, lambda: app.query_one(RunsPane).table.row_count >= on_disk)
            out["table_s"] = time.perf_counter() - t0
            print(f"table {out['table_s']:.2f} s", file=sys.stderr, flush=True)
            await pilot.pause(1.0)
            live = recorder.init(dir=root, project="p0", name="newcomer", system_interval=0, capture_console=False)
            t1 = time.perf_counter()
            await until(pilot, lambda: any(r.run.id == live.id for r in app.query_one(RunsPane).rows), timeout=60)
            out["new_run_visible_s"] = time.perf_counter() - t1
            live.finish()
            shutil.rmtree(live.dir, ignore_errors=True)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--dashboard", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.dashboard:
        print(json.dumps(dashboard(Path(a.dashboard))))
        return 0
    # Timed as a user's Python runs them: with our modules' bytecode cached. Where
    # PYTHONDONTWRITEBYTECODE is set (this project's sandbox), every process compiled
    # viewer/ and recorder/ again, ~0.1-0.3 s of each figure.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for package in ("viewer", "recorder"):
        compileall.compile_dir(REPO / package, quiet=1)
    big = make_root(Path(a.out) / f"catalog-{a.runs}", a.runs)
    small = make_root(Path(a.out) / f"catalog-{a.small}", a.small)
    env = dict(os.environ, LOUPE_DIR=str(big))
    print(f"\n{a.runs} runs x 1,000 steps x 10 metrics at {big}")

    shutil.rmtree(big / ".loupe", ignore_errors=True)
    first = timed([*LOUPE, "sql", "SELECT count(*) FROM runs"], 1, env)
    print(f"first open, loupe sql count(*) (no catalog):  {stats(first)}   target <= 10 s")
    warm = timed([*LOUPE, "sql", "SELECT count(*) FROM runs"], a.reps, env)
    print(f"second open, loupe sql count(*):              {stats(warm)}   target <= 0.3 s")
    floor = timed([PY, "-c", "import duckdb, pyarrow"], a.reps)
    print(f"  floor: python with duckdb+pyarrow imported: {stats(floor)}")
    plain = f"import duckdb; duckdb.sql(\"SELECT count(*) FROM read_json_auto('{big}/*/*/run.json')\").fetchall()"
    print(f"  plain DuckDB counting run.json files:       {stats(timed([PY, '-c', plain], a.reps))}")
    ls = timed([*LOUPE, "ls", "--limit", "20"], a.reps, env)
    print(f"second open, loupe ls:                        {stats(ls)}")

    code = f"import viewer\ndef run():\n    viewer.connect({str(big)!r})"
    # `loupe sql` over `runs` alone never lists a stream file: the first connect lists
    # every run's parts (a footer read each) and keeps the listings in the catalog.
    print(f"first viewer.connect (lists every part once):  {stats(in_process(code, 1))}")
    # The first call in a process also imports DuckDB, pyarrow and the viewer (~0.15 s),
    # once per process: shown apart, from fresh processes, and not in the target figure.
    cold = [x for _ in range(a.reps) for x in in_process(code, 1)]
    print(f"viewer.connect, first call in a process:      {stats(cold)}   (imports included)")
    connect = [x for _ in range(a.reps) for x in in_process(code, a.reps, warmup=True)]
    print(f"viewer.connect (catalog warm, in process):    {stats(connect)}   target <= 0.1 s")
    cat = next((big / ".loupe").glob("*.arrow"))
    base = in_process(
        "import duckdb, pyarrow as pa, pyarrow.ipc as ipc\ndef run():\n"
        f"    t = ipc.open_file(pa.OSFile({str(cat)!r})).read_all()\n"
        '    duckdb.connect().sql("SELECT count(*) FROM t").fetchall()',
        a.reps,
    )
    print(f"  baseline: the catalog file into DuckDB:     {stats(base)}")

    for root, target in ((small, "at most trackio's"), (big, "<= 0.2 s")):
        n = a.runs if root == big else a.small
        code = f"from viewer.data.store import Store\ndef run():\n    Store([{str(root)!r}]).query({TOP5!r})"
        print(f"top-5 by final m0 + 2 config, {n} runs:   {stats(in_process(code, a.reps))}   target {target}")
        plain = (
            'import duckdb\ndef run():\n    duckdb.sql("SELECT filename, m0 FROM read_json_auto('
            f"'{root}/*/*/summary.json', filename=true) ORDER BY m0 DESC LIMIT 5\").fetchall()"
        )
        print(f"  plain DuckDB over summary.json files:       {stats(in_process(plain, a.reps))}")
    check = (
        f"from viewer.data.store import Store\ns = Store([{str(small)!r}])\n"
        f"assert s.query({TOP5!r}).to_pylist() == s.query({TOP5_HISTORY!r}).to_pylist()\ndef run():\n    pass"
    )
    in_process(check, 1)  # raises when the two disagree
    print(f"  the same 5 rows as arg_max(m0, _step) over history on {a.small} runs: yes")
    peer = trackio_top5(a.small, a.reps)
    print(f"  trackio 0.43, same query on {a.small} runs:       {peer if isinstance(peer, str) else stats(peer)}")

    out = subprocess.run([PY, __file__, "--dashboard", str(big)], capture_output=True, text=True)
    if out.returncode != 0:
        print("dashboard: failed:", out.stderr.strip().splitlines()[-1:])
    else:
        d = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"dashboard: first rows drawn {d.get('first_drawn_s', float('nan')):.2f} s (target <= 1 s), "
            f"a screenful in the table {d['first_rows_s']:.2f} s, all {d['table_s']:.2f} s, ",
            end="",
        )
        print(
            f"peak RSS {d['peak_rss_mb']:.0f} MB (<= 400), new run visible after {d['new_run_visible_s']:.2f} s (<= 2)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
