"""The runs this process has open: the module-level `recorder.run`, atexit and crash hooks."""

from __future__ import annotations

import atexit
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorder.run_api import Run

_lock = threading.Lock()
_runs: list[Run] = []
_hooks_installed = False


def current() -> Run | None:
    return _runs[-1] if _runs else None


def add(run: Run) -> None:
    global _hooks_installed
    with _lock:
        _runs.append(run)
        if not _hooks_installed:
            _hooks_installed = True
            atexit.register(_finish_all)
            _install_excepthook()


def forget(run: Run) -> None:
    with _lock:
        if run in _runs:
            _runs.remove(run)


def _finish_all() -> None:
    for run in list(reversed(_runs)):
        try:
            run.finish(exit_code=1 if run._files is not None and run._files.error else None)
        except Exception:
            pass


def _install_excepthook() -> None:
    # An uncaught exception reaches sys.excepthook before atexit runs: record it so the
    # run is marked failed with its traceback instead of finished.
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        for run in list(_runs):
            try:
                run._record_exception(exc)
            except Exception:
                pass
        previous(exc_type, exc, tb)

    sys.excepthook = hook
