"""kill -9 at random moments: every file left must read, and no accepted step may be lost."""

from __future__ import annotations

import random

import recorder
from crash_harness import kill_once
from recorder import layout
from run_reading import read_stream

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


def test_kills_inside_publication_and_compaction(tmp_path):
    # Tiny parts and merging after every second part: the background thread is almost
    # always mid-publish or mid-merge when the kill lands.
    rng = random.Random(99)
    merged_seen = False
    for i in range(6):
        result = kill_once(tmp_path / f"c{i}", delay=rng.uniform(0.3, 1.0), rows_per_part=20, compact_after=2)
        check(result)
        names = [p.name for p in (result["run_dir"] / "history").iterdir()]
        merged_seen |= any(
            (p := layout.parse_part(n)) is not None and p.hi > p.lo for n in names
        )
    assert merged_seen, "compaction never ran, so these kills did not test it"


def test_resume_after_crash_continues_after_last_step(tmp_path):
    result = kill_once(tmp_path / "r", delay=0.3)
    last = result["steps"][-1]
    run = recorder.init(dir=tmp_path / "r" / "runs", project="crash", id="victim", resume="allow",
                        system_interval=0, capture_console=False, reinit="create_new")
    run.log({"loss": 0.0})
    run.finish()
    steps = [r[layout.STEP] for r in read_stream(result["run_dir"])]
    assert steps == list(range(last + 2))
