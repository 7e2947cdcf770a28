"""What user edits cost: a Store refresh with edits.json read and applied, and one edit.

A refresh (every live rescan of the dashboard, every `loupe` command) now stats each
run's edits.json and lays it over run.json/summary.json. Prints, on N runs (JSON
sidecars only; 10% of them edited):
- refresh with nothing changed: mean, p99, max; baseline: the same refresh with the
  edits.json read left out (the metadata cache as it was before edits), same run
- edit_run() (flock + read + fsync'd atomic replace): mean, p99, max; baseline: a plain
  atomic write_json of the same file without fsync or lock

    python benchmarks/edits_overhead.py [--runs 1000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def make_root(root: Path, n: int) -> list[Path]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    dirs = []
    for i in range(n):
        d = root / "p" / f"run{i:05d}"
        d.mkdir(parents=True)
        meta = {"id": d.name, "name": f"n{i}", "project": "p", "state": "finished", "created_at": now, "tags": []}
        (d / "run.json").write_text(json.dumps(meta))
        (d / "config.json").write_text(json.dumps({"lr": i * 1e-4, "bs": 32}))
        (d / "summary.json").write_text(json.dumps({"loss": 1.0 / (i + 1), "_step": 99}))
        dirs.append(d)
    return dirs


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    return f"mean {statistics.mean(xs) * 1e3:7.2f} ms  p99 {p99 * 1e3:7.2f} ms  max {xs[-1] * 1e3:7.2f} ms"


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    from recorder import layout
    from recorder.atomic_json import write_json
    from recorder.user_edits import edit_run
    from viewer.data.discovery import MetadataCache, RunMeta
    from viewer.data.store import Store

    class WithoutEdits(MetadataCache):
        """The cache as it read runs before edits.json existed: the baseline."""

        def read(self, run_dir):  # type: ignore[override]
            base = os.fspath(run_dir) + os.sep
            run, mtime, s1 = self._read_file(base + layout.RUN_FILE)
            config, _, s2 = self._read_file(base + layout.CONFIG_FILE)
            summary, _, s3 = self._read_file(base + layout.SUMMARY_FILE)
            return RunMeta(run, config, summary, {}, [], mtime, (s1, s2, s3))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        dirs = make_root(root, args.runs)
        for d in dirs[::10]:
            edit_run(d, name=f"edited-{d.name}", add_tags=["keep"])
        store = Store([root])
        assert sum(1 for r in store.runs() if r.name and r.name.startswith("edited-")) == len(dirs[::10])
        plain_store = Store([root])
        plain_store._meta = WithoutEdits(plain_store._warn)
        plain_store.refresh()  # fill the baseline cache first
        with_edits, baseline = [], []
        for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
            with_edits += timed(store.refresh, 1)
            baseline += timed(plain_store.refresh, 1)

        target = dirs[1]
        edits = [0.0] * args.repeat
        for i in range(args.repeat):
            t0 = time.perf_counter()
            edit_run(target, add_tags=[f"t{i}"])
            edits[i] = time.perf_counter() - t0
        plain = timed(lambda: write_json(target / "plain.json", {"tags": ["x"] * 10}), args.repeat)

    print(f"{args.runs} runs, {len(dirs[::10])} edited, {args.repeat} repeats")
    print(f"refresh, nothing changed   {stats(with_edits)}")
    print(f"  baseline (no edits read) {stats(baseline)}")
    print(f"edit_run (lock + fsync)    {stats(edits)}")
    print(f"  baseline write_json      {stats(plain)}")


if __name__ == "__main__":
    main()
