"""The poller behind RootWatcher's polling mode: cheap enough for 10,000 runs every second.

    RunPoller(roots, kick, interval=POLL_S).start() / .stop()

Not watchdog's PollingObserver (which stats every file). Every LISTING_S it lists the
projects and runs: a run that appeared or went is announced from that alone. Every
`interval` it also stats each run directory (the recorder and `loupe` replace sidecars
by rename, which changes it; the heartbeat renames run.json every 5 s), and for runs
whose directory changed within LIVE_WINDOW_S, their stream directories, journals,
summary.json and output.log. `kick()` is called from the poller's thread when anything
differs from the last look.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from recorder import layout
from viewer.data.batch_stat import mtimes_ns, stats
from viewer.data.dir_listing import DirListings

__all__ = ["LISTING_S", "LIVE_WINDOW_S", "POLL_S", "RunPoller", "subdirs"]

POLL_S = 1.0
LISTING_S = 0.25
LIVE_WINDOW_S = 60.0
_LIVE_FILES = (layout.SUMMARY_FILE, layout.OUTPUT_LOG, layout.CONFIG_FILE, layout.METRICS_FILE)


def subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            return [e.path for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


class RunPoller:
    """Our own cheap poller (see the module docstring); kicks when the signature changes."""

    def __init__(self, roots: Sequence[Path], kick: Callable[[], None], interval: float = POLL_S) -> None:
        self._roots = list(roots)
        self._kick = kick
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loupe-live-poll", daemon=True)
        self._last: dict[str, tuple] | None = None
        self._listings = DirListings()

    def start(self) -> None:
        # The first signature is taken on the thread too: on 5,000 runs it is a walk of
        # ~150 ms, and start() is called from the app.
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _loop(self) -> None:
        try:
            self._last = self.signature()
        except Exception:
            self._last = None
        # The listing (a few directory reads) is looked at every LISTING_S, the full
        # signature (a stat a run: ~0.5 s of a busy process at 10,000 runs) every interval:
        # a run that appears is announced within LISTING_S, before any stat.
        listing_every = min(self._interval, LISTING_S)
        next_full = time.monotonic() + self._interval
        while not self._stop.wait(listing_every):
            try:
                listing = self.listing()
                early = self._last is not None and any(self._last.get(k) != v for k, v in listing.items())
                if early:
                    self._kick()
                elif time.monotonic() < next_full:
                    continue
                next_full = time.monotonic() + self._interval
                sig = self.signature(listing)
            except Exception:
                continue
            if sig != self._last:
                self._last = sig
                if not early:
                    self._kick()

    def listing(self) -> dict[str, tuple]:
        """Each root's project names and each project's run names (a part of signature()).

        A directory is listed again only when its mtime changed (viewer.data.dir_listing):
        listing 10,000 runs from Python every LISTING_S would wait on the GIL for seconds
        beside the busy dashboard."""
        out: dict[str, tuple] = {}
        for root in self._roots:
            root_s = os.fspath(root)
            projects = self._plain_subdirs(root_s, mtimes_ns([root_s])[0])
            out[root_s] = tuple(os.path.basename(p) for p in projects)
            for project, mtime in zip(projects, mtimes_ns(projects), strict=True):
                out[project] = tuple(os.path.basename(r) for r in self._plain_subdirs(project, mtime))
        return out

    def _plain_subdirs(self, directory: str, mtime_ns: int | None) -> list[str]:
        subdirs = self._listings.subdirs(directory, mtime_ns, _ignore)
        return [d.path for d in subdirs if not d.is_symlink]

    def signature(self, listing: dict[str, tuple] | None = None) -> dict[str, tuple]:
        listing = self.listing() if listing is None else listing
        sig: dict[str, tuple] = dict(listing)
        now_ns = time.time_ns()
        window_ns = int(LIVE_WINDOW_S * 1e9)
        for root in self._roots:
            root_s = os.fspath(root)
            for project_name in listing.get(root_s, ()):
                project = os.path.join(root_s, project_name)
                runs = [os.path.join(project, name) for name in listing.get(project, ())]
                for run, mtime_ns in zip(runs, mtimes_ns(runs), strict=True):
                    if mtime_ns is None:
                        continue  # gone since the listing
                    # One stat a run: the recorder and `loupe` replace run.json, edits.json
                    # and the other sidecars by rename, which changes the directory's mtime
                    # (the heartbeat does every 5 s). At 10,000 runs, half the stats of
                    # looking at run.json and edits.json themselves.
                    sig[run] = (mtime_ns,)
                    if now_ns - mtime_ns > window_ns:
                        continue
                    # A live run: what a reader would show changes in these files.
                    live = stats([os.path.join(run, name) for name in _LIVE_FILES])
                    extra: list[tuple] = list(zip(_LIVE_FILES, live, strict=True))
                    for d in layout.STREAM_DIRS:
                        dpath = os.path.join(run, d)
                        try:
                            with os.scandir(dpath) as it:
                                for e in it:
                                    if e.name.startswith(layout.TMP_PREFIX):
                                        continue
                                    if layout.parse_journal(e.name) is not None:
                                        try:
                                            s = e.stat()
                                            extra.append((d, e.name, s.st_mtime_ns, s.st_size))
                                        except OSError:
                                            pass
                                    else:
                                        extra.append((d, e.name))
                        except OSError:
                            pass
                    sig[run] = (*sig[run], tuple(extra))
        return sig


def _ignore(exc: OSError) -> None:
    pass  # a directory that cannot be listed has no runs to announce
