"""Reading back what a sweep wrote, for the sweep tests: its runs and Optuna's trials."""

from __future__ import annotations

import json
from pathlib import Path

from recorder.sweeps.sweep_store import SweepStore


def read_runs(root: Path, project: str) -> dict[str, dict]:
    """Run id -> its run.json, config.json and summary.json ({} until written)."""
    out = {}
    for d in (root / project).iterdir():
        if (d / "run.json").is_file():
            out[d.name] = {
                "run": json.loads((d / "run.json").read_text()),
                "config": json.loads((d / "config.json").read_text()),
                "summary": json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {},
            }
    return out


def study_trials(root: Path, project: str, sid: str) -> list:
    """The sweep's Optuna trials, read from its journal."""
    return SweepStore(root / project / "_sweeps" / sid).study().get_trials(deepcopy=False)
