"""Sweep agents across processes: the CLI (create, ls, show, agent with subprocess
trials), three agent processes sharing a grid, and an agent killed mid-trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import recorder

optuna = pytest.importorskip("optuna")

from sweep_helpers import read_runs, study_trials

from viewer.cli import sweep_commands as sweep_cli
from viewer.data import sweep_index


def test_cli_create_ls_show_and_agent_subprocess(runs_root, tmp_path, capsys):
    cfg = tmp_path / "sweep.yaml"
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        import sys, recorder
        run = recorder.init(config={"epochs": 3})
        # the parameters arrive both in the config and as --key=value arguments, like wandb agent
        assert any(a.startswith("--lr=") for a in sys.argv), sys.argv
        for i in range(recorder.config.epochs):
            recorder.log({"loss": recorder.config.lr * (i + 1) + recorder.config.opt["m"]})
        if recorder.config.opt["m"] == 1:
            raise SystemExit(3)
    """)
    )
    cfg.write_text(
        textwrap.dedent(f"""
        method: grid
        program: {script}
        metric: {{name: loss, goal: minimize}}
        parameters:
          lr: {{values: [0.1, 0.2]}}
          opt:
            parameters:
              m: {{values: [0, 1]}}
    """)
    )
    assert sweep_cli.main(["create", str(cfg), "--project", "cli", "--root", str(runs_root)]) == 0
    sid = capsys.readouterr().out.strip()
    assert sweep_cli.main(["agent", sid, "--root", str(runs_root), "--count", "3"]) == 0
    assert sweep_cli.main(["agent", f"cli/{sid}", "--", sys.executable, str(script)]) == 0
    runs = read_runs(runs_root, "cli")
    assert len(runs) == 4
    assert sorted((r["config"]["lr"], r["config"]["opt"]["m"]) for r in runs.values()) == [
        (0.1, 0),
        (0.1, 1),
        (0.2, 0),
        (0.2, 1),
    ]
    assert all(r["config"]["epochs"] == 3 and r["run"]["sweep_id"] == sid for r in runs.values())
    capsys.readouterr()
    assert sweep_cli.main(["ls", "--root", str(runs_root)]) == 0
    out = capsys.readouterr().out
    assert sid in out and "grid" in out
    assert sweep_cli.main(["show", sid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [t["state"] for t in shown["trials"]] == ["finished", "finished", "failed", "failed"]
    assert shown["trials"][0]["value"] == pytest.approx(0.3)  # 0.1 * 3, best first
    assert sweep_cli.main(["show", sid, "--importance"]) == 0
    text = capsys.readouterr().out
    assert "best: trial" in text and "opt.m" in text


def test_cli_refuses_bad_config_with_the_field(tmp_path, capsys):
    cfg = tmp_path / "bad.json"
    cfg.write_text(
        json.dumps({"method": "grid", "parameters": {"lr": {"distribution": "uniform", "min": 0, "max": 1}}})
    )
    assert sweep_cli.main(["create", str(cfg)]) == 2
    assert "parameters.lr" in capsys.readouterr().err


AGENT_CHILD = textwrap.dedent("""
    import os, sys, time
    import recorder

    sid, marker = sys.argv[1], sys.argv[2]

    def train():
        run = recorder.init()
        if os.environ.get("HANG_AT") == str(run.config.x):
            open(marker, "w").write(run.id)
            time.sleep(120)
        time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
        run.log({"loss": float(run.config.x)})

    recorder.agent(sid, function=train, quiet=True)
""")


@pytest.mark.slow
def test_grid_exhausted_once_across_three_agent_processes(runs_root, tmp_path):
    sid = recorder.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {"x": {"values": list(range(6))}, "y": {"values": ["a", "b", "c"]}},
        },
        project="p",
    )
    child = tmp_path / "agent_child.py"
    child.write_text(AGENT_CHILD)
    env = dict(os.environ, TRIAL_SLEEP="0.02")
    procs = [subprocess.Popen([sys.executable, str(child), sid, str(tmp_path / "m")], env=env) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    trials = study_trials(runs_root, "p", sid)
    assert len(trials) == 18 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    combos = [(t.user_attrs["loupe"]["config"]["x"], t.user_attrs["loupe"]["config"]["y"]) for t in trials]
    assert sorted(combos) == sorted((x, y) for x in range(6) for y in "abc")  # each point exactly once
    agents = {t.user_attrs["loupe"]["agent"] for t in trials}
    assert len(agents) >= 2  # the work really was shared
    assert len(read_runs(runs_root, "p")) == 18


def test_killed_agent_leaves_a_crashed_trial_and_a_usable_sweep(runs_root, tmp_path):
    sid = recorder.sweep(
        {"method": "grid", "metric": {"name": "loss"}, "parameters": {"x": {"values": [1, 2, 3]}}}, project="p"
    )
    child = tmp_path / "agent_child.py"
    child.write_text(AGENT_CHILD)
    marker = tmp_path / "hung"
    proc = subprocess.Popen([sys.executable, str(child), sid, str(marker)], env=dict(os.environ, HANG_AT="2"))
    deadline = time.time() + 30
    while not marker.exists() or not marker.read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    hung_run = marker.read_text()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert {t.number: t.state for t in sweep.trials}[1] == "crashed"  # shown crashed before any reaping

    def train():
        run = recorder.init()
        run.log({"loss": float(run.config.x)})

    results = recorder.agent(sid, function=train)
    assert sorted(r.params["x"] for r in results) == [2, 3]  # the dead agent's grid point is run again
    trials = study_trials(runs_root, "p", sid)
    by_number = {t.number: t for t in trials}
    assert by_number[1].state == optuna.trial.TrialState.FAIL and by_number[1].user_attrs["outcome"] == "crashed"
    assert by_number[1].user_attrs["loupe"]["run_id"] == hung_run
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 3
    # the killed trial's run is left as the recorder wrote it: running, which readers decide is crashed
    assert json.loads((runs_root / "p" / hung_run / "run.json").read_text())["state"] == "running"
    from viewer.data.run_state import decide_state

    assert decide_state(json.loads((runs_root / "p" / hung_run / "run.json").read_text())).state == "crashed"
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert sorted(t.state for t in sweep.trials) == ["crashed", "finished", "finished", "finished"]


@pytest.mark.slow
def test_cli_agent_early_terminates_a_subprocess_trial(runs_root, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        import recorder
        run = recorder.init()
        for i in range(10):
            try:
                recorder.log({"loss": recorder.config.q + 1.0 / (i + 1)})
            except Exception:
                pass
        print("done", flush=True)
    """)
    )
    sid = recorder.sweep(
        {
            "method": "grid",
            "program": str(script),
            "metric": {"name": "loss"},
            "parameters": {"q": {"values": [1, 5, 0.5]}},
            "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
        },
        project="p",
    )
    assert sweep_cli.main(["agent", sid]) == 0
    sweep = sweep_index.load_sweep(sweep_index.find_sweep([runs_root], sid))
    assert [t.state for t in sweep.trials] == ["finished", "early_terminated", "finished"]
    runs = {r["config"]["q"]: r for r in read_runs(runs_root, "p").values()}
    assert runs[5]["run"]["early_terminated"] is True and runs[5]["run"]["state"] == "finished"
    assert runs[5]["summary"]["_step"] == 0 and runs[1]["summary"]["_step"] == 9
    assert [n for n, _, _ in sweep.best_so_far()] == [0, 2]  # trial 2 (q=0.5) improved on trial 0
