"""Nothing Loupe does opens a network connection: training with system metrics, every pane.

Connections to anything but a Unix socket fail the test: in the training process through
a sitecustomize that records and refuses them, in the viewer by patching socket here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_helpers import settle

import recorder
from viewer.tui.app import LoupeApp

GUARD = """
import socket, os
_log = os.environ["LOUPE_NET_LOG"]
def _refuse(kind):
    def refuse(*args, **kwargs):
        with open(_log, "a") as f:
            f.write(f"{kind} {args[1:] if kind == 'connect' else args}\\n")
        raise OSError("network access is forbidden in this test")
    return refuse
_real_connect = socket.socket.connect
def connect(self, address, *a):
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address, *a)
    return _refuse("connect")(self, address)
socket.socket.connect = connect
socket.socket.connect_ex = lambda self, address: connect(self, address)
socket.getaddrinfo = _refuse("getaddrinfo")
socket.create_connection = _refuse("create_connection")
"""

TRAIN = """
import recorder, sys, time
run = recorder.init(dir=sys.argv[1], project="net", config={"lr": 0.1}, system_interval=0.1)
for i in range(30):
    run.log({"loss": 1 / (i + 1)})
    print("step", i)
    time.sleep(0.01)
run.save(__file__)
run.finish()
"""


def test_training_script_makes_no_connection(tmp_path):
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    log = tmp_path / "net.log"
    env = {
        **os.environ,
        "LOUPE_NET_LOG": str(log),
        "LOUPE_CONSOLE": "on",
        "PYTHONPATH": os.pathsep.join([str(guard_dir), str(Path(recorder.__file__).parents[1])]),
    }
    res = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs")], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert not log.exists(), log.read_text()
    run_dir = next((tmp_path / "runs" / "net").iterdir())
    assert (run_dir / "output.log").read_text().count(" O step ") == 30
    assert any((run_dir / "system").iterdir())


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(self, address, *args):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address, *args)
        attempts.append(f"connect {address}")
        raise OSError("network access is forbidden in this test")

    def refuse(name):
        def f(*args, **kwargs):
            attempts.append(f"{name} {args}")
            raise OSError("network access is forbidden in this test")

        return f

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, a: connect(self, a))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    return attempts


async def test_viewer_visits_every_pane_without_network(tmp_path, no_network):
    run = recorder.init(
        dir=tmp_path / "runs",
        project="net",
        config={"lr": 0.1},
        system_interval=0,
        capture_console=False,
        reinit="create_new",
    )
    for i in range(20):
        run.log({"loss": 1 / (i + 1)})
    run.finish()
    (Path(run.dir) / "output.log").write_text("2026-01-01T00:00:00.000Z O hello\n")
    app = LoupeApp([tmp_path / "runs"], live=True, poll=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ["1", "2", "3", "4", "5", "6", "question_mark", "escape"]:
            await pilot.press(key)
            await settle(pilot)
        app.action_tab("sql")
        await settle(pilot)
        sql_inputs = [w for w in app.query(Input) if w.id and "sql" in w.id]
        if sql_inputs:
            sql_inputs[0].value = "SELECT count(*) FROM history"
            sql_inputs[0].focus()
            await pilot.press("enter")
            await settle(pilot)
        assert app.is_running
    assert no_network == []
