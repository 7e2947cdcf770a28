"""Runs for TUI tests, made by the real recorder, with fixed times so screens are stable."""

from __future__ import annotations

import json
import math
from pathlib import Path

import recorder

FIXED_CREATED = "2026-01-0{day}T10:00:00.000000Z"


def make_runs(root: Path, specs: list[dict]) -> list[str]:
    """specs: name, project, config, steps, (optional) tags, group, fail. Returns run ids."""
    ids = []
    for day, spec in enumerate(specs, start=1):
        # Fixed ids: screens show them, and snapshots must not change run to run.
        run = recorder.init(
            dir=root,
            project=spec.get("project", "demo"),
            name=spec["name"],
            id=spec.get("id", f"run{day}-{spec['name']}"),
            config=spec.get("config", {}),
            tags=spec.get("tags"),
            group=spec.get("group"),
            system_interval=0,
            capture_console=False,
            reinit="create_new",
        )
        if spec.get("define_step"):
            run.define_metric("*", step_metric="epoch")
        lr = spec.get("config", {}).get("lr", 0.01)
        for i in range(spec.get("steps", 50)):
            run.log(
                {
                    "train/loss": math.exp(-i * lr),
                    "val/acc": 1 - math.exp(-i * lr),
                    "epoch": float(i // 10),
                    **spec.get("extra", {}),
                }
            )
        run.finish(exit_code=1 if spec.get("fail") else 0)
        pin_times(Path(run.dir), day)
        ids.append(run.id)
    return ids


def pin_times(run_dir: Path, day: int) -> None:
    """Fixed created/finished times, runtime, host and git, so snapshots do not change run to run."""
    meta_path = run_dir / "run.json"
    meta = json.loads(meta_path.read_text())
    stamp = FIXED_CREATED.format(day=day)
    meta.update(created_at=stamp, heartbeat_at=stamp, finished_at=stamp, runtime=42.0 * day, host="testhost", pid=1)
    meta["git"] = {"commit": f"{day:x}" * 40, "branch": "main", "dirty": False}
    meta_path.write_text(json.dumps(meta))


STANDARD = [
    {"name": "baseline", "config": {"lr": 0.01, "batch_size": 32}, "tags": ["base"], "steps": 80},
    {"name": "fast-lr", "config": {"lr": 0.1, "batch_size": 32}, "steps": 80},
    {"name": "big-batch", "config": {"lr": 0.01, "batch_size": 128}, "project": "other", "steps": 60},
    {"name": "broken", "config": {"lr": 1.0, "batch_size": 32}, "steps": 10, "fail": True},
]
