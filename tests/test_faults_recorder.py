"""Recorder faults the other suites leave out: a kill before anything was logged, writers
that share sequence numbers, and a forking DataLoader-like workload with the system-metrics
thread and the console tee running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import recorder
from recorder import layout
from recorder.stream_writer import StreamWriter
from viewer.data.store import Store

ENV = {**os.environ, "PYTHONPATH": str(Path(recorder.__file__).parents[1])}


def test_kill_before_the_first_log_leaves_a_crashed_run_not_an_error(tmp_path):
    root = tmp_path / "runs"
    code = textwrap.dedent(f"""
        import time, recorder
        r = recorder.init(dir={str(root)!r}, project="p", system_interval=0.05, capture_console=True)
        print(r.id, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, "child did not start"
    finally:
        proc.kill()
        proc.wait()
    warnings: list[str] = []
    store = Store([root], on_warning=warnings.append)
    info = store.resolve(run_id)
    assert info.state == "crashed" and info.recorded_state == "running"
    assert store.history(run_id).num_rows == 0
    assert store.query("SELECT state FROM runs").column("state").to_pylist() == ["crashed"]
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 0
    store.query("SELECT count(*) AS n FROM system")  # whatever was sampled, the view reads
    assert warnings == []


def rows_of(table, writer_col: str = "w") -> list[tuple[float, int]]:
    return sorted(zip(table.column(writer_col).to_pylist(), table.column("_step").to_pylist()))


def test_writers_with_equal_sequence_numbers_never_hide_each_others_rows(tmp_path):
    # Two processes writing one run (two ranks, or a resume while the old writer lingers)
    # number their journals and parts from 0 each; only the writer id tells them apart.
    root = tmp_path / "runs"
    run = recorder.init(dir=root, project="p", id="shared", system_interval=0, capture_console=False)
    run.finish()
    hist = Path(run.dir) / layout.HISTORY_DIR
    for p in hist.iterdir():
        p.unlink()
    a = StreamWriter(hist, "shared", "aaaaaaaa")
    b = StreamWriter(hist, "shared", "bbbbbbbb")

    def log(w: StreamWriter, wid: float, steps: range) -> None:
        for s in steps:
            w.append({"_step": s, "_timestamp": float(s), "_runtime": float(s), "w": wid})

    log(a, 1.0, range(0, 5))
    a.flush()  # part-aaaaaaaa-00000000-00000000 covers A's seq 0 only
    log(b, 2.0, range(0, 3))  # journal-bbbbbbbb-00000000: same seq, still live
    names = sorted(p.name for p in hist.iterdir())
    assert names == ["journal-bbbbbbbb-00000000.jsonl", "part-aaaaaaaa-00000000-00000000.parquet"]
    expected = [(1.0, s) for s in range(5)] + [(2.0, s) for s in range(3)]
    assert rows_of(Store([root]).history("shared")) == expected

    # Both publish more, A compacts its parts, B keeps a live journal with seq 1.
    log(a, 1.0, range(5, 8))
    a.flush()
    a.compact()  # part-aaaaaaaa-00000000-00000001
    b.flush()  # part-bbbbbbbb-00000000-00000000
    log(b, 2.0, range(3, 6))  # journal-bbbbbbbb-00000001
    log(a, 1.0, range(8, 9))  # journal-aaaaaaaa-00000002
    names = sorted(p.name for p in hist.iterdir())
    assert names == [
        "journal-aaaaaaaa-00000002.jsonl",
        "journal-bbbbbbbb-00000001.jsonl",
        "part-aaaaaaaa-00000000-00000001.parquet",
        "part-bbbbbbbb-00000000-00000000.parquet",
    ]
    expected = [(1.0, s) for s in range(9)] + [(2.0, s) for s in range(6)]
    store = Store([root])
    assert rows_of(store.history("shared")) == expected
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == len(expected)
    a.close()
    b.close()
    assert rows_of(Store([root]).history("shared")) == expected


FORKING = textwrap.dedent("""
    import multiprocessing as mp, sys, time, recorder

    def load(i):
        # A DataLoader worker: prints (inherited tee), sometimes to stderr, returns a batch.
        print(f"worker batch {i}", flush=True)
        if i % 5 == 0:
            print(f"worker warn {i}", file=sys.stderr, flush=True)
        return i * 2

    if __name__ == "__main__":
        run = recorder.init(dir=sys.argv[1], project="p", name="forking", system_interval=0.01,
                            capture_console=True)
        ctx = mp.get_context("fork")
        for epoch in range(4):
            with ctx.Pool(3) as pool:   # workers forked while both threads run
                batches = pool.map(load, range(epoch * 10, epoch * 10 + 10))
            p = ctx.Process(target=load, args=(1000 + epoch,))  # and a bare fork
            p.start(); p.join(20)
            assert p.exitcode == 0, p.exitcode
            run.log({"loss": 1.0 / (epoch + 1), "batches": float(sum(batches))})
            print(f"parent epoch {epoch} done", flush=True)
        time.sleep(0.1)
        run.finish()
        print("parent finished", flush=True)
""")


@pytest.mark.slow
def test_forking_workers_with_system_thread_and_tee_do_not_deadlock(tmp_path):
    root = tmp_path / "runs"
    script = tmp_path / "train.py"
    script.write_text(FORKING)
    out = subprocess.run(
        [sys.executable, str(script), str(root)],
        capture_output=True,
        text=True,
        env={**ENV, "LOUPE_CONSOLE": "on"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    parent = [f"parent epoch {e} done" for e in range(4)]
    # The terminal (here a pipe: not a tty) got the parent's and the workers' lines.
    for line in parent + ["parent finished"]:
        assert out.stdout.count(line) == 1, line
    assert sum(f"worker batch {i}" in out.stdout for i in range(40)) == 40
    store = Store([root])
    info = store.runs()[0]
    assert info.state == "finished"
    # The log got the parent's lines exactly once each, in order.
    log_text = (info.path / layout.OUTPUT_LOG).read_text()
    logged = [ln.split(" ", 2)[2] for ln in log_text.splitlines() if ln.startswith("2") and " O parent" in ln]
    assert logged == parent, log_text[-2000:]
    # Forked workers inherit the tee: each of their lines is in the log once, not lost or doubled.
    worker_lines = [ln.split(" ", 1)[1] for ln in log_text.splitlines() if " worker " in ln]
    expected = [f"O worker batch {i}" for i in [*range(40), *range(1000, 1004)]]
    expected += [f"E worker warn {i}" for i in [*range(0, 40, 5), 1000]]
    assert sorted(worker_lines) == sorted(expected)
    assert store.history(info.id).column("_step").to_pylist() == [0, 1, 2, 3]
    assert store.system(info.id).num_rows >= 1
