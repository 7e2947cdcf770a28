"""The helper process builds a run's Parquet parts: the training process never loads pyarrow,
every row is published once, and a helper that dies hands its work back to the writer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_run
from run_reading import read_stream

import recorder
from recorder import layout

TRAINING = """
import sys
import recorder
run = recorder.init(project="p", id="r")
run._files.history.rows_per_part = 4000
for i in range(10_000):
    run.log({"loss": 1.0 / (i + 1), "acc": i % 7 / 7} if i % 1000 else {"loss": 0.5, "note": f"at {i}"})
run.finish()
print("pyarrow loaded:", "pyarrow" in sys.modules, "pandas loaded:", "pandas" in sys.modules)
"""


def test_a_training_process_publishes_through_the_helper_without_loading_pyarrow(runs_root):
    env = {**os.environ, "PYTHONPATH": str(Path(recorder.__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", TRAINING], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "pyarrow loaded: False pandas loaded: False" in out.stdout
    run_dir = runs_root / "p" / "r"
    rows = read_stream(run_dir)
    assert [r[layout.STEP] for r in rows] == list(range(10_000))
    assert rows[1]["loss"] == 0.5 and rows[1]["acc"] == 1 / 7 and rows[1000]["loss"] == 0.5
    history = run_dir / layout.HISTORY_DIR
    assert not list(history.glob("journal-*")), "every journal was published and removed"
    texts = list((run_dir / layout.TEXT_DIR).glob("part-*.parquet"))
    assert texts, "text values went into text parts"
    assert (run_dir / layout.FILES_DIR / layout.REQUIREMENTS_FILE).read_text().count("==") > 5


def test_a_helper_that_dies_hands_publication_back_to_the_writer(runs_root, monkeypatch):
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None
    history = run._files.history
    history.rows_per_part = 100
    for i in range(150):
        run.log({"x": float(i)})
    deadline = time.time() + 60
    while not list(Path(history.directory).glob("part-*.parquet")):
        assert time.time() < deadline, "the helper published no part"
        time.sleep(0.02)
    helper._proc.kill()
    for i in range(150, 450):
        run.log({"x": float(i)})
    run.finish()
    rows = read_stream(Path(run.dir))
    assert [r["x"] for r in rows] == [float(i) for i in range(450)]
    assert [r[layout.STEP] for r in rows] == list(range(450))


def test_the_helper_runs_at_a_lower_priority_than_training(runs_root, monkeypatch):
    psutil = pytest.importorskip("psutil")
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None and helper._proc is not None
    child = psutil.Process(helper._proc.pid)
    wanted = min(os.nice(0) + 10, 19)
    at_start = child.nice()  # set by the parent as the child started, before its interpreter ran
    helper.requirements()  # a round trip: the child's own start-up is behind it now
    later = child.nice()
    run.finish()
    assert at_start == wanted and later == wanted  # lowered once, not twice


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_helper_is_idle_scheduled_while_training_and_normal_for_finish(runs_root, monkeypatch):
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None and helper._proc is not None
    pid = helper._proc.pid
    assert os.sched_getscheduler(pid) == os.SCHED_IDLE  # from the moment the child existed
    for i in range(50):
        run.log({"loss": float(i)})
    policies: list[int] = []
    original = type(helper).close

    def closing(self):  # the policy the child had while finish() published the last parts
        policies.append(os.sched_getscheduler(pid))
        return original(self)

    monkeypatch.setattr(type(helper), "close", closing)
    run.finish()
    assert policies == [os.SCHED_OTHER]
    assert [r[layout.STEP] for r in read_stream(Path(run.dir))] == list(range(50))


def test_the_helper_works_on_one_thread(runs_root, monkeypatch):
    # A second busy thread in the helper (numpy's OpenBLAS pool spins while pyarrow
    # imports; pyarrow's own pools) would take the training loop's core on a small box.
    psutil = pytest.importorskip("psutil")
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None and helper._proc is not None
    history = run._files.history
    history.rows_per_part = 1000
    for i in range(5000):
        run.log({"x": float(i), "y": i % 7})
    deadline = time.time() + 60
    while len(list(Path(history.directory).glob("part-*.parquet"))) < 2:
        assert time.time() < deadline, "the helper published no part"
        time.sleep(0.02)
    threads = psutil.Process(helper._proc.pid).threads()
    run.finish()
    busy = [t for t in threads if t.user_time + t.system_time > 0.05]
    assert len(busy) == 1, threads


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the helper's /proc maps")
def test_the_helper_publishes_numeric_parts_without_loading_pandas_or_numpy(runs_root, monkeypatch):
    # Where pandas is installed, importing it doubles the helper's start-up CPU (beside the
    # training loop, on its machine) and its memory, for parts that never use it.
    import importlib.util

    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed here, so nothing could load it")
    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None and helper._proc is not None
    pid = helper._proc.pid
    history = run._files.history
    history.rows_per_part = 100
    values = [float("nan"), float("inf"), -float("inf"), 0.5]
    for i in range(250):
        run.log({"loss": values[i % 4], "only_nan": float("nan"), "acc": i})
    # One part or more (a writer that wakes late publishes both full segments as one):
    # the first hundred rows hold every kind of mark, so any part took the NaN/inf path.
    deadline = time.time() + 60
    while not list(Path(history.directory).glob("part-*.parquet")):
        assert time.time() < deadline, "the helper published no part"
        time.sleep(0.02)
    maps = _maps(pid)
    run.finish()
    assert "pyarrow" in maps, "the helper built the parts"
    assert "/pandas/" not in maps and "/numpy/" not in maps
    rows = read_stream(Path(run.dir))
    assert [r["acc"] for r in rows] == list(range(250))
    loss = [r["loss"] for r in rows[:4]]
    assert loss[0] != loss[0] and loss[1:] == [float("inf"), -float("inf"), 0.5]
    assert all(r["only_nan"] != r["only_nan"] for r in rows)


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs and affinity"
)
def test_the_helper_keeps_off_the_training_threads_cpu_and_gets_every_cpu_for_finish(runs_root, monkeypatch):
    from recorder import helper_placement

    monkeypatch.setenv("LOUPE_PUBLISHER", "process")
    allowed = os.sched_getaffinity(0)
    first, second = sorted(allowed)[:2]
    where = {"cpu": first}  # the CPU the training thread is said to be on
    monkeypatch.setattr(helper_placement, "cpu_of", lambda tid: where["cpu"])
    run = make_run(runs_root)
    helper = run._files._helper
    assert helper is not None and helper._proc is not None
    pid = helper._proc.pid

    def masks() -> list[set[int]]:  # every thread of the child
        return [os.sched_getaffinity(int(t)) for t in os.listdir(f"/proc/{pid}/task")]

    helper.requirements()  # a request: the child has started its threads by its reply
    assert all(m == allowed - {first} for m in masks())
    where["cpu"] = second  # the training thread moved
    helper.requirements()
    assert all(m == allowed - {second} for m in masks())
    helper.hurry()
    assert all(m == allowed for m in masks())
    helper.requirements()  # no request after finish() began takes a CPU away again
    assert all(m == allowed for m in masks())
    run.log({"x": 1.0})
    run.finish()
    assert [r["x"] for r in read_stream(Path(run.dir))] == [1.0]
