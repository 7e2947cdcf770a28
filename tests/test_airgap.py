"""docs/airgap.md works: a wheelhouse from `pip wheel .` installs with --no-index and runs."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheelhouse_is_complete(tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(wheelhouse), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    env_dir = tmp_path / "airgapped"
    venv.create(env_dir, with_pip=True)
    # Nothing from a checkout on PYTHONPATH: pip would take it for an installed loupe (and
    # skip the install), and the checks below would import the checkout, not the wheel.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    py = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheelhouse), "loupe"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    code = (
        "import recorder, viewer.tui.app, viewer.data.store, pathlib; "
        "sheets = viewer.tui.app.LoupeApp.CSS_PATH; "
        "assert len(sheets) > 1 and all(pathlib.Path(p).is_file() for p in sheets), sheets; print('ok')"
    )
    check = subprocess.run([str(py), "-c", code], env=clean, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert check.stdout.strip() == "ok", check.stderr[-3000:]
    ls = subprocess.run(
        [str(env_dir / "bin" / "loupe"), "ls", str(REPO / "sample_runs")],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert ls.returncode == 0 and "sweep-00" in ls.stdout, ls.stderr[-2000:]
