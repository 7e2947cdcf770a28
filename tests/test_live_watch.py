"""viewer.data.live_watch: mode choice (inotify, limit, network fs, forced), change notices, coalescing."""

from __future__ import annotations

import errno
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from viewer.data import live_watch, run_poller
from viewer.data.live_watch import RootWatcher, estimate_watch_dirs, network_fs, read_mounts


class Calls:
    def __init__(self) -> None:
        self.n = 0
        self.times: list[float] = []
        self.event = threading.Event()

    def __call__(self) -> None:
        self.n += 1
        self.times.append(time.monotonic())
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok

    def quiet(self, window: float = 3 * live_watch.COALESCE_S, timeout: float = 15.0) -> None:
        """Wait until no call has come for `window` s: the trailing calls of earlier changes are over."""
        deadline = time.monotonic() + timeout
        seen, since = self.n, time.monotonic()
        while time.monotonic() - since < window:
            if time.monotonic() > deadline:
                raise AssertionError(f"the watcher kept calling for {timeout:.0f} s")
            time.sleep(0.02)
            if self.n != seen:
                seen, since = self.n, time.monotonic()
        self.event.clear()


def prove_alive(calls: Calls, run: Path, timeout: float = 15.0) -> None:
    """Grow a journal until the watcher reports it: it is watching (inotify watches added, or the
    poller's first look taken), so a later silence means nothing changed, not a dead watcher."""
    probe = run / "history" / "journal-probe000-00000001.jsonl"
    deadline = time.monotonic() + timeout
    size = 0
    while time.monotonic() < deadline:
        size += 1
        probe.write_text("{}" * size + "\n")  # a new size each time: polling compares sizes
        if calls.wait(0.5):
            calls.quiet()
            return
    raise AssertionError(f"the watcher reported no change in {timeout:.0f} s")


def make_runs(root: Path, n: int = 3, live: bool = True) -> list[Path]:
    runs = []
    for i in range(n):
        run = root / "p" / f"run{i}"
        for d in ("history", "system", "text", "files"):
            (run / d).mkdir(parents=True, exist_ok=True)
        (run / "run.json").write_text(json.dumps({"id": f"run{i}", "state": "running"}))
        if not live:
            old = time.time() - 3600
            os.utime(run / "run.json", (old, old))
        runs.append(run)
    return runs


def wait_mode_settled(w: RootWatcher, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while w.mode == "inotify" and w._observer is None and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")
def test_inotify_sees_new_file_and_journal_append(tmp_path):
    root = tmp_path / "runs"
    runs = make_runs(root)
    calls = Calls()
    w = RootWatcher([root], calls, _mounts=[("/", "ext4")])
    w.start()
    try:
        wait_mode_settled(w)
        assert w.mode == "inotify" and w.mode_note == "live: inotify"
        journal = runs[0] / "history" / "journal-abcd1234-00000001.jsonl"
        journal.write_text('{"_step": 0}\n')
        assert calls.wait(), "no change reported for a new journal"
        calls.quiet()
        with open(journal, "a") as f:
            f.write('{"_step": 1}\n')
        assert calls.wait(), "no change reported for an append"
        # A new run directory (created after the watch) is watched too: once its creation
        # is reported, watchdog has added the watch.
        calls.quiet()
        new = root / "p" / "run9" / "history"
        new.mkdir(parents=True)
        assert calls.wait(), "no change reported for a new run directory"
        calls.quiet()
        (new / "journal-x-00000001.jsonl").write_text("{}\n")
        assert calls.wait()
    finally:
        w.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")
def test_reading_files_is_not_a_change(tmp_path):
    root = tmp_path / "runs"
    runs = make_runs(root)
    calls = Calls()
    w = RootWatcher([root], calls, _mounts=[("/", "ext4")])
    w.start()
    try:
        wait_mode_settled(w)
        assert w.mode == "inotify"
        prove_alive(calls, runs[0])
        n0 = calls.n
        for _ in range(50):
            (runs[1] / "run.json").read_text()
            os.listdir(runs[1] / "history")
        # Nothing to wait for: a change would be reported within one coalescing interval.
        time.sleep(3 * live_watch.COALESCE_S)
        assert calls.n == n0, "reading files was reported as a change"
        prove_alive(calls, runs[1])  # and the watcher is still watching
    finally:
        w.stop()


def test_coalesces_bursts(tmp_path):
    root = tmp_path / "runs"
    runs = make_runs(root, 1)
    calls = Calls()
    w = RootWatcher([root], calls, _mounts=[("/", "ext4")])
    w.start()
    try:
        wait_mode_settled(w)
        prove_alive(calls, runs[0])
        n0 = calls.n
        for i in range(300):
            (runs[0] / "files" / f"f{i}").write_text("x")
        assert calls.wait(), "no change reported for the burst"
        calls.quiet()
        burst = calls.times[n0:]
        assert 1 <= len(burst) < 300
        # However fast the events come, calls are at least one coalescing interval apart.
        gaps = [b - a for a, b in itertools.pairwise(burst)]
        assert all(g >= live_watch.COALESCE_S - 0.01 for g in gaps), gaps
    finally:
        w.stop()


def test_forced_polling_sees_live_run_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(live_watch, "POLL_S", 0.1)
    root = tmp_path / "runs"
    runs = make_runs(root, 2)
    calls = Calls()
    w = RootWatcher([root], calls, poll=True)
    w.start()
    try:
        assert w.mode == "polling" and "poll" in w.mode_note
        prove_alive(calls, runs[0])
        journal = runs[1] / "history" / "journal-abcd1234-00000001.jsonl"
        journal.write_text('{"_step": 0}\n')
        assert calls.wait(3)
        calls.quiet()
        with open(journal, "a") as f:
            f.write('{"_step": 1}\n')
        assert calls.wait(3), "append to a live run's journal not seen by polling"
        calls.quiet()
        make_runs(root, 3)  # run2 appears
        assert calls.wait(3)
        calls.quiet()
        n0 = calls.n
        # Nothing to wait for: four polls' worth of no change.
        time.sleep(4 * live_watch.POLL_S)
        assert calls.n == n0, "polling reported a change where there was none"
    finally:
        w.stop()


def test_network_filesystem_chooses_polling(tmp_path):
    root = tmp_path / "runs"
    make_runs(root, 1)
    mounts = [("/", "ext4"), (str(tmp_path), "nfs4")]
    w = RootWatcher([root], lambda: None, _mounts=mounts)
    w.start()
    try:
        assert w.mode == "polling"
        assert w.mode_note == f"live: polling (nfs4 at {root})"
    finally:
        w.stop()


def test_mounts_parsing_and_longest_prefix(tmp_path):
    text = (
        "sysfs /sys sysfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"
        "srv:/export /mnt/my\\040data nfs rw 0 0\nsrv:/x /mnt/my\\040data/local ext4 rw 0 0\n"
    )
    mounts = read_mounts(text)
    assert ("/mnt/my data", "nfs") in mounts
    assert network_fs("/mnt/my data/runs", mounts) == "nfs"
    assert network_fs("/mnt/my data/local/runs", mounts) is None
    assert network_fs("/home/u/runs", mounts) is None
    assert network_fs("/mnt/my datax", mounts) is None


def test_watch_limit_falls_back_to_polling(tmp_path):
    root = tmp_path / "runs"
    make_runs(root, 20)
    need = estimate_watch_dirs([root])
    assert need == 1 + 1 + 20 + 20 * 4
    w = RootWatcher([root], lambda: None, _mounts=[("/", "ext4")], _watch_limit=50)
    w.start()
    try:
        assert w.mode == "polling"
        assert "watch limit" in w.mode_note and "50" in w.mode_note and w.mode_note.endswith("polling")
    finally:
        w.stop()


def test_enospc_when_adding_watches_falls_back(tmp_path, monkeypatch):
    import watchdog.observers

    class Refusing:
        def schedule(self, *a, **k):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        def start(self):
            pass

        def stop(self):
            pass

    monkeypatch.setattr(watchdog.observers, "Observer", Refusing)
    monkeypatch.setattr(live_watch, "POLL_S", 0.1)
    root = tmp_path / "runs"
    runs = make_runs(root, 1)
    calls = Calls()
    w = RootWatcher([root], calls, _mounts=[("/", "ext4")])
    w.start()
    try:
        deadline = time.monotonic() + 3
        while w.mode != "polling" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert w.mode == "polling"
        assert "inotify watch limit reached" in w.mode_note and w.mode_note.endswith("polling")
        prove_alive(calls, runs[0])  # polling, in place of the watches it could not add
    finally:
        w.stop()


def test_stop_is_prompt_and_idempotent(tmp_path):
    root = tmp_path / "runs"
    make_runs(root, 1)
    for poll in (True, None):
        w = RootWatcher([root], lambda: None, poll=poll, _mounts=[("/", "ext4")])
        w.start()
        wait_mode_settled(w)
        t0 = time.monotonic()
        w.stop()
        w.stop()
        assert time.monotonic() - t0 < 2.5


def test_missing_root_does_not_raise(tmp_path):
    w = RootWatcher([tmp_path / "nope"], lambda: None, _mounts=[("/", "ext4")])
    w.start()
    wait_mode_settled(w)
    w.stop()


def test_polling_announces_a_new_run_before_it_has_stated_every_other_run(tmp_path, monkeypatch):
    # On a network root with thousands of runs, stat'ing each run.json takes a while; a run
    # that appeared is already plain from the directory listing and must not wait for that.
    for i in range(3):
        run = tmp_path / "p" / f"run-{i}"
        run.mkdir(parents=True)
        (run / "run.json").write_text("{}")
    stats_held = threading.Event()
    release = threading.Event()
    original = run_poller.stats  # the stats of a live run's files, in the full signature
    first_walk_done = threading.Event()

    def slow_stats(paths):
        if first_walk_done.is_set():
            stats_held.set()
            release.wait(10)
        return original(paths)

    monkeypatch.setattr(run_poller, "stats", slow_stats)
    calls = Calls()
    # Full signatures are far apart; the listing is looked at every LISTING_S.
    poller = run_poller.RunPoller([tmp_path], calls, interval=30)
    poller.start()
    try:
        deadline = time.monotonic() + 5
        while poller._last is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert poller._last is not None  # the first walk is in
        first_walk_done.set()
        (tmp_path / "p" / "run-new").mkdir()
        assert calls.wait(5), "no notice of the new run"
        assert not release.is_set()  # no stat of the others was let through first
        assert stats_held.wait(5)  # and the full look at every run followed it
    finally:
        release.set()
        poller.stop()


def test_polling_sees_an_old_runs_edit_from_its_directory_alone(tmp_path, monkeypatch):
    # A finished run is one stat a poll (its directory); `loupe tag/rename/note` replace
    # edits.json by rename, which is what changes it.
    monkeypatch.setattr(live_watch, "POLL_S", 0.1)
    run = tmp_path / "p" / "old-run"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    hours_ago = time.time() - 7200
    os.utime(run, (hours_ago, hours_ago))
    calls = Calls()
    w = RootWatcher([tmp_path], calls, poll=True)
    w.start()
    try:
        time.sleep(0.5)  # the first walk is in
        calls.quiet()
        n0 = calls.n
        time.sleep(4 * live_watch.POLL_S)
        assert calls.n == n0  # an old run that nothing touches costs no notice
        tmp = run / ".tmp-edits.json"
        tmp.write_text('{"tags": ["best"]}')
        os.replace(tmp, run / "edits.json")
        assert calls.wait(3), "an edit to an old run not seen by polling"
    finally:
        w.stop()
