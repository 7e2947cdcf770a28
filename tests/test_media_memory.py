"""Logging an image every step keeps memory flat (files go to disk, not to a queue)."""

from __future__ import annotations

import sysconfig
import tracemalloc
from pathlib import Path

import numpy as np
from conftest import make_run

import recorder
from recorder.media.media_store import get_store
from viewer.data import media_index as mi

OUTSIDE_STDLIB = [tracemalloc.Filter(False, sysconfig.get_paths()["stdlib"] + "/*")]


def test_two_thousand_images_memory_stays_flat(runs_root):
    run = make_run(runs_root)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)  # 12 KiB per image
    tracemalloc.start()
    try:
        samples = []
        for step in range(2000):
            frame[step % 64] = step % 255  # the caller reuses its buffer
            run.log({"frame": recorder.Image(frame, caption=str(step)), "loss": 1.0 / (step + 1)})
            if step in (300, 1999):
                get_store(run).drain()
                samples.append(tracemalloc.take_snapshot().filter_traces(OUTSIDE_STDLIB))
        # Allocations by the standard library are left out: the interpreter's own tables
        # (pathlib's interned strings, after many earlier tests) may resize at any moment.
        growth = sum(stat.size_diff for stat in samples[1].compare_to(samples[0], "filename"))
    finally:
        tracemalloc.stop()
    # 1,700 more images are 20 MiB of pixels; what may grow is the unpublished history
    # and index rows (a few hundred bytes per step).
    assert growth < 3 * 2**20, f"memory grew by {growth / 2**20:.1f} MiB"
    run.finish()
    items = mi.images(Path(run.dir), "frame")
    assert len(items) == 2000 and items[-1].caption == "1999" and all(i.exists for i in items[::97])
