"""Keeps the helper process off the CPU the training thread runs on (Linux).

    placement = HelperPlacement(child_pid)    # on the thread that called init()
    placement.follow()                        # before each request: away from it again
    placement.release()                       # finish(): every CPU for the last parts

Why: the helper runs at SCHED_IDLE and nice +10 (recorder.helper_child), and still, traced
with sched_switch on this project's 2-core VM (Linux 6.18, EEVDF), the calls over 2 ms in
100,000 log() calls from init() were the helper itself taking the training thread's CPU
for a whole 4 ms tick, or a parent thread that held the GIL losing its CPU to the helper
while the training thread waited; the rest were other processes on the machine. A CPU
that runs only SCHED_IDLE work counts as idle when the scheduler places a waking thread,
so the training thread and the helper kept meeting on one CPU while the other sat idle.
Kept off the training thread's CPU (the CPU it last ran on, read again before each
request, because threads move), 30 runs of 100,000 steps had 5-6 calls over 2 ms instead
of 17-20.

The helper loses one CPU of those the process may use; with a single CPU nothing is
done. Every failure (not Linux, no /proc, a refused call) leaves placement to the kernel.
"""

from __future__ import annotations

import os
import threading

__all__ = ["HelperPlacement", "cpu_of"]


def cpu_of(tid: int) -> int | None:
    """The CPU thread `tid` of this process last ran on (/proc's `processor` field)."""
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            # Field 39; the command name before it may hold spaces and parentheses.
            return int(f.read().rsplit(b")", 1)[1].split()[36])
    except (OSError, IndexError, ValueError):
        return None


class HelperPlacement:
    def __init__(self, child_pid: int) -> None:
        self._child = child_pid
        self._trainer = threading.get_native_id()
        try:
            self._allowed: set[int] = set(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            self._allowed = set()
        self._avoiding: int | None = None
        self._released = False
        self.follow()

    def follow(self) -> None:
        """Move the helper off the training thread's CPU, if that has changed."""
        if len(self._allowed) < 2 or self._released:
            return
        cpu = cpu_of(self._trainer)
        if cpu is None or cpu == self._avoiding or cpu not in self._allowed:
            return
        if self._set(self._allowed - {cpu}):
            self._avoiding = cpu

    def release(self) -> None:
        """Every CPU for the helper again, for good (finish(): the training thread waits
        for the last parts now)."""
        self._released = True
        if self._avoiding is not None and self._set(self._allowed):
            self._avoiding = None

    def _set(self, cpus: set[int]) -> bool:
        # Each of the child's threads: pyarrow's pools and the allocator's start lazily
        # and keep the mask of the moment they were made.
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{self._child}/task")]
        except (OSError, ValueError):
            tids = [self._child]
        done = False
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
                done = True
            except (AttributeError, OSError):  # not Linux, or the thread is gone
                pass
        return done
