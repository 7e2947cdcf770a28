"""Many processes at once: 64 runs in one project, 8 ranks in one group, 8 writers in one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from run_reading import all_files_readable, read_stream

import recorder
from recorder import layout

STEPS = 300
WORKER = """
import os, sys, recorder
root, mode, rank = sys.argv[1], sys.argv[2], int(sys.argv[3])
kwargs = dict(dir=root, project="crowd", system_interval=0.05, capture_console=False)
if mode == "group":
    kwargs.update(group="ddp", name=f"rank-{rank}", config={"rank": rank})
elif mode == "one-run":
    kwargs.update(id="shared", resume="allow")
STEPS = int(sys.argv[4])
run = recorder.init(**kwargs)
run._files.history.rows_per_part = 50   # many parts from every writer
for i in range(STEPS):
    run.log({"loss": 1.0 / (i + 1), "rank": float(rank)})
run.finish()
"""


def launch(root: Path, mode: str, n: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(recorder.__file__).parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), mode, str(i), str(STEPS)], env=env, stderr=subprocess.PIPE
        )
        for i in range(n)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]


@pytest.mark.slow
def test_64_processes_log_into_one_project(tmp_path):
    root = tmp_path / "runs"
    launch(root, "solo", 64)
    run_dirs = [p for p in (root / "crowd").iterdir() if layout.is_run_dir(p)]
    assert len(run_dirs) == 64  # no id collided
    for run_dir in run_dirs:
        assert all_files_readable(run_dir) == []
        assert [r["_step"] for r in read_stream(run_dir)] == list(range(STEPS))
        assert json.loads((run_dir / "run.json").read_text())["state"] == "finished"


def test_eight_ranks_in_one_group(tmp_path):
    root = tmp_path / "runs"
    launch(root, "group", 8)
    metas = [json.loads((p / "run.json").read_text()) for p in (root / "crowd").iterdir() if layout.is_run_dir(p)]
    assert sorted(m["name"] for m in metas) == [f"rank-{i}" for i in range(8)]
    assert {m["group"] for m in metas} == {"ddp"}
    for p in (root / "crowd").iterdir():
        if layout.is_run_dir(p):
            assert len(read_stream(p)) == STEPS


def test_eight_writers_share_one_run_directory(tmp_path):
    root = tmp_path / "runs"
    launch(root, "one-run", 8)
    run_dir = root / "crowd" / "shared"
    assert all_files_readable(run_dir) == []
    rows = read_stream(run_dir)
    # Every writer's every row survived: parts are named per writer, so none overwrote another.
    by_rank: dict[float, int] = {}
    for r in rows:
        by_rank[r["rank"]] = by_rank.get(r["rank"], 0) + 1
    assert by_rank == {float(rank): STEPS for rank in range(8)}
    writers = {layout.parse_part(p.name).writer for p in (run_dir / "history").glob("part-*.parquet")}
    assert len(writers) == 8
