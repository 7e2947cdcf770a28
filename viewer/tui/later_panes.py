"""The tabs whose panes are mounted after the runs table's first rows are drawn.

Composing all nine panes before the first paint held it ~0.2 s at 10,000 runs. The app
composes only the Runs pane; the others mount one a turn once rows are on screen (or at
once when their tab is opened first) and are handed the current selection.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import TabbedContent, TabPane

from viewer.data.run_colors import RunColors
from viewer.data.runs_table import RunInfo
from viewer.tui.artifacts_pane import ArtifactsPane
from viewer.tui.detail_pane import DetailPane
from viewer.tui.logs_pane import LogsPane
from viewer.tui.media.media_pane import MediaPane
from viewer.tui.metrics_pane import MetricsPane
from viewer.tui.pane import Pane
from viewer.tui.sql_pane import SqlPane
from viewer.tui.sweeps_pane import SweepsPane
from viewer.tui.system_pane import SystemPane

__all__ = ["LATER_PANES", "LATER_PANES_AT_MOST_S", "mount_later_panes", "mount_pane"]

LATER_PANES: tuple[tuple[str, str, type[Pane]], ...] = (
    ("metrics", "Metrics", MetricsPane),
    ("system", "System", SystemPane),
    ("logs", "Logs", LogsPane),
    ("detail", "Detail", DetailPane),
    ("sql", "SQL", SqlPane),
    ("media", "Media", MediaPane),
    ("artifacts", "Artifacts", ArtifactsPane),
    ("sweeps", "Sweeps", SweepsPane),
)

# The latest the panes mount when no rows are drawn (an empty root, or another tab first).
LATER_PANES_AT_MOST_S = 2.0

Selection = Callable[[], tuple[list[RunInfo], RunColors]]


def _holder(tabs: TabbedContent, tab: str) -> TabPane | None:
    try:
        return tabs.query_one(f"#{tab}", TabPane)
    except NoMatches:
        return None  # the app is shutting down: its widgets are going


async def mount_pane(app: App, tabs: TabbedContent, tab: str, selection: Selection) -> Pane | None:
    """The pane of `tab`, mounted now if it is not yet, with the current selection."""
    # Mounting while the app shuts down runs a pane's on_mount without its children.
    if not app.is_running or not tabs.is_attached:
        return None
    holder = _holder(tabs, tab)
    if holder is None:
        return None
    if holder.children:
        return next(iter(holder.query(Pane)), None)
    kind = next((cls for t, _, cls in LATER_PANES if t == tab), None)
    if kind is None:
        return None
    pane = kind(id=f"{tab}-pane")
    await holder.mount(pane)
    pane.selection_changed(*selection())
    return pane


async def mount_later_panes(app: App, tabs: TabbedContent, selection: Selection) -> None:
    """Mount the next pane not yet mounted, then the rest on later turns, so that keys
    pressed meanwhile are not held behind all eight."""
    for tab, _, _ in LATER_PANES:
        holder = _holder(tabs, tab)
        if holder is not None and not holder.children:
            await mount_pane(app, tabs, tab, selection)
            if app.is_running:
                app.call_after_refresh(partial(mount_later_panes, app, tabs, selection))
            return
