"""Source runs made by the real tools for the import tests: wandb 0.31 offline, torch's
TensorBoard SummaryWriter, MLflow's file store; and an independent plain reading of what
wandb wrote (wandb's own Record type, item by item), to compare imports with."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest

REPO = Path(__file__).resolve().parents[1]

WANDB_SCRIPT = r"""
import os, sys, time
import numpy as np
import wandb

mode, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
run = wandb.init(
    project="imp", name=f"{mode}-run", group="grp", job_type="train", tags=["t1", "t2"], notes="some notes",
    config={"lr": 0.001, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "layers": 3}, dir=out,
    settings=wandb.Settings(x_stats_sampling_interval=0.1),
)
wandb.define_metric("val/acc", summary="max")
i = 0
while mode == "killed" or i < steps:
    row = {"loss": 1.0 / (i + 1), "Loss": float(i), "count": i, "val/acc": (i % 7) / 7, "nested": {"a": i * 0.5}}
    if i % 10 == 0 and mode != "killed":
        row["note"] = f"text {i}"
        row["img"] = wandb.Image(np.full((4, 6, 3), i % 255, np.uint8), caption=f"c{i}")
        row["hist"] = wandb.Histogram(np_histogram=([1, 2, i], [0.0, 1.0, 2.0, 3.0]))
    if i == 3:
        row["odd"] = float("nan")
        row["big"] = float("inf")
    wandb.log(row)
    if i % 20 == 0 and mode != "killed":
        print(f"step {i}", flush=True)
        print(f"warn {i}", file=sys.stderr, flush=True)
    if mode == "killed" and i == 300:
        print("READY", flush=True)
    if mode != "killed":
        time.sleep(0.01)
    i += 1
run.summary["best"] = 42
wandb.finish(exit_code=1 if mode == "failed" else 0)
"""


def tool_env(tmp: Path) -> dict[str, str]:
    """No network, no files outside `tmp`: the tools' own switches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "LOUPE_", "MLFLOW_"))}
    env.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_CONFIG_DIR=str(tmp / "wandb-config"),
        WANDB_CACHE_DIR=str(tmp / "wandb-cache"),
        WANDB_DATA_DIR=str(tmp / "wandb-data"),
        WANDB_DISABLE_GIT="true",
        MLFLOW_ALLOW_FILE_STORE="true",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONPATH=str(REPO),
    )
    return env


def run_wandb_script(tmp: Path, code: str) -> Path:
    """Run `code` (a wandb script taking its dir as argv[1]) in `tmp`; returns its run folder."""
    pytest.importorskip("wandb")
    script = tmp / "wandb_script.py"
    script.write_text(code)
    subprocess.run(
        [sys.executable, str(script), str(tmp)], env=tool_env(tmp), check=True, timeout=300, capture_output=True
    )
    return wandb_run_dir(tmp)


def wandb_run_dir(out: Path) -> Path:
    (found,) = [p for p in (out / "wandb").iterdir() if p.is_dir() and not p.is_symlink() and p.name != "latest-run"]
    return found


def make_wandb_runs(tmp: Path, steps: int = 60) -> dict[str, Path]:
    """A finished, a failed and a kill -9ed wandb offline run, made side by side: mode -> run folder."""
    pytest.importorskip("wandb")
    script = tmp / "train_wandb.py"
    script.write_text(WANDB_SCRIPT)
    env = tool_env(tmp)
    procs = {}
    for mode in ("finished", "failed", "killed"):
        out = tmp / mode
        out.mkdir()
        procs[mode] = subprocess.Popen(
            [sys.executable, str(script), mode, str(out), str(steps)],
            cwd=out,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    killed = procs["killed"]
    assert killed.stdout is not None
    deadline = time.monotonic() + 120
    for line in killed.stdout:
        if line.strip() == "READY" or time.monotonic() > deadline:
            break
    time.sleep(1.0)  # let wandb's writer put some of the run on disk, then pull the plug
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    for mode in ("finished", "failed"):
        procs[mode].communicate(timeout=180)
        assert procs[mode].returncode == 0
    dirs = {mode: wandb_run_dir(tmp / mode) for mode in procs}
    _wait_until_quiet(next(dirs["killed"].glob("*.wandb")))
    return dirs


def _wait_until_quiet(path: Path, quiet_s: float = 1.0, timeout: float = 60.0) -> None:
    # wandb's writer process outlives the killed script for a moment and may still append.
    deadline = time.monotonic() + timeout
    last = (-1, -1)
    since = time.monotonic()
    while time.monotonic() < deadline:
        st = path.stat()
        now = (st.st_size, st.st_mtime_ns)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.05)


def plain_records(path: Path) -> list[Any]:
    """Every complete record of a .wandb log, parsed item by item with wandb's Record type."""
    from wandb.proto import wandb_internal_pb2 as pb

    from recorder.importers.wandb_log import WandbLog

    return [cast(Any, pb).Record.FromString(p) for p in WandbLog(path.read_bytes())]


def _json(text: str) -> Any:
    return json.loads(text)  # accepts NaN / Infinity as wandb writes them


def _put(target: dict[str, Any], item: Any) -> None:
    keys = list(item.nested_key) or [item.key]
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    target[keys[-1]] = _json(item.value_json)


def plain_history(path: Path) -> list[dict[str, Any]]:
    rows = []
    for r in plain_records(path):
        if r.WhichOneof("record_type") == "history":
            row: dict[str, Any] = {}
            for item in r.history.item:
                _put(row, item)
            rows.append(row)
    return rows


def plain_summary(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in plain_records(path):
        if r.WhichOneof("record_type") == "summary":
            for item in r.summary.update:
                _put(out, item)
    out.pop("_wandb", None)
    return out


def plain_stats(path: Path) -> list[tuple[float, dict[str, float]]]:
    samples = []
    for r in plain_records(path):
        if r.WhichOneof("record_type") == "stats":
            t = r.stats.timestamp.seconds + r.stats.timestamp.nanos / 1e9
            samples.append((t, {i.key: float(_json(i.value_json)) for i in r.stats.item}))
    return samples
