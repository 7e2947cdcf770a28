"""Power loss: journals are fsynced every LOUPE_SYNC_S by the writer thread, never by log()."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from conftest import make_run
from run_reading import read_stream

import recorder.stream_writer as stream_writer


def journal_inodes(run) -> set[int]:
    return {p.stat().st_ino for p in (Path(run.dir) / "history").glob("journal-*")}


def record_fsyncs(monkeypatch, hook=None) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append((threading.current_thread().name, os.fstat(fd).st_ino))
        if hook is not None:
            hook(fd)
        real(fd)

    monkeypatch.setattr(stream_writer.os, "fsync", fsync)
    return calls


def wait_until(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_logged_rows_are_fsynced_by_the_writer_thread(runs_root, monkeypatch):
    monkeypatch.setenv("LOUPE_SYNC_S", "0.2")
    calls = record_fsyncs(monkeypatch)
    run = make_run(runs_root)
    run.log({"loss": 1.0})
    journals = journal_inodes(run)
    assert journals
    assert wait_until(lambda: any(ino in journals for _, ino in calls))
    assert {name for name, ino in calls if ino in journals} == {"loupe-writer"}
    synced = len(calls)
    time.sleep(1.5)  # nothing new logged: no more journal fsyncs
    assert [c for c in calls[synced:] if c[1] in journals] == []
    run.finish()


def test_a_slow_disk_does_not_hold_up_log(runs_root, monkeypatch):
    monkeypatch.setenv("LOUPE_SYNC_S", "0.2")
    in_fsync, release = threading.Event(), threading.Event()

    def hold(fd: int) -> None:
        if threading.current_thread().name == "loupe-writer":
            in_fsync.set()
            release.wait(10)

    record_fsyncs(monkeypatch, hold)
    run = make_run(runs_root)
    run.log({"loss": 1.0})
    try:
        assert in_fsync.wait(5), "the writer thread never synced the journal"
        t0 = time.perf_counter()
        for i in range(1000):
            run.log({"loss": 1.0 / (i + 2)})
        assert time.perf_counter() - t0 < 2.0  # would wait out the fsync if log() took part in it
    finally:
        release.set()
    run.finish()
    assert len(read_stream(Path(run.dir))) == 1001  # and nothing was lost meanwhile


def test_sync_off(runs_root, monkeypatch):
    monkeypatch.setenv("LOUPE_SYNC_S", "0")
    calls = record_fsyncs(monkeypatch)
    run = make_run(runs_root)
    run.log({"loss": 1.0})
    journals = journal_inodes(run)
    time.sleep(1.5)
    assert not [c for c in calls if c[1] in journals]
    run.finish()


def test_the_media_index_journal_is_fsynced_too(runs_root, monkeypatch):
    import numpy as np

    import recorder

    monkeypatch.setenv("LOUPE_SYNC_S", "0.2")
    calls = record_fsyncs(monkeypatch)
    run = make_run(runs_root)
    run.log({"sample": recorder.Image(np.zeros((4, 4, 3), dtype=np.uint8))})
    index = Path(run.dir) / "media" / "index"
    assert wait_until(lambda: any(index.glob("journal-*")))
    journals = {p.stat().st_ino for p in index.glob("journal-*")}
    assert wait_until(lambda: any(ino in journals and name == "loupe-writer" for name, ino in calls))
    run.finish()
