"""Notice changes under the run roots: inotify through watchdog, or polling where that fails.

    w = RootWatcher(roots, on_change, poll=None)   # poll=True forces polling
    w.start(); ...; w.stop()
    w.mode        -> "inotify" | "polling"
    w.mode_note   -> one line for the help screen/status, e.g. "live: polling (nfs4 at /mnt/x)"

`on_change()` is called from a background thread, at most once per COALESCE_S however
many events arrive; it carries no details (the app rescans through the store). Events
can still be lost (queue overflow), so the app keeps its own periodic reconcile scan.

Mode choice (FINDINGS: inotify sees no remote writes on network filesystems; hitting
`max_user_watches` fails silently; open/close-without-write events overflowed the queue
at >= 2,000 runs):
- polling when forced, when a root is on a network filesystem (from /proc/mounts), or
  when the estimated number of directories to watch exceeds what
  /proc/sys/fs/inotify/max_user_watches allows;
- otherwise a recursive watchdog inotify watch per root, subscribed only to
  create/modify/move/delete/close-after-write events; if adding watches fails
  (ENOSPC: limit reached, or any OSError), polling takes over and the note says why.

Polling is our own poller (viewer.data.run_poller), not watchdog's PollingObserver.

No Textual import here: this is the data layer.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # watchdog is imported only when inotify is chosen
    from watchdog.observers.api import BaseObserver

from viewer.data.run_poller import POLL_S, RunPoller, subdirs

__all__ = ["COALESCE_S", "NETWORK_FS", "POLL_S", "RootWatcher", "estimate_watch_dirs", "max_user_watches", "network_fs"]

COALESCE_S = 0.2
# Share of the inotify limit we allow ourselves: other programs (editors, IDEs) use it too.
WATCH_BUDGET = 0.8

NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "virtiofs",
        "ceph",
        "glusterfs",
        "beegfs",
        "afs",
        "ncpfs",
        "davfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.ceph",
        "fuse.gcsfuse",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.juicefs",
        "fuse.lustre",
        "fuse.beegfs",
        "fuse.davfs2",
    }
)


def _unescape_mount(path: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and i + 4 <= len(path) and path[i + 1 : i + 4].isdigit():
            out.append(chr(int(path[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def read_mounts(text: str | None = None) -> list[tuple[str, str]]:
    """(mount point, fs type) pairs from /proc/mounts (or from `text`)."""
    if text is None:
        try:
            with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return []
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out.append((_unescape_mount(parts[1]), parts[2]))
    return out


def network_fs(path: str | os.PathLike[str], mounts: list[tuple[str, str]] | None = None) -> str | None:
    """The network filesystem type `path` lives on, or None when it is local (or unknown)."""
    if mounts is None:
        mounts = read_mounts()
    real = os.path.realpath(path)
    best, best_type = "", None
    for point, fstype in mounts:
        p = point.rstrip("/") or "/"
        if (real == p or real.startswith(p.rstrip("/") + "/") or p == "/") and len(p) >= len(best):
            best, best_type = p, fstype
    if best_type is None:
        return None
    return best_type if best_type in NETWORK_FS else None


def max_user_watches() -> int | None:
    try:
        with open("/proc/sys/fs/inotify/max_user_watches") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def estimate_watch_dirs(roots: Sequence[str | os.PathLike[str]], sample: int = 20) -> int:
    """Directories a recursive watch would need: roots, projects, runs and (sampled) their subdirs.

    Cheap: one scandir per root and per project, plus a recursive count of `sample`
    runs to estimate how many directories a run holds.
    """
    total = 0
    runs: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            continue
        total += 1
        for project in subdirs(os.fspath(root)):
            total += 1
            runs.extend(subdirs(project))
    total += len(runs)
    if runs:
        step = max(1, len(runs) // sample)
        picked = runs[::step][:sample]
        inner = 0
        for r in picked:
            for _dirpath, dirnames, _files in os.walk(r):
                inner += len(dirnames)
        total += round(inner / len(picked) * len(runs))
    return total


class _Coalescer:
    """Calls `fn` at most every `interval` seconds while `kick()`s keep coming, on its own thread."""

    def __init__(self, fn: Callable[[], None], interval: float = COALESCE_S) -> None:
        self._fn = fn
        self._interval = interval
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loupe-live-coalesce", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        self._event.set()

    def stop(self) -> None:
        self._stop.set()
        self._event.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._event.wait()
            if self._stop.is_set():
                return
            self._event.clear()
            try:
                self._fn()
            except Exception:  # a failing callback must not end live updates
                pass
            # Events during this pause set the flag again and give one more call after it.
            self._stop.wait(self._interval)


class RootWatcher:
    """Calls `on_change()` (from a background thread, coalesced) when files under `roots` change."""

    def __init__(
        self,
        roots: Sequence[str | os.PathLike[str]],
        on_change: Callable[[], None],
        poll: bool | None = None,
        *,
        _mounts: list[tuple[str, str]] | None = None,
        _watch_limit: int | None = None,
    ) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.on_change = on_change
        self.poll = poll
        self.mode = "polling" if poll else "inotify"
        self.mode_note = ""
        self._mounts = _mounts
        self._watch_limit = _watch_limit
        self._coalescer = _Coalescer(on_change)
        self._observer: BaseObserver | None = None
        self._poller: RunPoller | None = None
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # -- choosing -------------------------------------------------------------------------
    def _choose(self) -> tuple[str, str]:
        if self.poll:
            return "polling", "live: polling (--poll)"
        mounts = self._mounts if self._mounts is not None else read_mounts()
        for root in self.roots:
            fs = network_fs(root, mounts)
            if fs is not None:
                return "polling", f"live: polling ({fs} at {root})"
        try:
            import watchdog.observers  # noqa: F401
        except Exception as exc:  # pragma: no cover - watchdog is a dependency
            return "polling", f"live: polling (watchdog unavailable: {exc})"
        limit = self._watch_limit if self._watch_limit is not None else max_user_watches()
        if limit is not None:
            need = estimate_watch_dirs(self.roots)
            if need > limit * WATCH_BUDGET:
                return "polling", (
                    f"live: inotify watch limit too low ({need} directories, max_user_watches {limit}); polling"
                )
        return "inotify", "live: inotify"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Choose the mode (cheap: a few scandirs) and start watching.

        Adding inotify watches for thousands of directories takes a while, so it happens
        on a background thread; if it fails, `mode`/`mode_note` switch to polling then.
        """
        with self._lock:
            if self._started or self._stopped:
                return  # stop() may come first when start() runs on another thread
            self._started = True
            self.mode, self.mode_note = self._choose()
            self._coalescer.start()
            if self.mode == "polling":
                self._start_polling()
                return
        threading.Thread(target=self._start_inotify, name="loupe-live-start", daemon=True).start()

    def _start_polling(self) -> None:
        self._poller = RunPoller(self.roots, self._coalescer.kick)
        self._poller.start()

    def _start_inotify(self) -> None:
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer

        kick = self._coalescer.kick

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                # opened / closed-without-write are filtered at the inotify level already;
                # drop them here too in case a backend delivers them anyway.
                if event.event_type in ("opened", "closed_no_write"):
                    return
                kick()

        wanted = [
            FileCreatedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileDeletedEvent,
            FileClosedEvent,
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
        ]
        observer = Observer()
        try:
            for root in self.roots:
                if not root.is_dir():
                    continue
                observer.schedule(Handler(), str(root), recursive=True, event_filter=wanted)
            observer.start()
        except OSError as exc:
            try:
                observer.stop()
            except Exception:
                pass
            if exc.errno == errno.ENOSPC:
                why = f"inotify watch limit reached ({max_user_watches() or '?'})"
            elif exc.errno == errno.EMFILE:
                why = "inotify instance limit reached"
            else:
                why = f"inotify failed: {exc.strerror or exc}"
            with self._lock:
                if self._stopped:
                    return
                self.mode, self.mode_note = "polling", f"live: {why}; polling"
                self._start_polling()
            return
        with self._lock:
            if self._stopped:
                observer.stop()
                return
            self._observer = observer

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            observer, self._observer = self._observer, None
            poller, self._poller = self._poller, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(2.0)
            except Exception:
                pass
        if poller is not None:
            poller.stop()
        self._coalescer.stop()
