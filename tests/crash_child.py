"""A training process that logs as fast as it can until it is killed (used by crash tests).

After every log() returns it stores the step in an 8-byte file, so the parent knows
exactly which steps the recorder had accepted when the kill landed. The store is a
pwrite, not a shared mmap: some sandboxed filesystems do not show another process's
mmap stores to read(), and a CI run once read step 0 back after 221,022 accepted steps.

    python crash_child.py ROOT COUNTER_FILE [ROWS_PER_PART] [COMPACT_AFTER]
"""

from __future__ import annotations

import os
import struct
import sys

import recorder


def main() -> None:
    root, counter_path = sys.argv[1], sys.argv[2]
    rows_per_part = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    compact_after = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    counter = os.open(counter_path, os.O_WRONLY)
    run = recorder.init(dir=root, project="crash", id="victim", system_interval=0.05, capture_console=True)
    # Small parts and eager compaction put kills inside publication and merging often.
    run._files.history.rows_per_part = rows_per_part
    run._files.history.compact_after_parts = compact_after
    step = 0
    while True:
        run.log({"loss": 1.0 / (step + 1), "step_copy": float(step), "acc": step % 7 / 7})
        os.pwrite(counter, struct.pack("<q", step), 0)
        if step % 500 == 0:
            print(f"step {step}", flush=True)
        step += 1


if __name__ == "__main__":
    main()
