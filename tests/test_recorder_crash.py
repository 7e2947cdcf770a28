"""kill -9 at random moments: every file left must read, and no accepted step may be lost."""

from __future__ import annotations

import random

from crash_harness import kill_once
from run_reading import read_stream

import recorder
from recorder import layout


def check(result: dict) -> int:
    steps = result["steps"]
    assert result["unreadable"] == []
    assert len(steps) == len(set(steps)), "a step was read twice"
    assert steps == list(range(len(steps))), "steps are not contiguous from 0"
    # Every step whose log() returned is on disk; at most the one in flight may be extra.
    lost = result["accepted"] + 1 - len(steps)
    assert lost <= 0, f"{lost} accepted steps lost"
    assert len(steps) <= result["accepted"] + 2
    assert result["run_json"]["state"] == "running"  # readers decide it crashed
    return lost


def test_twenty_random_kills_lose_nothing(tmp_path):
    rng = random.Random(1234)
    for i in range(20):
        result = kill_once(tmp_path / f"k{i}", delay=rng.uniform(0.05, 1.2))
        check(result)


def _parts(run_dir) -> list[layout.PartName]:
    try:
        names = [p.name for p in (run_dir / layout.HISTORY_DIR).iterdir()]
    except FileNotFoundError:
        return []
    return [p for n in names if (p := layout.parse_part(n)) is not None]


def _merged(run_dir) -> bool:
    return any(p.hi > p.lo for p in _parts(run_dir))


def test_kills_inside_publication_and_compaction(tmp_path):
    # Tiny parts and merging after every second part keep the background thread busy
    # publishing or merging. Each kill waits for the state it is meant to interrupt (a
    # first part, or a first merge), then lands at a random moment while more come.
    rng = random.Random(99)
    for i in range(6):
        ready = _merged if i % 2 else (lambda d: bool(_parts(d)))
        result = kill_once(
            tmp_path / f"c{i}", delay=rng.uniform(0.0, 0.5), rows_per_part=20, compact_after=2, ready=ready
        )
        check(result)
        if i % 2:
            assert _merged(result["run_dir"]), "a merged part vanished after the kill"


def test_resume_after_crash_continues_after_last_step(tmp_path):
    result = kill_once(tmp_path / "r", delay=0.3)
    last = result["steps"][-1]
    run = recorder.init(
        dir=tmp_path / "r" / "runs",
        project="crash",
        id="victim",
        resume="allow",
        system_interval=0,
        capture_console=False,
        reinit="create_new",
    )
    run.log({"loss": 0.0})
    run.finish()
    steps = [r[layout.STEP] for r in read_stream(result["run_dir"])]
    assert steps == list(range(last + 2))
