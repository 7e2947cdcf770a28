"""Many runs in the recorder's exact on-disk shape, fast: a template run written by the
recorder itself, then N copies of its shape with new ids, values and times.

    make_root(root, runs=10_000, steps=1_000, workers=2) -> Path   # cached by a marker file
    shape(run_dir) -> dict   # file names, Parquet schemas, JSON keys: equal for template and copy

Writing 10,000 runs through `recorder.init/log/finish` would take most of an hour on two
cores, so the copies are written with pyarrow and orjson in worker processes. shape() is
checked between the template and the first copy before any figure is printed, so a change
to the recorder's format cannot leave the benchmarks measuring a stale shape.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

METRICS = [f"m{i}" for i in range(10)]
_PART = re.compile(r"part-[0-9a-z]+-(\d{8})-(\d{8})\.parquet$")


def write_template(root: Path, steps: int) -> Path:
    """One real run through the recorder's public API (system monitor and console capture on)."""
    import recorder

    run = recorder.init(
        project="template",
        dir=str(root),
        name="template",
        config={"lr": 0.01, "batch_size": 32, "model": {"hidden": 256, "layers": 4}, "seed": 0},
        tags=["bench"],
        system_interval=0.5,
    )
    for step in range(steps):
        run.log({m: 1.0 / (1 + step) + i for i, m in enumerate(METRICS)})
    time.sleep(1.2)  # at least one system sample, as a real run has
    print("template run written by the recorder")
    run.finish()
    return Path(run.dir)


def shape(run_dir: Path) -> dict[str, Any]:
    """What must agree between a recorder-written run and a generated one."""
    import orjson
    import pyarrow.parquet as pq

    out: dict[str, Any] = {}
    for p in sorted(run_dir.rglob("*")):
        if p.is_dir():
            continue
        rel = _PART.sub("part-W-LO-HI.parquet", str(p.relative_to(run_dir)))
        if p.suffix == ".parquet":
            schema = pq.read_schema(p)
            out[rel] = [(f.name, str(f.type)) for f in schema]
        elif p.suffix == ".json":
            value = orjson.loads(p.read_bytes())
            out[rel] = sorted(value) if isinstance(value, dict) else type(value).__name__
        else:
            out[rel] = "file"
    return out


def _copy_runs(args: tuple[str, str, int, int, int]) -> None:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    template, root, start, stop, steps = args
    tdir = Path(template)
    run_json = orjson.loads((tdir / "run.json").read_bytes())
    hist_path = next((tdir / "history").glob("*.parquet"))
    hist_schema = pq.read_schema(hist_path)
    sys_files = list((tdir / "system").glob("*.parquet"))
    sys_table = pq.read_table(sys_files[0]) if sys_files else None
    other = [p for p in tdir.rglob("*") if p.is_file() and p.parent == tdir / "files"]
    log_text = (tdir / "output.log").read_bytes() if (tdir / "output.log").exists() else b""
    metrics_json = (tdir / "metrics.json").read_bytes() if (tdir / "metrics.json").exists() else None
    base_t = 1_790_000_000.0
    step = np.arange(steps, dtype=np.int64)
    for i in range(start, stop):
        rng = np.random.default_rng(i)
        run_id = f"20260101-{i // 3600:02d}{(i // 60) % 60:02d}{i % 60:02d}-{i:012x}"
        d = Path(root) / f"p{i % 10}" / run_id
        (d / "history").mkdir(parents=True, exist_ok=True)
        created = base_t + i * 100
        lr = float(10 ** rng.uniform(-4, -1))
        decay = 1.0 / (1.0 + step / (steps / (5 + 50 * lr)))
        values = {m: (k + 1) * decay + rng.normal(0, 0.01, steps) for k, m in enumerate(METRICS)}
        cols: dict[str, Any] = {}
        for f in hist_schema:
            if f.name == "run_id":
                cols[f.name] = pa.array([run_id] * steps, f.type)
            elif f.name == "_step":
                cols[f.name] = pa.array(step, f.type)
            elif f.name == "_timestamp":
                cols[f.name] = pa.array(created + step * 0.01, f.type)
            elif f.name == "_runtime":
                cols[f.name] = pa.array(step * 0.01, f.type)
            else:
                cols[f.name] = pa.array(values[f.name], f.type)
        part = hist_path.name
        writer = part.split("-")[1]
        pq.write_table(
            pa.table(cols, schema=hist_schema), d / "history" / f"part-{writer}-00000000-{steps - 1:08d}.parquet"
        )
        if sys_table is not None:
            (d / "system").mkdir(exist_ok=True)
            t = sys_table.set_column(
                sys_table.schema.get_field_index("run_id"),
                sys_table.schema.field("run_id"),
                pa.array([run_id] * sys_table.num_rows, sys_table.schema.field("run_id").type),
            )
            pq.write_table(t, d / "system" / sys_files[0].name)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + ".000000Z"
        end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created + steps * 0.01)) + ".000000Z"
        rj = dict(run_json, id=run_id, name=f"run-{i}", project=f"p{i % 10}", created_at=iso)
        rj.update(heartbeat_at=end, finished_at=end, runtime=steps * 0.01, cwd=str(root))
        (d / "run.json").write_bytes(orjson.dumps(rj, option=orjson.OPT_INDENT_2))
        config = {"lr": lr, "batch_size": int(rng.choice([16, 32, 64, 128])), "model": {"hidden": 256, "layers": 4}}
        config["seed"] = i
        (d / "config.json").write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))
        summary = {m: float(v[-1]) for m, v in values.items()}
        summary.update(_step=steps - 1, _timestamp=created + steps * 0.01, _runtime=steps * 0.01)
        (d / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        if metrics_json is not None:
            (d / "metrics.json").write_bytes(metrics_json)
        (d / "output.log").write_bytes(log_text)
        if other:
            (d / "files").mkdir(exist_ok=True)
            for p in other:
                shutil.copyfile(p, d / "files" / p.name)


def make_root(root: Path, runs: int, steps: int = 1_000, workers: int = 2) -> Path:
    """`root` holding `runs` runs (p0..p9 projects); reused when an earlier call made the same."""
    marker = root / f".made-{runs}x{steps}"
    if marker.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    tmp = root.parent / (root.name + ".template")
    if tmp.exists():
        shutil.rmtree(tmp)
    template = write_template(tmp, steps)
    t0 = time.perf_counter()
    chunk = max(1, runs // (workers * 8))
    jobs = [(str(template), str(root), s, min(runs, s + chunk), steps) for s in range(0, runs, chunk)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for n, _ in enumerate(pool.imap_unordered(_copy_runs, jobs), 1):
            print(f"  generated {min(runs, n * chunk)}/{runs} runs ({time.perf_counter() - t0:.0f} s)", flush=True)
    first = next(p for p in (root / "p0").iterdir() if p.is_dir())
    expected, got = shape(template), shape(first)
    if expected != got:
        diff = {k: (expected.get(k), got.get(k)) for k in set(expected) | set(got) if expected.get(k) != got.get(k)}
        raise SystemExit(f"generated run differs in shape from the recorder's: {diff}")
    print(f"shape of {first.name} matches the recorder-written template ({len(expected)} files)")
    shutil.rmtree(tmp)
    marker.write_text("")
    return root


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    make_root(Path(a.root), a.runs, a.steps, a.workers)
