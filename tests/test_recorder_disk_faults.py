"""A full or read-only disk: training continues, one warning, losses recorded, recovery resumes.

Tests run as root, where chmod cannot make a directory read-only, so the failing
system calls are simulated at the recorder's own write points.
"""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path

import pytest
from conftest import make_run
from run_reading import read_stream

from recorder import parquet_parts, stream_writer


class FailingDisk:
    def __init__(self, monkeypatch, err: int) -> None:
        self.failing = True
        real_write = stream_writer._write
        real_publish = parquet_parts.write_parquet_atomic

        def write(fd, data):
            if self.failing:
                raise OSError(err, "simulated")
            return real_write(fd, data)

        def publish(table, path):
            if self.failing:
                raise OSError(err, "simulated")
            return real_publish(table, path)

        monkeypatch.setattr(stream_writer, "_write", write)
        monkeypatch.setattr(parquet_parts, "write_parquet_atomic", publish)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_write_failures_never_reach_training_and_recover(monkeypatch, caplog, runs_root, err):
    run = make_run(runs_root)
    run.log({"x": 0.0})
    disk = FailingDisk(monkeypatch, err)
    with caplog.at_level(logging.WARNING, logger="loupe"):
        for i in range(1, 50):
            run.log({"x": float(i)})
        run._files.history.flush()  # the background thread's publish also fails
        run._files.history.flush()
    # One warning per cause, however many rows failed.
    assert caplog.text.count("training continues") == 1, caplog.text
    assert caplog.text.count("will retry") == 1, caplog.text
    disk.failing = False
    for i in range(50, 60):
        run.log({"x": float(i)})
    run.finish()
    steps = [r["_step"] for r in read_stream(Path(run.dir))]
    assert steps == list(range(60))  # nothing lost: the disk came back before a crash
    meta = json.loads((Path(run.dir) / "run.json").read_text())
    assert meta["state"] == "finished"


def test_losses_are_recorded_when_memory_cap_drops_rows(monkeypatch, runs_root):
    monkeypatch.setattr(stream_writer, "_MAX_UNPUBLISHED_BYTES", 2000)
    run = make_run(runs_root)
    FailingDisk(monkeypatch, errno.ENOSPC)
    for _batch in range(5):
        for i in range(20):
            run.log({"x": float(i)})
        run._files.history.flush()
    assert run._files.history.lost_rows > 0
    run._files.write_run_json("running")
    meta = json.loads((Path(run.dir) / "run.json").read_text())
    assert meta["write_errors"]["lost_rows"] == run._files.history.lost_rows
    assert "simulated" in meta["write_errors"]["last_error"]
