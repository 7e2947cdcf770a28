"""Helpers for the query-layer tests: real runs made with the recorder, and raw files."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import recorder


def real_run(
    root: Path,
    project: str = "p",
    steps: int = 10,
    name: str | None = None,
    config: dict | None = None,
    finish: bool = True,
    texts: bool = False,
    **kwargs,
):
    """A run recorded by the real recorder: loss/acc per step (values derived from the step)."""
    run = recorder.init(
        dir=root,
        project=project,
        name=name,
        config=config or {},
        reinit="create_new",
        system_interval=0,
        capture_console=False,
        **kwargs,
    )
    for s in range(steps):
        row: dict[str, Any] = {"loss": 1.0 / (s + 1), "acc": s / max(steps, 1)}
        if texts:
            row["msg"] = f"step {s}"
        run.log(row)
    if finish:
        run.finish()
    return run


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fake_run_dir(
    root: Path,
    project: str,
    dirname: str,
    run_id: str | None = None,
    state: str = "finished",
    heartbeat_age: float = 1.0,
    config: dict | None = None,
    summary: dict | None = None,
    history: dict[str, list] | None = None,
    **extra: Any,
) -> Path:
    """A run directory written by hand (for names the recorder refuses, e.g. `exp[1]`)."""
    d = root / project / dirname
    d.mkdir(parents=True, exist_ok=True)
    now = time.time()
    rid = run_id or dirname
    meta = {
        "format_version": 1,
        "id": rid,
        "name": dirname,
        "project": project,
        "state": state,
        "created_at": iso(now - 100),
        "heartbeat_at": iso(now - heartbeat_age),
        "finished_at": iso(now) if state != "running" else None,
        "runtime": 99.0,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "tags": [],
        **extra,
    }
    (d / "run.json").write_text(json.dumps(meta))
    (d / "config.json").write_text(json.dumps(config or {}))
    (d / "summary.json").write_text(json.dumps(summary or {}))
    if history is not None:
        (d / "history").mkdir(exist_ok=True)
        n = len(next(iter(history.values())))
        cols = {
            "run_id": pa.array([rid] * n).dictionary_encode(),
            "_step": pa.array(range(n), pa.int64()),
            "_timestamp": pa.array([now + i for i in range(n)], pa.float64()),
            "_runtime": pa.array([float(i) for i in range(n)], pa.float64()),
        }
        cols.update({k: pa.array(v, pa.float64()) for k, v in history.items()})
        pq.write_table(pa.table(cols), d / "history" / "part-aaaaaaaa-00000000-00000000.parquet")
    return d
