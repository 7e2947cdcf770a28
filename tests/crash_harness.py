"""Start a logging child, kill -9 it after a delay, and read what it left (tests and benchmarks)."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from run_reading import all_files_readable, read_stream

import recorder
from recorder import layout

CHILD = Path(__file__).with_name("crash_child.py")


def kill_once(
    tmp: Path,
    delay: float,
    rows_per_part: int = 200,
    compact_after: int = 4,
    ready: Callable[[Path], bool] | None = None,
) -> dict:
    """`ready(run_dir)`, when given, must hold before the delay starts (say, a part exists),
    so what the kill interrupts does not depend on how fast this machine is."""
    root = tmp / "runs"
    tmp.mkdir(parents=True, exist_ok=True)
    counter = tmp / "counter"
    counter.write_bytes(struct.pack("<q", -1))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(recorder.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(counter), str(rows_per_part), str(compact_after)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    stderr = proc.stderr
    assert stderr is not None  # stderr=PIPE
    # Wait until the child is logging, then let it run for `delay` more seconds.
    deadline = time.time() + 30
    while struct.unpack("<q", counter.read_bytes())[0] < 0:
        if proc.poll() is not None or time.time() > deadline:
            raise AssertionError(f"child did not start: {stderr.read().decode()[-2000:]}")
        time.sleep(0.01)
    run_dir = root / "crash" / "victim"
    while ready is not None and not ready(run_dir):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"child never reached the state to kill it in: {stderr.read().decode()[-2000:]}")
        time.sleep(0.005)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    accepted = struct.unpack("<q", counter.read_bytes())[0]
    steps = [r[layout.STEP] for r in read_stream(run_dir)]
    return {
        "accepted": accepted,
        "steps": steps,
        "unreadable": all_files_readable(run_dir),
        "run_json": json.loads((run_dir / layout.RUN_FILE).read_text()),
        "system_rows": len(read_stream(run_dir, layout.SYSTEM_DIR)),
        "run_dir": run_dir,
    }
