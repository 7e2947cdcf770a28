"""The run's helper process: builds and merges Parquet parts and lists installed packages.

Why a process and not the writer thread: importing pyarrow (and pandas, which pyarrow
imports on its first conversion) costs ~0.8 s of CPU with the GIL held in stretches of
20 ms and more, and building a part holds it too. Done in a thread, the training loop
pays for all of it in stalled log() calls; in a child it pays one small request per part
(the child reads the journal segment from disk), and the child runs at a lower priority
(recorder.helper_child.NICE_INCREMENT) so that where the two share a core, the scheduler
preempts the child rather than the loop.

The child dies with the process that started it (Linux: PR_SET_PDEATHSIG), so a kill -9
of the training process stops publication where a thread would have stopped: every step
is still in a journal or in a part, and the part names are the same either way. If the
child cannot start or goes away, the stream writers publish in-process instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import orjson

from recorder import layout
from recorder.helper_placement import HelperPlacement
from recorder.warn import warn_once

# A request taking longer than this means a hung child: it is killed and the writer
# falls back to publishing in-process (merging a multi-GB history takes well under it).
CALL_TIMEOUT_S = 300.0

_BOOTSTRAP = (
    "import sys; parent = int(sys.argv[1]); sys.path[:] = sys.argv[2:]; "
    "from recorder.helper_child import serve; serve(parent)"
)


# The child's work is one request at a time; a pool of threads would only compete with
# the training loop for its cores. numpy (imported by pyarrow) starts an OpenBLAS/OpenMP
# pool whose threads spin: measured, 110-120 ms of CPU on a second thread while pyarrow
# imports, beside the child's own.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class HelperGone(Exception):
    """The helper process is not there (never started, exited, killed or hung)."""


class HelperProcess:
    """Client of one helper child; its methods match recorder.parquet_parts' and may be
    called from any thread (one request at a time)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc: subprocess.Popen[bytes] | None = proc
        self._lock = threading.Lock()
        # Made on the thread that called init(), the one whose CPU the child avoids.
        self._placement = HelperPlacement(proc.pid)

    @classmethod
    def start(cls) -> HelperProcess | None:
        """A started helper, or None when no child Python can be run here."""
        if not sys.executable:
            return None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(os.getpid()), *sys.path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **ONE_THREAD_ENV},
            )
        except OSError:
            return None
        _lower_priority(proc.pid)
        return cls(proc)

    # -- what the stream writers and the metadata collector call -------------------------
    def publish_segment(
        self, journal: Path, unjournaled: bytes, run_id: str, numeric_path: Path, text_path: Path | None
    ) -> tuple[bool, bool]:
        # The child reads the journal file itself: the segment never crosses the pipe.
        header = {
            "op": "publish_segment",
            "journal": str(journal),
            "run_id": run_id,
            "numeric_path": str(numeric_path),
            "text_path": None if text_path is None else str(text_path),
        }
        reply = self._call(header, unjournaled)
        return bool(reply["part"]), bool(reply["text"])

    def merge_parts(self, directory: Path, parts: list[layout.PartName]) -> list[layout.PartName]:
        header = {"op": "merge_parts", "directory": str(directory), "parts": [[p.writer, p.lo, p.hi] for p in parts]}
        return [layout.PartName(w, lo, hi) for w, lo, hi in self._call(header)["parts"]]

    def requirements(self) -> str:
        return str(self._call({"op": "requirements"})["text"])

    def git_info(self, files_dir: Path) -> dict[str, Any]:
        # git runs as the child's child, so at the child's lower priority.
        return dict(self._call({"op": "git_info", "files_dir": str(files_dir)})["info"])

    def hurry(self) -> None:
        """The run is finishing: the child leaves idle scheduling (recorder.helper_child)
        and may use every CPU again (recorder.helper_placement) for its last parts, at
        once, even mid-request: set from here, not asked by pipe. Refused (RLIMIT_NICE
        for an unprivileged user, not Linux): it finishes at idle."""
        proc = self._proc
        if proc is None:
            return
        try:
            os.sched_setscheduler(proc.pid, os.SCHED_OTHER, os.sched_param(0))
        except (AttributeError, OSError):
            pass
        self._placement.release()

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        # Every request has its reply: the child exits at the end of its input. Its
        # interpreter shutdown (~0.3 s with pyarrow loaded) is not finish()'s to wait for;
        # subprocess reaps it later.
        try:
            assert proc.stdin is not None
            proc.stdin.close()
        except OSError:
            proc.kill()

    # -- the pipe -------------------------------------------------------------------------
    def _call(self, header: dict[str, Any], payload: bytes = b"") -> dict[str, Any]:
        with self._lock:
            proc = self._proc
            if proc is None:
                raise HelperGone("no helper process")
            header["size"] = len(payload)
            # Blocking pipe reads and writes release the GIL; the timer bounds a hung child.
            timer = threading.Timer(CALL_TIMEOUT_S, proc.kill)
            timer.daemon = True
            timer.start()
            self._placement.follow()
            try:
                line = _exchange(proc, orjson.dumps(header) + b"\n", payload)
            except (OSError, ValueError) as exc:
                line = b""
                why = repr(exc)
            else:
                why = f"exit code {proc.poll()}"
            finally:
                timer.cancel()
            if not line:
                self._proc = None
                proc.kill()
                proc.wait()
                warn_once("helper-gone", f"the helper process stopped ({why}); Parquet parts are built in-process")
                raise HelperGone(why)
        reply = orjson.loads(line)
        if "error" in reply:
            raise OSError(reply["error"])
        return dict(reply)


def _lower_priority(pid: int) -> None:
    """The child's nice increment and idle policy (recorder.helper_child), set from here as
    soon as it exists: set by the child itself, they came after its interpreter had
    started, ~30 ms at the parent's priority, in which 100k log() calls from init had 1-3
    calls over 2 ms (the training thread preempted for a scheduler tick)."""
    from recorder.helper_child import NICE_INCREMENT

    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + NICE_INCREMENT)
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or refused: the child does it itself
        pass


def _exchange(proc: subprocess.Popen[bytes], header: bytes, payload: bytes) -> bytes:
    stdin: IO[bytes] | None = proc.stdin
    stdout: IO[bytes] | None = proc.stdout
    assert stdin is not None and stdout is not None
    stdin.write(header)
    if payload:
        stdin.write(payload)
    stdin.flush()
    return stdout.readline()


def start_if_useful() -> HelperProcess | None:
    """A helper, unless LOUPE_PUBLISHER=thread, or (the default `auto`) this process has
    loaded pyarrow's Parquet module already, so in-process publishing costs no import."""
    mode = os.environ.get("LOUPE_PUBLISHER", "auto").lower()
    if mode == "thread" or (mode != "process" and "pyarrow.parquet" in sys.modules):
        return None
    return HelperProcess.start()
