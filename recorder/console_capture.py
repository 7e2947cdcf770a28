"""Tee of Python-level stdout/stderr into the run's output.log.

Only `sys.stdout` / `sys.stderr` are replaced; the file descriptors are left alone. An
fd-level capture (dup2 onto a pipe drained by a thread) would also catch C extensions,
but if the draining thread dies or stalls the pipe fills and the training process blocks
on its next print; losing native output is the lesser harm.

Each log line is `2026-11-29T14:08:12.123Z O text` (UTC time with milliseconds, `O` for
stdout or `E` for stderr, the text verbatim). Lines are written with one os.write on an
O_APPEND descriptor, so a kill -9 loses nothing already written and forked children
(DataLoader workers) append whole lines to the same file without clobbering.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, TextIO

from recorder.journal import format_log_time
from recorder.journal import resolve_cr as _resolve_cr
from recorder.warn import warn_once

# A partial line (no '\n' yet) is logged once it is this old, so a progress bar that
# redraws with '\r' and never ends its line still shows up in the log.
STALE_PARTIAL_S = 1.0
# A partial line larger than this is logged as it is, so output without newlines cannot
# grow memory without bound.
_MAX_PARTIAL = 1 << 20


class _LogFile:
    """The shared O_APPEND descriptor; closed only by ConsoleCapture.stop()."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd


class _Tee:
    """Stands in for sys.stdout or sys.stderr: the original gets every write, unchanged, first."""

    def __init__(self, original: TextIO | None, letter: str, log: _LogFile) -> None:
        self._original = original
        self._letter = letter
        self._log = log
        self._lock = threading.Lock()
        self._pending = ""
        self._pending_since = 0.0
        self._active = True
        _live.add(self)

    # -- what print() and logging use -------------------------------------------------

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            # Not ours to judge: the original raises exactly what it would have raised.
            return self._original.write(s)
        n = len(s)
        orig = self._original
        if orig is not None:
            try:
                n = orig.write(s)
            except (ValueError, OSError):
                # A closed or broken original (pythonw, closed stdout, EPIPE) must not
                # take the training run down; the log still gets the text.
                pass
        if self._active and s:
            self._log_text(s)
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # The pending partial line is deliberately kept: tqdm flushes after every redraw,
        # and logging each redraw would defeat the '\r' handling.
        orig = self._original
        if orig is not None:
            try:
                orig.flush()
            except (ValueError, OSError):
                pass

    def isatty(self) -> bool:
        orig = self._original
        if orig is None:
            return False
        try:
            return bool(orig.isatty())
        except (ValueError, OSError):
            return False

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set in __init__: fileno, encoding, errors, buffer,
        # closed, reconfigure... Libraries that inspect the stream must see the real one.
        if name.startswith("__") or name == "_original":
            # copy/pickle probe dunders before __init__ ran; do not recurse on _original.
            raise AttributeError(name)
        return getattr(self._original, name)

    # -- the log ----------------------------------------------------------------------

    def _log_text(self, s: str) -> None:
        now = time.time()
        mono = time.monotonic()
        error: OSError | None = None
        with self._lock:
            if not self._active:
                # stop() ran meanwhile; the descriptor may already be closed or reused.
                return
            pending = self._pending
            if not pending:
                self._pending_since = mono
            *complete, rest = (pending + s).split("\n")
            if rest and "\r" in rest:
                # Keep only the last redraw of a progress bar; its earlier states would be
                # overwritten on a terminal too.
                body = rest.rstrip("\r")
                cut = body.rfind("\r")
                if cut >= 0:
                    rest = rest[cut + 1 :]
            if complete:
                # A new partial line starts now, whatever the age of the old one.
                self._pending_since = mono
            lines = [_resolve_cr(c) for c in complete]
            if rest and (mono - self._pending_since >= STALE_PARTIAL_S or len(rest) > _MAX_PARTIAL):
                lines.append(_resolve_cr(rest))
                rest = ""
            self._pending = rest
            if lines:
                error = self._emit(lines, now)
        if error is not None:
            # Outside the lock: the warning itself may be printed to this very stream.
            warn_once("console_capture.write", f"output.log is no longer written: {error!r}")

    def _emit(self, lines: list[str], now: float) -> OSError | None:
        fd = self._log.fd
        if fd is None:
            return None
        prefix = f"{format_log_time(now)} {self._letter} "
        # One write per call so a line is never split across a crash or another writer.
        data = "".join(prefix + line + "\n" for line in lines).encode("utf-8", "backslashreplace")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as e:
            return e
        return None

    def _finish(self) -> None:
        """Log whatever partial line is left and stop logging (the original keeps its writes)."""
        error = None
        with self._lock:
            if self._pending:
                error = self._emit([_resolve_cr(self._pending)], time.time())
            self._pending = ""
            self._active = False
        if error is not None:
            warn_once("console_capture.write", f"output.log is no longer written: {error!r}")

    def _after_fork_in_child(self) -> None:
        # The parent may have been inside write() on another thread at fork time: that
        # thread does not exist here, so its lock would stay held forever. The partial line
        # is the parent's to log; logging it here too would duplicate it.
        self._lock = threading.Lock()
        self._pending = ""


_live: weakref.WeakSet[_Tee] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for tee in list(_live):
        tee._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    # Registered once for the module, not per capture: the hooks cannot be unregistered.
    os.register_at_fork(after_in_child=_reset_after_fork)


class ConsoleCapture:
    """Tees sys.stdout and sys.stderr into `log_path` between start() and stop()."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = Path(log_path)
        self._log: _LogFile | None = None
        self._out: _Tee | None = None
        self._err: _Tee | None = None

    def start(self) -> None:
        if self._log is not None:
            return
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self.log_path, flags, 0o644)
        except OSError as e:
            # Without a log there is nothing to tee into; training goes on uncaptured.
            warn_once("console_capture.open", f"console output not recorded: {e!r}")
            return
        self._log = _LogFile(fd)
        self._out = _Tee(sys.stdout, "O", self._log)
        self._err = _Tee(sys.stderr, "E", self._log)
        sys.stdout = self._out
        sys.stderr = self._err

    def stop(self) -> None:
        log, out, err = self._log, self._out, self._err
        if log is None or out is None or err is None:
            return
        # Only undo our own replacement: if something wrapped our tee since, putting the
        # originals back would silently remove that wrapper. Ours then just forwards.
        if sys.stdout is out:
            sys.stdout = out._original
        if sys.stderr is err:
            sys.stderr = err._original
        out._finish()
        err._finish()
        # Each tee's lock was taken in _finish after its last write, so no write is using
        # the descriptor while it closes (a reused fd number must never receive our lines).
        fd, log.fd = log.fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self._log = self._out = self._err = None
