"""The helper process's side (see recorder.helper_process): requests in, replies out.

Each request is one JSON line (`op`, its arguments, `size`) followed by `size` bytes of
payload; each reply is one JSON line, `{"error": ...}` when the work raised. The child
exits at the end of its input, or with its parent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import orjson

# How much lower than its parent's the child's scheduling priority is (nice increment).
NICE_INCREMENT = 10


def serve(parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    _yield_to_training(parent_pid)
    replies = _private_stdout()
    requests: IO[bytes] = sys.stdin.buffer
    # pyarrow now, while the training process is busy elsewhere, not at the first part.
    # The warm-up takes the path a numeric part takes, which never imports pandas: where
    # pandas is installed, importing it would double this start's CPU (~0.2 s more, beside
    # the training loop) and add ~35 MB to the child for parts that never use it.
    pa = _import_pyarrow_without_numpy()

    from recorder.parquet_parts import journal_to_tables

    pa.set_cpu_count(1)  # one request at a time (recorder.helper_process.ONE_THREAD_ENV)
    pa.set_io_thread_count(1)
    journal_to_tables(b'{"_step": 0, "warm-up": 1.0}\n', "warm-up")

    while True:
        line = requests.readline()
        if not line:
            return
        header = orjson.loads(line)
        size = int(header.get("size", 0))
        payload = requests.read(size) if size else b""
        if len(payload) != size:
            return  # the parent went away mid-request
        try:
            reply = _handle(header, payload)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(orjson.dumps(reply) + b"\n")
        replies.flush()


def _import_pyarrow_without_numpy() -> Any:
    """pyarrow, with numpy kept out where pyarrow allows it (numpy is optional to recent
    pyarrow, and nothing the child does needs it): it was 60% of the child's start-up CPU
    (0.18 -> 0.07 s measured here) and ~15 MB of its memory, all of it at the moment the
    training loop has just started beside it."""
    sys.modules["numpy"] = None  # type: ignore[assignment]  # makes `import numpy` fail
    try:
        import pyarrow
    except ImportError:  # a pyarrow that needs numpy: import both after all
        del sys.modules["numpy"]
        for name in [n for n in sys.modules if n == "pyarrow" or n.startswith("pyarrow.")]:
            del sys.modules[name]
        import pyarrow
    return pyarrow


def _handle(header: dict[str, Any], payload: bytes) -> dict[str, Any]:
    op = header["op"]
    if op == "publish_segment":
        from recorder.parquet_parts import publish_segment

        text_path = header["text_path"]
        part, text = publish_segment(
            Path(header["journal"]),
            payload,
            header["run_id"],
            Path(header["numeric_path"]),
            text_path and Path(text_path),
        )
        return {"part": part, "text": text}
    if op == "merge_parts":
        from recorder import layout
        from recorder.parquet_parts import merge_parts

        parts = [layout.PartName(w, lo, hi) for w, lo, hi in header["parts"]]
        merged = merge_parts(Path(header["directory"]), parts)
        return {"parts": [[p.writer, p.lo, p.hi] for p in merged]}
    if op == "requirements":
        from recorder.metadata import list_requirements

        return {"text": list_requirements()}
    if op == "git_info":
        from recorder.metadata import git_info

        return {"info": git_info(Path(header["files_dir"]))}
    raise ValueError(f"unknown request {op!r}")


def _yield_to_training(parent_pid: int) -> None:
    # Done by the parent already, the moment this process existed (HelperProcess.start):
    # not twice, which would put the child at +19, nor after finish() gave the child the
    # normal policy back (a short run can finish before this interpreter is up). The nice
    # value says which: the parent's hurry() leaves it raised.
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > os.getpriority(os.PRIO_PROCESS, parent_pid):
            return
    except (AttributeError, OSError):
        pass
    # Building parts (and importing pyarrow first) is CPU work beside a loop that wants its
    # core too. Where cores are short, the scheduler should preempt this child, not the
    # training thread: measured on a loaded 2-core machine, 100k log() calls from init had
    # 160-230 calls over 2 ms at the parent's priority, 30-75 at +10. Parts still come out
    # as fast wherever a core is idle.
    try:
        os.nice(NICE_INCREMENT)
    except (AttributeError, OSError):  # no nice() on this platform
        pass
    # Linux: SCHED_IDLE on top. At +10 alone, a busy child still took ~3 ms slices from
    # the training thread's core every ~0.1 s on a 2-core VM (a plain write() loop beside
    # a +19 CPU hog: 14 stalls over 1 ms in 4 s; beside a SCHED_IDLE one: 1). finish()
    # gives it the normal policy back, so the last parts never wait on other
    # work the machine has (recorder.helper_process.HelperProcess.hurry).
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def _private_stdout() -> IO[bytes]:
    # Replies get their own descriptor; whatever a library prints goes to stderr instead
    # of into the protocol.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return replies


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except Exception:
            pass  # then the end of input stops us, after the request in hand
    if os.getppid() != parent_pid:
        sys.exit(0)  # the parent died before the signal was armed
