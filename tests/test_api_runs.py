"""`recorder.Api().runs()` filters and order, run attributes and files, as wandb's public API."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from conftest import make_run
from crash_harness import kill_once

import recorder
from recorder.run_filters import MISSING, FilterError, lookup, matches


@pytest.fixture
def three_runs(runs_root):
    made = []
    for lr, acc, tags, name in (
        (1e-4, 0.70, ["baseline"], "small-lr"),
        (1e-3, 0.91, ["sweep", "keep"], "mid-lr"),
        (1e-2, None, ["sweep"], "big-lr"),
    ):
        run = make_run(runs_root, project="envproj", name=name, tags=tags, config={"lr": lr, "opt": {"name": "adam"}})
        run.log({"train/loss": 1.0})
        if acc is not None:
            run.log({"val/acc": acc})
        run.finish(exit_code=0 if acc is not None else 1)
        made.append(run)
    return made


def names(runs) -> list[str]:
    return [r.name for r in runs]


def test_filters_in_wandbs_mongodb_subset(three_runs, runs_root):
    api = recorder.Api(runs_root)
    assert names(api.runs("envproj", filters={"config.lr": {"$gt": 1e-3}})) == ["big-lr"]
    assert names(api.runs("envproj", filters={"config.lr": {"$gte": 1e-3, "$lt": 1e-2}})) == ["mid-lr"]
    assert names(api.runs("envproj", filters={"config.lr.value": 1e-4})) == ["small-lr"]  # wandb's stored form
    assert names(api.runs("envproj", filters={"config.opt.name": "adam", "tags": "keep"})) == ["mid-lr"]
    assert names(api.runs("envproj", filters={"tags": {"$in": ["baseline", "keep"]}})) == ["small-lr", "mid-lr"]
    assert names(api.runs("envproj", filters={"tags": {"$nin": ["sweep"]}})) == ["small-lr"]
    assert names(api.runs("envproj", filters={"state": "failed"})) == ["big-lr"]
    assert names(api.runs("envproj", filters={"display_name": {"$regex": "^s"}})) == ["small-lr"]
    assert names(
        api.runs("envproj", filters={"$or": [{"summary_metrics.val/acc": {"$gt": 0.9}}, {"state": "failed"}]})
    ) == ["mid-lr", "big-lr"]
    assert names(
        api.runs("envproj", filters={"$and": [{"tags": "sweep"}, {"summary_metrics.val/acc": {"$exists": True}}]})
    ) == ["mid-lr"]
    assert names(api.runs("envproj", filters={"name": three_runs[0].id})) == ["small-lr"]  # wandb: name is the id
    assert names(api.runs("envproj", filters={"created_at": {"$gt": dt.datetime(2000, 1, 1)}})) == names(three_runs)
    assert api.runs("envproj", filters={"created_at": {"$lt": "2000-01-01T00:00:00Z"}}) == []
    assert api.runs("envproj", filters={"config.lr": "0.001"}) == []  # a string never equals a number


def test_order_puts_runs_without_the_field_last(three_runs, runs_root):
    api = recorder.Api(runs_root)
    assert names(api.runs("envproj", order="-summary_metrics.val/acc")) == ["mid-lr", "small-lr", "big-lr"]
    assert names(api.runs("envproj", order="+summary_metrics.val/acc")) == ["small-lr", "mid-lr", "big-lr"]
    assert names(api.runs("envproj", order="-config.lr")) == ["big-lr", "mid-lr", "small-lr"]
    assert names(api.runs("local/envproj")) == ["small-lr", "mid-lr", "big-lr"]  # +created_at by default
    assert names(api.runs("envproj", order="-created_at")) == ["big-lr", "mid-lr", "small-lr"]


def test_bad_filters_and_paths_say_what_is_wrong(three_runs, runs_root):
    api = recorder.Api(runs_root)
    with pytest.raises(FilterError, match=r"\$near"):
        api.runs("envproj", filters={"config.lr": {"$near": 1}})
    with pytest.raises(FilterError, match=r"\$in takes a list"):
        api.runs("envproj", filters={"tags": {"$in": "sweep"}})
    with pytest.raises(FilterError, match="dict"):
        api.runs("envproj", filters="config.lr > 0")
    with pytest.raises(ValueError, match=r"no project 'nope'.*envproj"):
        api.runs("nope")
    with pytest.raises(ValueError, match="project name"):
        api.runs("bad name")


def test_matches_and_lookup_without_disk():
    fields = {"tags": ["a", "b"], "config.x": 3, "state": "running"}.get
    assert matches({"tags": ["a", "b"]}, fields) and matches({"tags": {"$all": ["b", "a"]}}, fields)
    assert matches({"tags": {"$size": 2}}, fields) and not matches({"tags": {"$size": 1}}, fields)
    assert matches({"config.x": {"$not": {"$gt": 5}}}, fields)
    assert matches({"$nor": [{"state": "finished"}]}, fields) and not matches({"$nor": [{"state": "running"}]}, fields)
    assert matches({"config.x": {"$ne": True}}, fields)  # True is not the number 1
    summary = {"val/acc": 0.9, "loss": {"min": 0.1}, "a.b": 1}
    assert lookup(summary, "val/acc") == 0.9 and lookup(summary, "loss.min") == 0.1 and lookup(summary, "a.b") == 1
    assert lookup(summary, "loss.max") is MISSING


def test_run_attributes_and_paths(three_runs, runs_root):
    api = recorder.Api(runs_root)
    run = api.run(f"envproj/{three_runs[1].id}")
    assert run.name == run.display_name == "mid-lr"
    assert run.state == "finished" and api.run(f"envproj/{three_runs[2].id}").state == "failed"
    assert run.tags == ["sweep", "keep"] and run.config["opt"] == {"name": "adam"}
    assert run.summary["val/acc"] == 0.91 and run.summary_metrics["val/acc"] == 0.91
    assert run.created_at.endswith("Z") and run.path == ["local", "envproj", run.id]
    assert api.run("/".join(run.path)).id == run.id
    assert api.run(f"local/envproj/runs/{run.id}").id == run.id  # the run page's URL path
    assert run.url.startswith("file://") and run.lastHistoryStep == 1
    with pytest.raises(LookupError, match="no run"):
        api.run("envproj/missing")


def test_a_killed_run_reads_as_crashed(tmp_path):
    result = kill_once(tmp_path, delay=0.05)
    run = recorder.Api(result["run_dir"].parents[1]).runs("crash", filters={"state": "crashed"})
    assert [r.id for r in run] == ["victim"] and "gone" in run[0].state_reason


def test_files_list_download_and_refuse_to_clobber(runs_root, tmp_path):
    src = tmp_path / "ckpt"
    src.mkdir()
    (src / "model.pt").write_bytes(b"weights")
    (src / "output.log").write_text("a saved file whose name the run also uses")
    run = make_run(runs_root, capture_console=True)
    print("hello from training")
    run.save(str(src / "*"), base_path=str(src), policy="now")
    os.symlink("/etc/passwd", Path(run.dir) / "files" / "escape")
    run.finish()
    api_run = recorder.Api(runs_root).run(f"p/{run.id}")
    listed = {f.name: f for f in api_run.files()}
    assert {"model.pt", "files/output.log", "output.log", "run.json", "config.json", "summary.json"} <= set(listed)
    assert "escape" not in listed and not any(n.startswith("history/") for n in listed)
    assert listed["model.pt"].size == 7
    assert [f.name for f in api_run.files(names=["model.pt"])] == ["model.pt"]
    assert {f.name for f in api_run.files(pattern="%.json")} >= {"run.json", "config.json"}
    out = tmp_path / "out"
    with api_run.file("model.pt").download(root=out) as fh:
        assert fh.name == str(out / "model.pt")
    assert (out / "model.pt").read_bytes() == b"weights"
    (out / "model.pt").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="replace=True"):
        api_run.file("model.pt").download(root=out)
    api_run.file("model.pt").download(root=out, exist_ok=True).close()
    assert (out / "model.pt").read_bytes() == b"mine"
    api_run.file("files/model.pt").download(root=out, replace=True).close()
    assert (out / "model.pt").read_bytes() == b"weights"
    assert "hello from training" in api_run.file("output.log").download(root=out / "logs").read()
    with pytest.raises(FileNotFoundError, match="no file"):
        api_run.file("nope.txt")


def test_log_use_and_link_model_on_the_run_and_the_module(runs_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # use_model downloads under ./artifacts, as wandb
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"v1")
    run = make_run(runs_root)
    art = recorder.log_model(weights)
    assert art.type == "model" and art.name == f"run-{run.id}-model.pt:v0"
    assert run.log_model(weights, name="mlp", aliases=["best"]).name == "mlp:v0"
    weights.write_bytes(b"v2")
    linked = run.link_model(weights, "digits-classifier", name="mlp", aliases=["production"])
    assert linked.name == "digits-classifier:v0" and linked.source_name == "mlp:v1"
    folder = tmp_path / "dir-model"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"a")
    (folder / "b.bin").write_bytes(b"b")
    run.link_model(folder, "digits-classifier", name="mlp")
    run.finish()

    consumer = make_run(runs_root)
    path = consumer.use_model("mlp:best")
    assert Path(path).read_bytes() == b"v1"  # one file: its own path, as wandb returns
    assert Path(path).resolve().parent.parent == tmp_path.resolve() / "artifacts"
    assert Path(recorder.use_model("model-registry/digits-classifier:production")).read_bytes() == b"v2"
    assert sorted(os.listdir(consumer.use_model("model-registry/digits-classifier:latest"))) == ["a.bin", "b.bin"]
    data = tmp_path / "data.csv"
    data.write_text("x\n")
    consumer.log_artifact(data, name="table", type="dataset")
    with pytest.raises(AssertionError, match="dataset"):
        consumer.use_model("table:latest")
    with pytest.raises(ValueError, match="plain name"):
        consumer.link_model(weights, "team/registry/name")
    with pytest.raises(ValueError, match="plain name"):
        consumer.log_model(weights, name="proj/mlp")
    with pytest.raises(ValueError, match="type 'dataset'"):
        consumer.log_model(data, name="table")
    consumer.finish()

    api = recorder.Api(runs_root)
    assert [a.name for a in api.run(f"p/{run.id}").logged_artifacts()] == [
        f"run-{run.id}-model.pt:v0",
        "mlp:v0",
        "mlp:v1",
        "mlp:v2",
    ]
    assert [a.name for a in api.run(f"p/{consumer.id}").used_artifacts()] == ["mlp:v0", "mlp:v1", "mlp:v2"]
    assert [a.version for a in api.artifacts("model", "model-registry/digits-classifier")] == ["v0", "v1"]
    with pytest.raises(recorder.Error, match="init"):
        recorder.log_model(weights)


def test_module_and_run_have_the_model_registry_shortcuts():
    for name in ("log_model", "use_model", "link_model"):
        assert callable(getattr(recorder, name)) and callable(getattr(recorder.Run, name))


def test_config_json_and_run_json_are_read_once_per_load(three_runs, runs_root):
    run = recorder.Api(runs_root).run(f"envproj/{three_runs[0].id}")
    cfg = Path(run.dir) / "config.json"
    cfg.write_text(json.dumps({"lr": 5.0}))
    assert run.config["lr"] == 1e-4  # read when the object was made, as wandb's
    run.load()
    assert run.config == {"lr": 5.0}


def test_odd_run_json_values_read_as_absent(tmp_path):
    run_dir = tmp_path / "runs" / "p" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"state": "finished", "name": 7, "tags": "abc", "notes": None}))
    (run_dir / "summary.json").write_text("[1, 2]")
    run = recorder.Api(tmp_path / "runs").run("p/r1")
    assert (run.name, run.tags, run.notes, run.summary, run.config) == ("r1", [], None, {}, {})
    assert recorder.Api(tmp_path / "runs").runs("p", filters={"tags": {"$size": 0}})[0].id == "r1"
