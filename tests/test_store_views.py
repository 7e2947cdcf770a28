"""The store's views over real recorder runs: runs, history, system, text, logs; bad files."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from store_helpers import fake_run_dir, real_run

import recorder
from recorder import layout
from viewer import connect
from viewer.data.store import Store


def test_runs_view_has_identity_state_and_flattened_config_summary(runs_root):
    a = real_run(
        runs_root,
        name="a",
        config={"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}},
        steps=5,
        tags=["x", "y"],
        group="g",
        notes="hello",
    )
    b = real_run(runs_root, project="q", name="b", config={"lr": 0.001, "opt": {"name": "sgd"}}, steps=3)
    store = Store([runs_root])
    t = store.list_runs(sort="config.lr")
    assert t.column("name").to_pylist() == ["b", "a"]
    cols = set(t.column_names)
    for c in (
        "id",
        "project",
        "name",
        "group",
        "job_type",
        "tags",
        "notes",
        "state",
        "created_at",
        "finished_at",
        "runtime",
        "host",
        "git_commit",
        "rank",
        "root",
        "path",
        "config",
        "summary",
        "config.lr",
        "config.opt.name",
        "config.opt.betas",
        "summary.loss",
        "summary.acc",
        "summary._step",
    ):
        assert c in cols, c
    row = t.to_pylist()[1]
    assert row["id"] == a.id and row["project"] == "p" and row["tags"] == ["x", "y"] and row["group"] == "g"
    assert row["notes"] == "hello" and row["state"] == "finished" and row["summary.loss"] == pytest.approx(0.2)
    assert row["config.opt.betas"] == "[0.9,0.99]"
    con = store.connection
    assert con.sql("""SELECT config->>'$.opt.name' FROM runs WHERE name = 'a'""").fetchall()[0][0] == "adam"
    assert con.sql('SELECT name FROM runs ORDER BY "config.lr" DESC').fetchall() == [("a",), ("b",)]
    assert con.sql('SELECT "summary._step" FROM runs WHERE id = ?', params=[b.id]).fetchall()[0][0] == 2


def test_history_system_text_and_logs_views(runs_root):
    run = recorder.init(
        dir=runs_root, project="p", name="full", system_interval=0.05, capture_console=True, reinit="create_new"
    )
    for s in range(20):
        run.log({"loss": float(20 - s), "val": {"loss": s * 0.5}, "note": f"n{s}"})
    print("hello from stdout")
    print("\x1b]0;title\x07evil", flush=True)
    # The system monitor samples on its own thread: wait for its first row, not a fixed time.
    deadline = time.monotonic() + 30
    while connect(runs_root).sql("SELECT count(*) FROM system").fetchall()[0][0] < 1:
        assert time.monotonic() < deadline, "no system metrics sampled in 30 s"
        time.sleep(0.05)
    run.finish()
    con = connect(runs_root)
    assert con.sql("SELECT count(*), min(_step), max(_step) FROM history").fetchall()[0] == (20, 0, 19)
    assert con.sql('SELECT "val.loss" FROM history WHERE _step = 4').fetchall()[0][0] == 2.0
    assert con.sql("SELECT count(*) FROM text WHERE key = 'note'").fetchall()[0][0] == 20
    assert con.sql("SELECT count(*) FROM system").fetchall()[0][0] >= 1
    assert "cpu.percent" in [r[0] for r in con.sql("DESCRIBE system").fetchall()]
    logs = con.sql("SELECT run_id, line, time, stream, text FROM logs ORDER BY line").fetchall()
    texts = [r[4] for r in logs]
    assert "hello from stdout" in texts and logs[0][1] == 1 and logs[0][0] == run.id
    assert all(r[3] in ("O", "E") for r in logs) and logs[0][2] is not None
    # .df() / .arrow() work on the notebook connection
    assert con.sql("SELECT * FROM runs").arrow().read_all().num_rows == 1
    try:
        import pandas  # noqa: F401
    except ImportError:
        pass
    else:
        assert len(con.sql("SELECT * FROM runs").df()) == 1
    assert con.sql("SELECT * FROM history").to_arrow_table().num_rows == 20


def test_store_history_downsampled_metric_names(runs_root):
    r1 = real_run(runs_root, steps=1000)
    r2 = real_run(runs_root, steps=10)
    store = Store([runs_root])
    h = store.history([r1.id, r2.id], ["loss", "missing"])
    assert h.column_names == ["run_id", "_step", "_timestamp", "_runtime", "loss"]
    assert h.num_rows == 1010
    assert store.metric_names() == ["acc", "loss"]
    d = store.downsampled([r1.id, r2.id], ["loss", "acc"], points=50)
    per = {}
    for row in d.to_pylist():
        per.setdefault((row["run_id"], row["metric"]), []).append(row)
    assert len(per) == 4
    assert len(per[(r1.id, "loss")]) == 50 and len(per[(r2.id, "loss")]) == 10
    first = per[(r1.id, "loss")][0]
    assert first["max"] == 1.0 and first["min"] < first["mean"] < first["max"]  # spike kept
    assert sum(b["n"] for b in per[(r1.id, "loss")]) == 1000
    assert store.downsampled([r1.id], ["nope"]).num_rows == 0


def test_downsample_ignores_nonfinite_and_keeps_spikes(runs_root):
    run = recorder.init(dir=runs_root, project="p", system_interval=0, capture_console=False, reinit="create_new")
    for s in range(100):
        v = 1000.0 if s == 37 else (math.nan if s == 50 else (math.inf if s == 60 else 1.0))
        run.log({"m": v})
    run.finish()
    d = Store([runs_root]).downsampled(run.id, ["m"], points=10)
    assert d.num_rows == 10
    assert max(d.column("max").to_pylist()) == 1000.0
    assert sum(d.column("n").to_pylist()) == 98


def test_live_run_journal_rows_are_in_history_once(runs_root):
    run = recorder.init(dir=runs_root, project="p", system_interval=0, capture_console=False, reinit="create_new")
    for s in range(7):
        run.log({"loss": float(s), "t": "x"})
    store = Store([runs_root])
    assert store.runs()[0].state == "running"
    h = store.history(run.id)
    assert h.column("_step").to_pylist() == list(range(7))
    assert store.text(run.id).num_rows == 7
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 7
    run.finish()
    store.refresh()
    assert store.runs()[0].state == "finished"
    assert store.history(run.id).num_rows == 7
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 7


def test_crashed_run_torn_journal_and_covered_parts(runs_root):
    run = real_run(runs_root, steps=5)
    hist = Path(run.dir) / "history"
    part = next(hist.glob("part-*.parquet"))
    w = layout.parse_part(part.name).writer
    # a covered duplicate part left by a crash mid-compaction, and a journal of a new writer with a torn line
    shutil.copy(part, hist / layout.part_name(w, 0, 0)) if layout.parse_part(part.name).hi > 0 else None
    (hist / "journal-bbbbbbbb-00000000.jsonl").write_bytes(
        b'\n{"_step":5,"_timestamp":1.0,"_runtime":1.0,"loss":0.5}\n{"_step":6,"_times'
        b'\n{"_step":7,"_timestamp":2.0,"_runtime":2.0,"loss":"NaN","_nf":{"acc":"nan"}}'
    )
    h = Store([runs_root]).history(run.id)
    assert h.column("_step").to_pylist() == [0, 1, 2, 3, 4, 5, 7]
    assert math.isnan(h.column("acc").to_pylist()[-1]) and h.column("loss").to_pylist()[-1] is None


def test_bad_parquet_files_cost_one_warning_each(runs_root):
    run = real_run(runs_root, steps=4)
    hist = Path(run.dir) / "history"
    (hist / "part-cccccccc-00000000-00000000.parquet").write_bytes(b"")
    good = next(hist.glob("part-*.parquet")).read_bytes()
    (hist / "part-dddddddd-00000000-00000000.parquet").write_bytes(good[: len(good) // 2])
    (hist / "part-eeeeeeee-00000000-00000000.parquet").write_bytes(b"PAR1" + os.urandom(100) + b"PAR1")
    (hist / ".tmp-part-ffffffff-00000000-00000000.parquet").write_bytes(b"being written")
    warnings: list[str] = []
    store = Store([runs_root], on_warning=warnings.append)
    assert store.history(run.id).num_rows == 4
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 4
    store.history(run.id)
    assert len(warnings) == 3, warnings
    assert all("skipping" in w for w in warnings)


def test_run_with_no_history_yet(runs_root):
    run = recorder.init(dir=runs_root, project="p", system_interval=0, capture_console=False, reinit="create_new")
    store = Store([runs_root])
    assert store.history(run.id).num_rows == 0
    assert store.downsampled(run.id, ["loss"]).num_rows == 0
    con = store.connection
    assert con.sql("SELECT count(*) FROM history").fetchall()[0][0] == 0
    assert con.sql("SELECT count(*) FROM logs").fetchall()[0][0] == 0
    assert con.sql("SELECT count(*) FROM system").fetchall()[0][0] == 0
    run.finish()


@pytest.mark.parametrize("dirname", ["exp[1]", "star*", "it's", "q?x", "sp ace"])
def test_glob_and_quote_run_names_read_the_right_run(runs_root, dirname):
    fake_run_dir(runs_root, "p", dirname, history={"loss": [1.0, 2.0]})
    decoy = {"exp[1]": "exp1", "star*": "starfish", "it's": "its", "q?x": "qax", "sp ace": "sp_ace"}[dirname]
    fake_run_dir(runs_root, "p", decoy, history={"loss": [9.0, 9.0, 9.0]})
    (runs_root / "p" / dirname / "output.log").write_text("2026-11-29T14:08:12.123Z O mine\n")
    (runs_root / "p" / decoy / "output.log").write_text("2026-11-29T14:08:12.123Z O decoy\n")
    store = Store([runs_root])
    h = store.history(dirname)
    assert h.column("loss").to_pylist() == [1.0, 2.0] and set(h.column("run_id").to_pylist()) == {dirname}
    con = store.connection
    assert con.sql("SELECT count(*) FROM history WHERE run_id = ?", params=[dirname]).fetchall()[0][0] == 2
    assert con.sql("SELECT count(*) FROM history").fetchall()[0][0] == 5
    assert con.sql("SELECT text FROM logs WHERE run_id = ?", params=[dirname]).fetchall() == [("mine",)]
    assert store.downsampled(dirname, ["loss"], points=5).column("max").to_pylist() == [1.0, 2.0]


def test_root_with_glob_characters(tmp_path):
    root = tmp_path / "root[1]"
    run = real_run(root, steps=3)
    other = tmp_path / "root1"
    real_run(other, steps=8)
    store = Store([root])
    assert store.history(run.id).num_rows == 3
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 3


def test_several_roots_merge(tmp_path):
    a = real_run(tmp_path / "m1", steps=2)
    b = real_run(tmp_path / "m2", steps=3)
    store = Store([tmp_path / "m1", tmp_path / "m2"])
    assert {r.id for r in store.runs()} == {a.id, b.id}
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 5


def test_parts_vanishing_mid_read_are_retried(runs_root, monkeypatch):
    run = real_run(runs_root, steps=6)
    store = Store([runs_root])
    hist = Path(run.dir) / "history"
    part = next(hist.glob("part-*.parquet"))
    store.history(run.id)  # listing cached
    # compaction: the listed part is replaced by a merged one under another name
    merged = hist / layout.part_name("9999aaaa", 0, 5)
    t = pq.read_table(part)
    pq.write_table(t, merged)
    os.unlink(part)
    assert store.history(run.id).num_rows == 6
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 6


def test_optional_view_providers_plug_in(runs_root, monkeypatch, tmp_path):
    import sys
    import types

    real_run(runs_root, steps=1)
    mod = types.ModuleType("loupe_test_provider")

    def register(con, roots):
        con.execute("CREATE OR REPLACE VIEW extra AS SELECT 42 AS answer")

    mod.register = register
    monkeypatch.setitem(sys.modules, "loupe_test_provider", mod)
    import viewer.data.store as vs

    monkeypatch.setattr(vs, "VIEW_PROVIDERS", ("loupe_test_provider", "viewer.no_such_provider_module"))
    store = Store([runs_root])
    assert store.query("SELECT answer FROM extra").column(0)[0].as_py() == 42
    assert store.warnings == []


def test_every_bundled_view_provider_exists():
    # A missing provider is skipped without a word (optional plugins), so a dead name here
    # would never show up otherwise.
    import importlib

    import viewer.data.store as vs

    for name in vs.VIEW_PROVIDERS:
        assert callable(importlib.import_module(name).register), name


def test_listing_runs_never_opens_history(runs_root, monkeypatch):
    real_run(runs_root, steps=3)
    import viewer.data.stream_files as sf

    def boom(*a, **k):
        raise AssertionError("history touched")

    monkeypatch.setattr(sf.StreamCache, "run_files", boom)
    store = Store([runs_root])
    assert store.list_runs(sort="-created_at", filter="state = 'finished'").num_rows == 1
    store.refresh()
