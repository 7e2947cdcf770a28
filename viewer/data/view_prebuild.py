"""Views built from the run catalog's rows on a thread while the roots are walked.

An open spends its time in two waits of about the same size: stats of every run
directory (find_runs, ~35 ms at 10,000 runs) and DuckDB building the views (~60 ms), each
mostly outside the GIL. The catalog already says which runs the walk will most likely
find, so the views are built from it at the same time. When the walk finds the catalog
right, which is what a second open of a root nobody wrote to sees, the views stand;
otherwise ViewConnection.show() gets other rows and they are built again, as without
this. Warnings raised meanwhile are held back and shown only for views that stand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["ViewPrebuild"]


class ViewPrebuild:
    """One build on its own thread; join() before anything else touches the views."""

    def __init__(self, build: Callable[[], object], forget: Callable[[], None]) -> None:
        self._build = build
        self._forget = forget  # a failed build leaves nothing half made behind
        self._held: list[tuple[str, str]] = []
        self.failed = False
        self._thread = threading.Thread(target=self._run, name="loupe-view-prebuild", daemon=True)

    def start(self) -> ViewPrebuild:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._build()
        except Exception:
            # Whatever it was (a run removed since the catalog was saved, a part
            # replaced) is met again, and reported, by the build that follows.
            self.failed = True
            self._forget()

    def holds(self, key: str, message: str) -> bool:
        """Keep a warning raised on the build's thread; False for any other thread's."""
        if threading.current_thread() is not self._thread:
            return False
        self._held.append((key, message))
        return True

    def join(self) -> None:
        self._thread.join()

    def settle(self, views_stand: bool, warn: Callable[[str, str], None]) -> None:
        """After join(): show the held warnings if the views built are the ones kept."""
        if views_stand and not self.failed:
            for key, message in self._held:
                warn(key, message)
        self._held = []
