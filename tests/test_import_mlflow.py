"""`import_mlflow` on a file store made by MLflow itself, compared with what MLflow reads back from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from import_sources import tool_env

pytest.importorskip("mlflow")

from recorder import layout
from recorder.atomic_json import read_json
from recorder.importers import import_mlflow
from recorder.importers.mlflow_run import param_value
from viewer.data.store import Store

MLFLOW_SCRIPT = r"""
import json, sys
import mlflow
from mlflow.tracking import MlflowClient

root = sys.argv[1]
mlflow.set_tracking_uri("file://" + root)
mlflow.set_experiment("exp-a")
with mlflow.start_run(run_name="parent", description="the parent run"):
    mlflow.log_params({"lr": 0.01, "layers": 3, "opt": "adam", "flag": True, "sched": "1e-3x"})
    mlflow.set_tags({"team": "vision", "empty": ""})
    for s in range(10):
        mlflow.log_metrics({"loss": 1 / (s + 1), "acc": s / 10}, step=s)
    mlflow.log_metric("loss", 99.0, step=5)  # a second value at step 5
    mlflow.log_metric("sparse", 7.5, step=20)
    mlflow.log_metric("system/cpu_utilization_percentage", 12.5, step=0)
    mlflow.log_text("hello", "notes/a.txt")
    with mlflow.start_run(run_name="child", nested=True):
        mlflow.log_metric("x", 1.0, step=0)
b = mlflow.set_experiment("exp-b")
try:
    with mlflow.start_run(run_name="boom"):
        mlflow.log_metric("y", 2.0)
        raise RuntimeError("boom")
except RuntimeError:
    pass
client = MlflowClient()
left = client.create_run(b.experiment_id, run_name="left-running")
client.log_metric(left.info.run_id, "z", 3.0, step=1)
killed = client.create_run(b.experiment_id, run_name="killed")
client.set_terminated(killed.info.run_id, "KILLED")
# What MLflow itself reads back from the store.
out = {}
for exp in client.search_experiments():
    for run in client.search_runs([exp.experiment_id]):
        info = run.info
        out[info.run_id] = {
            "experiment": exp.name, "name": info.run_name, "status": info.status,
            "start": info.start_time, "end": info.end_time,
            "params": run.data.params, "tags": run.data.tags,
            "metrics": {k: [(m.step, m.timestamp, m.value) for m in client.get_metric_history(info.run_id, k)]
                        for k in run.data.metrics},
        }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("mlflow-source")
    script = tmp / "make_store.py"
    script.write_text(MLFLOW_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp / "mlruns")],
        env=tool_env(tmp),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return tmp / "mlruns", json.loads(out.stdout.strip().splitlines()[-1])


def by_name(root: Path) -> dict[str, Path]:
    return {read_json(p / layout.RUN_FILE)["name"]: p for p in root.glob("*/*") if layout.is_run_dir(p)}


def test_runs_params_metrics_tags_and_states_as_mlflow_reads_them(store, tmp_path):
    mlruns, wrote = store
    report = import_mlflow([mlruns], root=tmp_path / "runs")
    assert not report.failed and len(report.imported) == len(wrote) == 5
    runs = by_name(tmp_path / "runs")
    loupe = Store([tmp_path / "runs"])
    states = {r.name: r.state for r in loupe.runs()}
    assert states == {
        "parent": "finished",
        "child": "finished",
        "boom": "failed",
        "killed": "failed",
        "left-running": "crashed",
    }
    for run_id, w in wrote.items():
        run_dir = runs[w["name"]]
        meta = read_json(run_dir / layout.RUN_FILE)
        assert run_dir.parent.name == w["experiment"] and meta["source"]["id"] == run_id
        assert meta["created_at"].startswith(_iso(w["start"]))
        # Params come back as MLflow kept them (text), numbers as numbers.
        config = read_json(run_dir / layout.CONFIG_FILE)
        assert {k: str(v) if not isinstance(v, str) else v for k, v in config.items()} == w["params"]
        assert meta["tags"] == sorted(
            f"{k}={v}" if v else k for k, v in w["tags"].items() if not k.startswith("mlflow.")
        )
        rows = {r["_step"]: r for r in loupe.history(meta["id"]).to_pylist()}
        for key, points in w["metrics"].items():
            if key.startswith("system/"):
                continue
            last: dict[int, tuple[int, float]] = {}
            for step, ts, value in points:
                if step not in last or ts >= last[step][0]:
                    last[step] = (ts, value)
            assert {s: rows[s][key] for s in last} == {s: v for s, (_, v) in last.items()}
    parent = read_json(runs["parent"] / layout.RUN_FILE)
    assert parent["notes"] == "the parent run" and parent["user"]
    child = read_json(runs["child"] / layout.RUN_FILE)
    parent_id = next(i for i, w in wrote.items() if w["name"] == "parent")
    assert child["group"] == parent_id
    history = {r["_step"]: r for r in loupe.history(parent["id"]).to_pylist()}
    assert history[5]["loss"] == 99.0 and history[20]["sparse"] == 7.5 and sorted(history) == [*range(10), 20]
    assert read_json(runs["parent"] / layout.SUMMARY_FILE)["loss"] == 0.1  # the value at the last step
    (system,) = loupe.system(parent["id"]).to_pylist()
    assert system["cpu.percent"] == 12.5
    # Artifacts only on request.
    assert not (runs["parent"] / "files" / "notes").exists()


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_artifacts_project_and_reimport(store, tmp_path):
    mlruns, _ = store
    root = tmp_path / "runs"
    report = import_mlflow([mlruns], root=root, project="all", artifacts=True)
    runs = by_name(root)
    assert {p.parent.name for p in runs.values()} == {"all"}
    assert (runs["parent"] / "files" / "notes" / "a.txt").read_text() == "hello"
    again = import_mlflow([mlruns], root=root, project="all", artifacts=True)
    assert {o.status for o in again.outcomes} == {"unchanged"}
    # Asking for artifacts changes what an import holds: the runs are imported again, not duplicated.
    without = import_mlflow([mlruns], root=root, project="all")
    assert {o.status for o in without.outcomes} == {"updated"}
    assert len(list((root / "all").iterdir())) == len(report.outcomes)


def test_not_a_store_and_empty_store(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    empty = tmp_path / "empty-store" / "0"
    empty.mkdir(parents=True)
    (empty / "meta.yaml").write_text(
        "artifact_location: file:///nowhere\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n"
    )
    report = import_mlflow([tmp_path / "plain", tmp_path / "empty-store", tmp_path / "missing"], root=tmp_path / "runs")
    assert {Path(o.source).name: o.reason for o in report.failed} == {
        "plain": "not an MLflow file store (no experiment with a meta.yaml)",
        "empty-store": "no runs in this MLflow store",
        "missing": "no such folder",
    }
    # Reading never turned the plain folder into a store.
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["notes.txt"]


def test_param_values():
    assert [param_value(v) for v in ("3", "-2", "0.01", "1e-3", ".5", "adam", "True", "nan", "1e-3x", "")] == [
        3,
        -2,
        0.01,
        1e-3,
        0.5,
        "adam",
        "True",
        "nan",
        "1e-3x",
        "",
    ]
