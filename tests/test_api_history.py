"""`Api().run(...).history()` / `scan_history()` checked against plain DuckDB over the files.

The expected rows are what any DuckDB user reads: the Parquet parts that
`layout.live_stream_files()` keeps, plus the unpublished journal rows decoded with
`recorder.journal.decode_journal` (docs/format.md, "Which rows to read").
"""

from __future__ import annotations

import glob
import itertools
import math
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import make_run
from crash_harness import kill_once

import recorder
from recorder import layout
from recorder.journal import decode_journal, encode_row
from recorder.parquet_parts import journal_to_tables, merge_parts, write_parquet_atomic
from recorder.run_history import sample_positions


def expected_rows(run_dir: Path) -> list[dict]:
    """Rows as plain DuckDB reads the parts, plus journal rows; None values dropped."""
    files = layout.live_stream_files(run_dir / layout.HISTORY_DIR)
    rows: list[dict] = []
    if files.parts:
        rel = duckdb.sql(
            "SELECT * EXCLUDE (run_id) FROM read_parquet(?, union_by_name = true)",
            params=[[glob.escape(str(p)) for p in files.parts]],
        )
        rows += [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    for journal in files.journals:
        for r in decode_journal(journal.read_bytes()):
            r.pop(layout.JOURNAL_TEXT_KEY, None)
            rows.append(r)
    rows.sort(key=lambda r: r[layout.STEP])
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def same(a: list[dict], b: list[dict]) -> None:
    assert [r[layout.STEP] for r in a] == [r[layout.STEP] for r in b]
    for x, y in zip(a, b):
        assert x.keys() == y.keys(), (x, y)
        for k in x:
            assert x[k] == pytest.approx(y[k], nan_ok=True), k


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def history_parts(run) -> list[Path]:
    return layout.live_stream_files(Path(run.dir) / layout.HISTORY_DIR).parts


def test_live_run_reads_parts_and_unpublished_journal_rows(runs_root):
    run = make_run(runs_root)
    run._files.history.rows_per_part = 10  # publish a part soon (the default waits for 10k rows or 30 s)
    for i in range(30):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 30})
    wait_for(lambda: history_parts(run), "a first published part")
    # Holding the writer's publish lock keeps the next rows in the journal only, as in a
    # live run between two publications.
    with run._files.history._publish_lock:
        for i in range(30, 55):
            run.log({"loss": 1.0 / (i + 1), "lr": 0.1, "nan_metric": math.nan})
        run_dir = Path(run.dir)
        files = layout.live_stream_files(run_dir / layout.HISTORY_DIR)
        assert files.journals, "the newest rows should still be journal-only"
        want = expected_rows(run_dir)
        assert [r[layout.STEP] for r in want] == list(range(55))
        api_run = recorder.Api(runs_root).run(f"p/{run.id}")
        assert api_run.state == "running"
        same(list(api_run.scan_history()), want)
        same(api_run.history(samples=1000, pandas=False), want)
        assert [r["lr"] for r in api_run.scan_history(keys=["lr"])] == [0.1] * 25
        assert math.isnan(next(iter(api_run.scan_history(keys=["nan_metric"])))["nan_metric"])
    run.finish()


def test_crashed_run_reads_every_accepted_step_once(tmp_path):
    result = kill_once(tmp_path, delay=0.3)
    run_dir = result["run_dir"]
    api_run = recorder.Api(run_dir.parents[1]).run("crash/victim")
    assert api_run.state == "crashed"
    want = expected_rows(run_dir)
    rows = list(api_run.scan_history(page_size=97))
    same(rows, want)
    steps = [r[layout.STEP] for r in rows]
    assert steps == list(range(len(steps)))
    assert len(steps) >= result["accepted"] + 1  # nothing log() returned from is missing
    sampled = api_run.history(samples=50, keys=["loss"], pandas=False)
    assert len(sampled) == 50 and sampled[0][layout.STEP] == 0 and sampled[-1][layout.STEP] == steps[-1]
    assert all(r["loss"] == pytest.approx(1.0 / (r[layout.STEP] + 1)) for r in sampled)


def test_history_samples_evenly_keeping_first_and_last(runs_root):
    run = make_run(runs_root)
    for i in range(1000):
        run.log({"x": float(i)})
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    rows = api_run.history(samples=7, pandas=False)
    steps = [r[layout.STEP] for r in rows]
    assert steps[0] == 0 and steps[-1] == 999 and len(steps) == 7
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    assert max(gaps) - min(gaps) <= 1
    assert [r["x"] for r in rows] == [float(s) for s in steps]
    assert len(api_run.history(pandas=False)) == 500
    assert len(api_run.history(samples=5000, pandas=False)) == 1000
    assert sample_positions(3, 10) == [0, 1, 2] and sample_positions(10, 1) == [9]
    with pytest.raises(ValueError, match="samples"):
        api_run.history(samples=0)


def test_keys_keep_only_rows_that_have_them_and_steps_bound_the_scan(runs_root):
    run = make_run(runs_root)
    for i in range(100):
        data = {"train/loss": 1.0 / (i + 1)}
        if i % 10 == 9:
            data["val/acc"] = i / 100
        run.log(data)
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    rows = api_run.history(keys=["val/acc"], pandas=False)
    assert [set(r) for r in rows] == [{"_step", "val/acc"}] * 10
    assert [r["_step"] for r in rows] == list(range(9, 100, 10))
    scanned = list(api_run.scan_history(keys=["val/acc", "train/loss"], min_step=19, max_step=59, page_size=3))
    assert [set(r) for r in scanned] == [{"val/acc", "train/loss"}] * 4  # wandb gives just the keys
    assert [r["val/acc"] for r in scanned] == [0.19, 0.29, 0.39, 0.49]
    window = list(api_run.scan_history(min_step=10, max_step=13))
    assert [r["_step"] for r in window] == [10, 11, 12]  # max_step is exclusive, as in wandb
    assert "val/acc" not in window[0]  # not logged at that step: absent, not None
    table = api_run.history(keys=["val/acc"], x_axis="train/loss", format="arrow")
    assert table.column_names == ["train/loss", "val/acc"]
    with pytest.raises(ValueError, match="list"):
        api_run.history(keys="val/acc")


def test_strings_and_case_clashing_keys_come_back_under_their_names(runs_root):
    run = make_run(runs_root)
    run.log({"loss": 1.0, "Loss": 10.0, "phase": "warmup"})
    run.log({"loss": 0.5, "Loss": 5.0})
    run.log({"loss": 0.25, "Loss": 2.5, "phase": "main"})
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    rows = list(api_run.scan_history())
    assert [(r["loss"], r["Loss"], r.get("phase")) for r in rows] == [
        (1.0, 10.0, "warmup"),
        (0.5, 5.0, None),
        (0.25, 2.5, "main"),
    ]
    assert [r["phase"] for r in api_run.scan_history(keys=["phase"])] == ["warmup", "main"]
    assert api_run.history(keys=["phase", "Loss"], pandas=False) == [
        {"_step": 0, "phase": "warmup", "Loss": 10.0},
        {"_step": 2, "phase": "main", "Loss": 2.5},
    ]
    assert [r.get("phase") for r in api_run.history(pandas=False)] == ["warmup", None, "main"]


def _write_parts(history_dir: Path, writer: str, chunks: int, rows: int) -> list[layout.PartName]:
    history_dir.mkdir(parents=True)
    names = []
    for seq in range(chunks):
        data = b"".join(
            encode_row({"_step": seq * rows + i, "_timestamp": 1e9, "_runtime": 0.0, "m": float(seq * rows + i)})
            for i in range(rows)
        )
        numeric, _ = journal_to_tables(data, "r1")
        write_parquet_atomic(numeric, history_dir / layout.part_name(writer, seq, seq))
        names.append(layout.PartName(writer, seq, seq))
    return names


def test_scan_survives_compaction_under_it_without_repeating_a_row(tmp_path):
    run_dir = tmp_path / "runs" / "p" / "r1"
    parts = _write_parts(run_dir / layout.HISTORY_DIR, "aaaa0000", chunks=6, rows=10)
    (run_dir / layout.RUN_FILE).write_text('{"id": "r1", "state": "finished"}')
    rows = recorder.Api(tmp_path / "runs").run("p/r1").scan_history(page_size=4)
    first = [next(rows) for _ in range(15)]
    merge_parts(run_dir / layout.HISTORY_DIR, parts)  # unlinks every part the scan listed
    steps = [r["_step"] for r in first + list(rows)]
    assert steps == list(range(60))


def test_rows_of_a_resumed_run_come_in_step_order_across_writers(tmp_path):
    run_dir = tmp_path / "runs" / "p" / "r1"
    _write_parts(run_dir / layout.HISTORY_DIR, "ffff0000", chunks=2, rows=5)  # the first process
    data = b"".join(encode_row({"_step": s, "m": float(s)}) for s in range(10, 14))
    (run_dir / layout.HISTORY_DIR / layout.journal_name("0000aaaa", 0)).write_bytes(data + b'\n{"_step": 14, "m"')
    (run_dir / layout.RUN_FILE).write_text('{"id": "r1", "state": "finished"}')
    api_run = recorder.Api(tmp_path / "runs").run("p/r1")
    assert [r["_step"] for r in api_run.scan_history()] == list(range(14))  # the torn line is skipped
    assert api_run.history(format="arrow").column("_step").to_pylist() == list(range(14))
    assert api_run.lastHistoryStep == 13


def test_writers_whose_steps_interleave_are_merged_by_step(tmp_path):
    run_dir = tmp_path / "runs" / "p" / "r1"
    history = run_dir / layout.HISTORY_DIR
    history.mkdir(parents=True)
    for writer, first in (("aaaa0000", 0), ("bbbb0000", 1)):
        for seq in range(3):  # each writer: three journals of every other step
            steps = range(first + 10 * seq, first + 10 * seq + 10, 2)
            data = b"".join(encode_row({"_step": s, "m": float(s)}) for s in steps)
            (history / layout.journal_name(writer, seq)).write_bytes(data)
    (run_dir / layout.RUN_FILE).write_text('{"id": "r1", "state": "finished"}')
    api_run = recorder.Api(tmp_path / "runs").run("p/r1")
    assert [r["_step"] for r in api_run.scan_history(page_size=3)] == list(range(30))
    assert [r["m"] for r in api_run.scan_history(keys=["m"], min_step=5, max_step=9)] == [5.0, 6.0, 7.0, 8.0]


def test_a_damaged_part_is_skipped_with_a_warning(tmp_path, caplog):
    run_dir = tmp_path / "runs" / "p" / "r1"
    _write_parts(run_dir / layout.HISTORY_DIR, "aaaa0000", chunks=2, rows=3)
    (run_dir / layout.HISTORY_DIR / layout.part_name("bbbb0000", 0, 0)).write_bytes(b"PAR1 not really")
    (run_dir / layout.RUN_FILE).write_text('{"id": "r1", "state": "finished"}')
    rows = list(recorder.Api(tmp_path / "runs").run("p/r1").scan_history())
    assert [r["_step"] for r in rows] == list(range(6))
    assert "not a readable Parquet file" in caplog.text


def test_system_metrics_and_system_stream(runs_root):
    run = make_run(runs_root, system_interval=0.05)
    run.log({"loss": 1.0})
    api = recorder.Api(runs_root)
    wait_for(lambda: api.run(f"p/{run.id}").system_metrics.get("cpu.percent") is not None, "a system sample")
    run.finish()
    api_run = api.run(f"p/{run.id}")
    latest = api_run.system_metrics
    assert latest["memory.used_mb"] > 0 and "_timestamp" in latest
    samples = api_run.history(stream="system", pandas=False)
    assert samples and samples[-1]["_timestamp"] == latest["_timestamp"]
    assert "_step" not in samples[0]
    with pytest.raises(ValueError, match="stream"):
        api_run.history(stream="events")


def test_pandas_is_optional(runs_root, monkeypatch, caplog):
    run = make_run(runs_root)
    run.log({"loss": 1.0})
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas fails, as when not installed
    rows = api_run.history()
    assert isinstance(rows, list) and rows[0]["loss"] == 1.0
    assert "pandas is not installed" in caplog.text


def test_history_as_a_pandas_dataframe(runs_root):
    pd = pytest.importorskip("pandas")
    run = make_run(runs_root)
    run.log({"loss": 1.0, "acc": 0.5})
    run.log({"loss": 0.5})
    run.finish()
    df = recorder.Api(runs_root).run(f"p/{run.id}").history()
    assert isinstance(df, pd.DataFrame)
    assert df["loss"].tolist() == [1.0, 0.5] and df["_step"].tolist() == [0, 1]
    assert math.isnan(df["acc"].iloc[1])


def test_reading_history_imports_no_viewer(runs_root):
    run = make_run(runs_root)
    run.log({"loss": 1.0})
    run.finish()
    code = (
        "import sys, recorder\n"
        f"r = recorder.Api({str(runs_root)!r}).runs('p')[0]\n"
        "list(r.scan_history()); r.history(pandas=False); r.files(); r.system_metrics\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('viewer', 'duckdb', 'textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_that_logged_nothing_reads_empty(runs_root):
    run = make_run(runs_root)
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    assert api_run.history(pandas=False) == [] and api_run.history(keys=["loss"], pandas=False) == []
    assert list(api_run.scan_history()) == [] and list(api_run.scan_history(keys=["loss"])) == []
    assert api_run.history(format="arrow").num_rows == 0
    assert api_run.system_metrics == {} and api_run.lastHistoryStep == -1


def test_histories_of_several_runs_carry_their_run_id(runs_root):
    ids = []
    for scale in (1.0, 2.0):
        run = make_run(runs_root)
        for i in range(3):
            run.log({"loss": scale * i})
        run.finish()
        ids.append(run.id)
    runs = recorder.Api(runs_root).runs("p")
    rows = runs.histories(samples=2, keys=["loss"])
    assert [(r["run_id"], r["_step"], r["loss"]) for r in rows] == [
        (ids[0], 0, 0.0),
        (ids[0], 2, 2.0),
        (ids[1], 0, 0.0),
        (ids[1], 2, 4.0),
    ]
    assert runs.histories(format="arrow").column("run_id").to_pylist() == [ids[0]] * 3 + [ids[1]] * 3
