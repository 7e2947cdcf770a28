"""Shared fixtures: every test writes runs into its own temporary root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import recorder
from recorder import _active, warn


@pytest.fixture(autouse=True)
def _isolated_recorder(monkeypatch, tmp_path):
    # No test may write ./runs, inherit a user's LOUPE_* or WANDB_* switches, or leave
    # an active run behind for the next test.
    for var in list(os.environ):
        if var.startswith(("LOUPE_", "WANDB_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOUPE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("LOUPE_SYSTEM_INTERVAL", "0")
    monkeypatch.setenv("LOUPE_CONSOLE", "off")
    warn.reset()
    yield
    for run in list(_active._runs):
        try:
            run.finish()
        except Exception:
            pass


@pytest.fixture
def runs_root(tmp_path) -> Path:
    return tmp_path / "runs"


def recorder_root() -> Path:
    """The root the autouse fixture points LOUPE_DIR at for this test."""
    return Path(os.environ["LOUPE_DIR"])


def make_run(root: Path, project: str = "p", **kwargs):
    """A real run made by the recorder (console capture and system sampling off)."""
    kwargs.setdefault("system_interval", 0)
    kwargs.setdefault("capture_console", False)
    return recorder.init(dir=root, project=project, reinit="create_new", **kwargs)
