"""The wandb-compatible API, checked by reading the files back with plain DuckDB/pyarrow."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import make_run, recorder_root
from run_reading import history, read_json

import recorder
from recorder import layout


def test_seed_quickstart_loop_with_nested_keys(runs_root):
    run = recorder.init(
        project="my-project", config={"learning_rate": 0.001, "epochs": 3, "batch_size": 32, "architecture": "ResNet50"}
    )
    for epoch in range(run.config.epochs):
        recorder.log(
            {
                "epoch": epoch,
                "train/loss": 1.0 / (epoch + 1),
                "val/loss": 2.0 / (epoch + 1),
                "train/accuracy": 0.5 + epoch / 10,
                "val": {"accuracy": 0.4 + epoch / 10},
            }
        )
    recorder.finish()

    rows = history(run)
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["epoch"] for r in rows] == [0.0, 1.0, 2.0]
    assert rows[2]["val/loss"] == pytest.approx(2 / 3)
    assert rows[1]["val.accuracy"] == pytest.approx(0.5)
    assert all(r["run_id"] == run.id for r in rows)
    assert all(r["_timestamp"] > 1e9 and r["_runtime"] >= 0 for r in rows)
    assert Path(run.dir).parent.name == "my-project"
    assert read_json(run, "config.json")["architecture"] == "ResNet50"
    meta = read_json(run, "run.json")
    assert meta["state"] == "finished" and meta["exit_code"] == 0
    assert meta["format_version"] == layout.FORMAT_VERSION


def test_glob_over_whole_root_says_which_run_each_row_is(runs_root):
    a = make_run(runs_root, project="p1")
    a.log({"loss": 1.0})
    a.finish()
    b = make_run(runs_root, project="p2")
    b.log({"loss": 2.0})
    b.log({"loss": 3.0})
    b.finish()
    got = duckdb.sql(
        "SELECT run_id, count(*) FROM read_parquet(?, union_by_name=true) GROUP BY run_id ORDER BY 2",
        params=[str(runs_root / "*" / "*" / "history" / "*.parquet")],
    ).fetchall()
    assert got == [(a.id, 1), (b.id, 2)]


def test_commit_false_merges_into_one_step():
    run = make_run(recorder_root())
    run.log({"a": 1}, commit=False)
    run.log({"b": 2}, commit=False)
    run.log({"c": 3})
    run.log({"a": 4})
    run.finish()
    rows = history(run)
    assert [(r["_step"], r["a"], r["b"], r["c"]) for r in rows] == [(0, 1.0, 2.0, 3.0), (1, 4.0, None, None)]


def test_explicit_steps_accumulate_and_lower_steps_are_dropped(caplog):
    run = make_run(recorder_root())
    run.log({"a": 1}, step=5)
    run.log({"b": 2}, step=5)
    run.log({"c": 3}, step=7)
    with caplog.at_level(logging.WARNING, logger="loupe"):
        run.log({"d": 4}, step=6)
    assert "less than the current step" in caplog.text
    run.log({"e": 5})  # no step: joins the pending step 7 and commits it
    run.log({"f": 6})
    run.finish()
    rows = history(run)
    assert [r["_step"] for r in rows] == [5, 7, 8]
    assert rows[0]["a"] == 1 and rows[0]["b"] == 2
    assert rows[1]["c"] == 3 and rows[1]["e"] == 5 and "d" not in rows[1]
    assert rows[2]["f"] == 6


def test_seed_define_metric_global_step_fills_missing_step_metric():
    run = make_run(recorder_root())
    run.define_metric("*", step_metric="global_step")
    for step in range(3):
        run.log({"global_step": step * 100, "train/loss": 0.1})
        run.log({"eval/loss": 0.2})  # no global_step: takes the last one
    run.finish()
    rows = history(run)
    evals = [r for r in rows if r["eval/loss"] is not None]
    assert [r["global_step"] for r in evals] == [0.0, 100.0, 200.0]
    defs = read_json(run, "metrics.json")["definitions"]
    assert defs == [{"name": "*", "step_metric": "global_step", "summary": [], "goal": None, "hidden": False}]


def test_step_metric_logged_after_its_metrics_and_renamed_for_case_is_filled():
    run = make_run(recorder_root())
    run.log({"step": 1.0})
    run.define_metric("val/*", step_metric="Step")
    for acc in (0.1, 0.2):
        run.log({"val/acc": acc})  # no Step yet: nothing to fill
    run.log({"Step": 5})  # its column is "Step#2", "step" being taken
    run.log({"val/acc": 0.3})
    run.log({"Step": 6, "val/acc": 0.4})
    run.log({"val/acc": 0.5})
    run.finish()
    rows = history(run)
    assert [(r["val/acc"], r["Step#2"]) for r in rows if r["val/acc"] is not None] == [
        (0.1, None),
        (0.2, None),
        (0.3, 5.0),
        (0.4, 6.0),
        (0.5, 6.0),
    ]


def test_define_metric_specific_name_and_summaries():
    run = make_run(recorder_root())
    run.define_metric("train/loss", step_metric="global_step", summary="min,max,mean")
    run.define_metric("val/acc", summary="best", goal="maximize")
    for i, (loss, acc) in enumerate([(3.0, 0.2), (1.0, 0.9), (2.0, 0.5)]):
        run.log({"global_step": i, "train/loss": loss, "val/acc": acc})
    run.log({"other": 1.0})
    summary = dict(run.summary)
    assert summary["train/loss"] == {"min": 1.0, "max": 3.0, "mean": 2.0}
    assert summary["val/acc"] == {"max": 0.9}
    assert summary["other"] == 1.0
    run.finish()
    assert read_json(run, "summary.json")["train/loss"]["mean"] == 2.0
    with pytest.raises(ValueError, match="summary"):
        run.define_metric("x", summary="median")


def test_summary_last_values_override_and_written_during_run():
    run = make_run(recorder_root())
    run.log({"acc": 0.5, "name": "first"})
    run.log({"acc": 0.7, "name": "second"})
    run.summary["best_accuracy"] = 0.99
    assert run.summary["acc"] == 0.7 and run.summary["name"] == "second"
    deadline = time.time() + 5
    on_disk = {}
    while time.time() < deadline:
        path = Path(run.dir) / "summary.json"
        if path.exists():
            on_disk = json.loads(path.read_text())
            if on_disk.get("best_accuracy") == 0.99:
                break
        time.sleep(0.1)
    assert on_disk["best_accuracy"] == 0.99 and on_disk["acc"] == 0.7  # before finish()
    run.summary["acc"] = 1.0  # an assignment beats the logged value
    run.finish()
    final = read_json(run, "summary.json")
    assert final["acc"] == 1.0 and final["_step"] == 1


def test_summary_keeps_whichever_came_last_a_number_or_a_text():
    # wandb's summary is each key's last logged value; a key that switched between text
    # and numbers showed its old text for good.
    run = make_run(recorder_root())
    run.log({"phase": "warmup", "lr": 0.1})
    run.log({"phase": 2.0, "lr": "frozen"})
    assert run.summary["phase"] == 2.0 and run.summary["lr"] == "frozen"
    run.log({"phase": "done", "lr": 0.01})
    run.finish()
    final = read_json(run, "summary.json")
    assert final["phase"] == "done" and final["lr"] == 0.01


def test_values_of_every_supported_type(caplog):
    run = make_run(recorder_root())
    with caplog.at_level(logging.WARNING, logger="loupe"):
        run.log(
            {
                "i": 1,
                "f": 0.5,
                "b": True,
                "np_f": np.float32(1.5),
                "np_i": np.int64(7),
                "zero_d": np.array(2.5),
                "one_elem": np.array([3.5]),
                "big": 2**64,
                "nan": float("nan"),
                "inf": float("inf"),
                "ninf": float("-inf"),
                "text": "hello",
                "none": None,
                "bad": object(),
                "Loss": 1.0,
                "loss": 2.0,
            }
        )
        run.log({"i": 0.25, "bad": object()})  # int then float never truncates; warn once
    run.finish()
    rows = history(run)
    r0, r1 = rows
    assert r0["i"] == 1.0 and r1["i"] == 0.25
    assert r0["b"] == 1.0 and r0["np_f"] == 1.5 and r0["np_i"] == 7.0
    assert r0["zero_d"] == 2.5 and r0["one_elem"] == 3.5
    assert r0["big"] == float(2**64)
    assert math.isnan(r0["nan"]) and r0["inf"] == math.inf and r0["ninf"] == -math.inf
    assert "text" not in r0 and "none" not in r0 and "bad" not in r0
    # Keys that differ only by case stay apart even though DuckDB folds case.
    assert r0["Loss"] == 1.0 and r0["loss#2"] == 2.0
    assert read_json(run, "metrics.json")["columns"] == {"loss": "loss#2"}
    assert caplog.text.count("'bad'") == 1
    texts = duckdb.sql(
        "SELECT key, value, _step FROM read_parquet(?)", params=[os.path.join(run.dir, "text", "*.parquet")]
    ).fetchall()
    assert texts == [("text", "hello", 0)]
    assert run.summary["Loss"] == 1.0 and run.summary["loss"] == 2.0


def test_repeated_float_rows_keep_case_columns_and_nonfinite_values():
    # Rows of floats under known keys take log()'s shortcut; what is stored must not change.
    run = make_run(recorder_root())
    run.log({"Loss": 1.0, "loss": 2.0, "x": 0.5})
    run.log({"Loss": 3.0, "loss": 4.0, "x": float("nan")})
    run.log({"Loss": 5.0, "x": float("inf")})
    run.log({"x": float("-inf"), "Loss": float("nan")})
    run.log({"x": 7.0, "new": 8.0})
    run.finish()
    rows = history(run)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["loss#2"] for r in rows] == [2.0, 4.0, None, None, None]
    assert rows[2]["Loss"] == 5.0 and rows[2]["x"] == math.inf
    assert rows[3]["x"] == -math.inf and math.isnan(rows[3]["Loss"]) and math.isnan(rows[1]["x"])
    assert rows[4]["new"] == 8.0 and rows[4]["Loss"] is None
    assert run.summary["x"] == 7.0 and run.summary["loss"] == 4.0 and run.summary["new"] == 8.0


def test_repeated_number_rows_store_ints_and_bools_as_floats_in_step_order():
    # Known keys with ints and bools take the shortcut too; empty rows, commit=False and a
    # define_metric arriving mid-run leave it and come back without losing a step.
    run = make_run(recorder_root())
    run.log({"epoch": 0, "ok": False, "loss": 0.5})
    run.log({"epoch": 1, "ok": True, "loss": 0.25})
    run.log({})  # nothing to record: no step
    run.log({"epoch": 2**1100, "ok": True, "loss": 0.125})
    run.log({"epoch": 3, "loss": None})  # None is skipped, not a number
    run.log({"epoch": 4}, commit=False)
    run.log({"loss": 0.0625})
    run.define_metric("loss", summary="min")
    run.log({"epoch": 5, "ok": False, "loss": 1.0})
    run.finish()
    rows = history(run)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert [r["epoch"] for r in rows] == [0.0, 1.0, math.inf, 3.0, 4.0, 5.0]
    assert all(type(r["epoch"]) is float for r in rows)
    assert [r["ok"] for r in rows] == [0.0, 1.0, 1.0, None, None, 0.0]
    assert [r["loss"] for r in rows] == [0.5, 0.25, 0.125, None, 0.0625, 1.0]
    assert run.summary["epoch"] == 5.0 and run.summary["loss"] == {"min": 1.0}


def test_torch_scalars_need_no_item():
    torch = pytest.importorskip("torch")
    run = make_run(recorder_root())
    run.log({"loss": torch.tensor(0.25), "acc": torch.tensor([0.5])})
    run.finish()
    assert history(run)[0]["loss"] == 0.25 and history(run)[0]["acc"] == 0.5


def test_log_never_raises_into_training(caplog):
    run = make_run(recorder_root())

    class Exploding:
        def item(self):
            raise RuntimeError("boom")

    with caplog.at_level(logging.WARNING, logger="loupe"):
        run.log({"x": Exploding(), "ok": 1.0})
        run.log(None)
        run.log({"_step": 5, "run_id": 1.0, "ok": 2.0})
        run.log({"y": 1}, step="not a number")
    run.finish()
    assert [r["ok"] for r in history(run)] == [1.0, 2.0]
    run.log({"after": 1})  # after finish: warned, ignored


def test_config_api_and_persistence():
    ns = argparse.Namespace(lr=0.1, layers=3)
    run = make_run(recorder_root(), config=ns)
    assert run.config.lr == 0.1 and run.config["layers"] == 3
    run.config.update({"optimizer": {"name": "adam", "betas": [0.9, 0.99]}})
    assert read_json(run, "config.json")["optimizer"]["name"] == "adam"  # written on change
    run.config.dropout = 0.5
    run.config["seed"] = 1
    assert read_json(run, "config.json")["dropout"] == 0.5
    with pytest.raises(recorder.ConfigError, match="allow_val_change"):
        run.config.update({"lr": 0.2})
    run.config.update({"lr": 0.2}, allow_val_change=True)
    run.config.update({"lr": 0.2})  # same value: fine
    assert read_json(run, "config.json")["lr"] == 0.2
    assert "seed" in run.config and len(run.config) == 5
    with pytest.raises(AttributeError):
        run.config.missing
    run.finish()


def test_save_policies(tmp_path):
    src = tmp_path / "work"
    (src / "sub").mkdir(parents=True)
    (src / "model.txt").write_text("v1")
    (src / "sub" / "notes.md").write_text("n")
    run = make_run(recorder_root())
    run.save(str(src / "model.txt"), base_path=str(src), policy="live")
    run.save(str(src / "sub" / "*.md"), base_path=str(src), policy="now")
    run.save(str(src / "late.txt"), base_path=str(src), policy="end")
    files = Path(run.dir) / "files"
    assert (files / "model.txt").read_text() == "v1"
    assert (files / "sub" / "notes.md").read_text() == "n"
    (src / "late.txt").write_text("written later")
    time.sleep(0.01)
    (src / "model.txt").write_text("v2")
    run.finish()
    assert (files / "model.txt").read_text() == "v2"
    assert (files / "late.txt").read_text() == "written later"
    with pytest.raises(ValueError):
        make_run(recorder_root()).save("x", policy="sometimes")


def test_run_attributes():
    run = make_run(
        recorder_root(), project="proj", name="my-run", tags=["a", "b"], notes="n", group="g", job_type="train"
    )
    assert (run.name, run.project, run.tags, run.notes, run.group, run.job_type) == (
        "my-run",
        "proj",
        ("a", "b"),
        "n",
        "g",
        "train",
    )
    assert run.path == f"proj/{run.id}"
    assert run.url.startswith("file://") and run.url.endswith(run.id)
    assert Path(run.dir).is_dir()
    a, b = make_run(recorder_root()), make_run(recorder_root())
    assert a.id != b.id and sorted([a.id, b.id])[0][:8].isdigit()
    assert a.name and a.name != a.id
    meta = read_json(run, "run.json")
    for key in ("host", "user", "pid", "python", "argv", "cwd", "created_at", "heartbeat_at"):
        assert key in meta
    assert meta["tags"] == ["a", "b"] and meta["state"] == "running"
    for r in (run, a, b):
        r.finish()
