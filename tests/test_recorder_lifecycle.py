"""The run's life around log(): failures, exit, disabled mode, the environment, resume,
reinit, the module-level API, ids, import cost, and readers over covered parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_run, recorder_root
from run_reading import history, read_json, read_stream

import recorder
from recorder import layout


def test_context_manager_marks_exception_as_failed():
    with pytest.raises(ZeroDivisionError), make_run(recorder_root()) as run:
        run.log({"x": 1})
        1 / 0
    meta = read_json(run, "run.json")
    assert meta["state"] == "failed" and meta["exit_code"] == 1
    assert meta["error"]["type"] == "ZeroDivisionError"
    assert "1 / 0" in meta["error"]["traceback"]
    assert history(run)[0]["x"] == 1.0


def run_script(code: str, root: Path, **env) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "LOUPE_DIR": str(root), **env}
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=60)


def only_run(root: Path) -> Path:
    (run_dir,) = [p.parent for p in root.glob("*/*/run.json")]
    return run_dir


def test_uncaught_exception_and_interpreter_exit(runs_root):
    res = run_script(
        "import recorder\nrecorder.init(project='x')\nrecorder.log({'a': 1})\nraise KeyError('lost')\n",
        runs_root / "failed",
    )
    assert res.returncode == 1
    meta = json.loads((only_run(runs_root / "failed") / "run.json").read_text())
    assert meta["state"] == "failed" and meta["error"]["type"] == "KeyError"
    res = run_script("import recorder\nrecorder.init(project='x')\nrecorder.log({'a': 1})\n", runs_root / "ok")
    assert res.returncode == 0, res.stderr
    run_dir = only_run(runs_root / "ok")
    assert json.loads((run_dir / "run.json").read_text())["state"] == "finished"
    assert read_stream(run_dir)[0]["a"] == 1.0


@pytest.mark.parametrize("how", [{"mode": "disabled"}, {"env": "LOUPE_MODE"}, {"env": "WANDB_MODE"}])
def test_disabled_mode_writes_nothing(how, monkeypatch, runs_root):
    if "env" in how:
        monkeypatch.setenv(how["env"], "disabled")
    run = recorder.init(project="p", mode=how.get("mode"), config={"lr": 1})
    run.log({"x": 1})
    run.define_metric("*", step_metric="s")
    run.summary["k"] = 1
    assert run.config.lr == 1 and run.summary["k"] == 1
    run.save("*.py")
    run.finish()
    assert not runs_root.exists()


def test_environment_sets_root_and_project(monkeypatch, tmp_path):
    monkeypatch.setenv("LOUPE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LOUPE_PROJECT", "envproj")
    run = recorder.init()
    run.finish()
    assert Path(run.dir).parent == tmp_path / "elsewhere" / "envproj"


def test_resume_continues_steps_config_and_summary():
    run = make_run(recorder_root(), id="resumable", config={"lr": 1})
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    run.finish()
    with pytest.raises(ValueError, match="already exists"):
        make_run(recorder_root(), id="resumable")
    with pytest.raises(ValueError, match="resume='must'"):
        make_run(recorder_root(), id="nope", resume="must")
    again = make_run(recorder_root(), id="resumable", resume="allow")
    assert again.config.lr == 1 and again.name == run.name
    again.log({"loss": 0.25})
    assert again.summary["loss"] == 0.25
    again.finish()
    assert [r["_step"] for r in read_stream(Path(run.dir))] == [0, 1, 2]
    assert read_json(again, "run.json")["resumed"] is True


def test_reinit_policies():
    first = recorder.init(project="p")
    assert recorder.init(project="p") is first  # like wandb in a script
    second = recorder.init(project="p", reinit=True)
    assert second is not first and first._finished
    third = recorder.init(project="p", reinit="create_new")
    assert recorder.run is third and not second._finished
    third.finish()
    assert recorder.run is second
    second.finish()
    assert recorder.run is None


def test_module_level_api_acts_on_current_run():
    with pytest.raises(recorder.Error, match="init"):
        recorder.log({"x": 1})
    run = recorder.init(project="p", config={"a": 1})
    assert recorder.run is run and recorder.config.a == 1
    recorder.define_metric("x", summary="max")
    recorder.log({"x": 3.0})
    recorder.log({"x": 1.0})
    assert recorder.summary["x"] == {"max": 3.0}
    recorder.finish()
    assert recorder.run is None


def test_invalid_ids_and_projects_are_refused():
    for bad in ("../escape", "a/b", ".", "x" * 200, "bad\nname"):
        with pytest.raises(ValueError):
            make_run(recorder_root(), id=bad)
    with pytest.raises(ValueError):
        make_run(recorder_root(), project="../up")


def test_import_is_fast_and_light():
    code = (
        # CPU time, not wall time: a loaded CI machine must not make this flaky.
        "import time, sys\nt=time.process_time()\nimport recorder\nd=time.process_time()-t\n"
        "bad=[m for m in ('textual','duckdb','pyarrow','numpy','torch') if m in sys.modules]\nprint(d, bad)"
    )
    best = min(
        float(
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[0]
        )
        for _ in range(3)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
    assert best < 0.150, f"import recorder took {best * 1000:.0f} ms"


def test_readers_skip_covered_parts_and_journals(tmp_path):
    d = tmp_path / "history"
    d.mkdir()
    for name in (
        "part-aaaa0000-00000000-00000000.parquet",
        "part-aaaa0000-00000001-00000001.parquet",
        "part-aaaa0000-00000000-00000001.parquet",
        "part-bbbb0000-00000000-00000000.parquet",
        "journal-aaaa0000-00000001.jsonl",
        "journal-aaaa0000-00000002.jsonl",
        "journal-bbbb0000-00000001.jsonl",
        ".tmp-part-aaaa0000-00000003-00000003.parquet.1",
    ):
        (d / name).write_bytes(b"")
    files = layout.live_stream_files(d)
    assert [p.name for p in files.parts] == [
        "part-aaaa0000-00000000-00000001.parquet",
        "part-bbbb0000-00000000-00000000.parquet",
    ]
    assert [p.name for p in files.journals] == ["journal-aaaa0000-00000002.jsonl", "journal-bbbb0000-00000001.jsonl"]
