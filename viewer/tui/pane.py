"""What every dashboard pane shares: the selected runs, and fetching off the event loop.

Panes call the query layer (app.store) only inside thread workers started with
`self.fetch(...)` (viewer.tui.latest_fetch), which applies only the newest result of each
group on the event loop; they never open files or build SQL themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from viewer.data.metric_panels import MAX_OVERLAID_RUNS
from viewer.data.run_colors import RunColors
from viewer.tui.latest_fetch import FetchesLatest

if TYPE_CHECKING:
    from viewer.data.runs_table import RunInfo
    from viewer.data.store import Store


class Pane(FetchesLatest, Widget):
    """A tab's content. The app calls selection_changed() and runs_changed()."""

    # Panes that show only the selected runs' files skip live rescans that changed none
    # of them; panes that list things under the roots (artifacts, sweeps) take every one.
    selected_runs_only = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[RunInfo] = []
        self.run_colors = RunColors()
        self._stale = True
        # Panes that show one run at a time show this one of the selected runs ([ and ]).
        self.run_index = 0

    @property
    def store(self) -> Store | None:
        return getattr(self.app, "store", None)

    @property
    def roots(self) -> list[Path]:
        """The run roots being shown (the store's, or the app's before the store is open)."""
        store = self.store
        if store is not None:
            return list(store.roots)
        return [Path(r) for r in getattr(self.app, "roots", [])]

    @property
    def run_ids(self) -> list[str]:
        return [r.id for r in self.runs]

    @property
    def overlaid_run_ids(self) -> list[str]:
        """The selected runs that plots overlay: the first MAX_OVERLAID_RUNS."""
        return self.run_ids[:MAX_OVERLAID_RUNS]

    @property
    def current_run(self) -> RunInfo | None:
        if not self.runs:
            return None
        self.run_index = min(self.run_index, len(self.runs) - 1)
        return self.runs[self.run_index]

    def keep_showing(self, runs: list[RunInfo], run_id: str | None) -> None:
        """After the selection changes, stay on `run_id` if it is still selected."""
        ids = [r.id for r in runs]
        self.run_index = ids.index(run_id) if run_id in ids else 0

    def step_run(self, delta: int) -> bool:
        """Move to the previous/next selected run; False when there is nothing to move to."""
        if len(self.runs) < 2:
            return False
        self.run_index = (self.run_index + delta) % len(self.runs)
        return True

    def selection_changed(self, runs: list[RunInfo], colors: RunColors) -> None:
        self.runs = runs
        self.run_colors = colors
        self.request_refresh()

    def on_mount(self) -> None:
        # The app mounts the hidden tabs' panes after the first paint. If it is shut down
        # meanwhile, Textual still sends a pane its Mount without having mounted its
        # children: set-up that looks them up runs only in a running app.
        if self.app.is_running:
            self.pane_mounted()

    def pane_mounted(self) -> None:
        """Set-up that needs the pane's children (subclasses)."""

    def runs_changed(self, changed: frozenset[str]) -> None:
        """A live rescan finished; `changed` holds the selected runs whose files changed."""
        if not self.selected_runs_only or changed & set(self.run_ids):
            self.data_changed()

    def data_changed(self) -> None:
        """Files under the roots changed (live runs): fetch again if this pane is showing."""
        self.request_refresh()

    def request_refresh(self) -> None:
        self._stale = True
        if self.is_showing:
            self._stale = False
            self.reload()

    def on_show(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    @property
    def is_showing(self) -> bool:
        """True when this pane's tab is the active one (decided by the tabs, not by layout,
        which lags a tab switch by a frame)."""
        from textual.widgets import TabbedContent, TabPane

        try:
            if not self.is_mounted or not self.screen.is_current:
                return False
        except Exception:
            return False
        for node in self.ancestors:
            if isinstance(node, TabPane):
                tabs = next((a for a in node.ancestors if isinstance(a, TabbedContent)), None)
                return tabs is None or tabs.active == node.id
        return bool(self.display)

    def focus_default(self) -> None:
        """Focus the pane's main widget (not its filter box), so its keys work at once."""
        from textual.widgets import Input

        candidates = [w for w in self.query("*") if w.focusable]
        for w in candidates:
            if not isinstance(w, Input):
                w.focus()
                return
        if candidates:
            candidates[0].focus()

    def reload(self) -> None:
        """Start a worker that fetches this pane's data (subclasses)."""
