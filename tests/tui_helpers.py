"""Pilot helpers shared by the dashboard tests: wait on conditions, never for a fixed time.

`settle` waits until the app is quiet (no worker running, every message handled);
`wait_until` waits for what a test is about to assert. Both give up at a deadline with
an AssertionError, so a slow machine makes a test slower, never wrong.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.worker import WorkerFailed

from viewer.data.run_colors import RunColors
from viewer.data.store import Store
from viewer.tui.messages import SelectionChanged
from viewer.tui.styles import STYLESHEETS

# Generous: nine test sessions may share two cores. Tests that pass never wait this long.
DEADLINE_S = 30.0


def screen_text(app) -> str:
    """What the screen would print, segment text only (styles are separate data)."""
    return "\n".join("".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips())


async def settle(pilot, timeout: float = DEADLINE_S) -> None:
    """Wait until no worker is running and the screen has handled every pending message.

    A worker's result can start another fetch (a key list, then its first item), so this
    loops until a pause finds nothing new started."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        running = [w.wait() for w in app.workers if not w.is_finished]
        try:
            # A worker superseded meanwhile ends cancelled: that is how it should end.
            outcomes = await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), max(left, 0.01))
        except TimeoutError:
            raise AssertionError(f"workers still running after {timeout:.0f} s: {list(app.workers)}") from None
        for outcome in outcomes:
            if isinstance(outcome, WorkerFailed):
                raise outcome
        await pilot.pause()
        if all(w.is_finished for w in app.workers):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"workers still running after {timeout:.0f} s: {list(app.workers)}")


async def wait_until(pilot, condition: Callable[[], object], timeout: float = DEADLINE_S, what: str = "") -> None:
    """Wait until `condition()` is true (checked between turns of the app's event loop)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        await pilot.pause(0.02)


async def stays_true(pilot, condition: Callable[[], object], window: float = 0.5, what: str = "") -> None:
    """For what must NOT happen: `condition()` holds on every turn of the loop for `window` s.

    Only after the work that could break it is known to be done (wait for that first); the
    window covers the few steps between that and the event loop showing its result."""
    end = time.monotonic() + window
    while time.monotonic() < end:
        assert condition(), f"no longer true: {what or condition}"
        await pilot.pause(0.02)
    assert condition(), f"no longer true: {what or condition}"


async def focus_in(pilot, pane) -> None:
    """Wait until focus is inside `pane` (the app focuses a pane's main widget after a tab
    switch; under load that can land a frame late, so ask again)."""
    app = pane.app

    def inside() -> bool:
        f = app.focused
        if f is not None and (f is pane or pane in f.ancestors):
            return True
        pane.focus_default()
        return False

    await wait_until(pilot, inside, what=f"focus inside {pane}")


async def focus(pilot, widget) -> None:
    """Focus one widget, asking again until it has it."""

    def focused() -> bool:
        if widget.app.focused is widget:
            return True
        widget.focus()
        return False

    await wait_until(pilot, focused, what=f"focus on {widget}")


async def open_tab(app, pilot, key: str, pane_type):
    """Press a tab key and return that tab's pane, with focus inside it."""
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    pane = app.query_one(pane_type)
    await focus_in(pilot, pane)
    return pane


class PaneApp(App):
    """A bare app holding one pane and a real Store, styled as LoupeApp is."""

    CSS_PATH = STYLESHEETS

    def __init__(self, roots, pane) -> None:
        super().__init__()
        self.store = Store(roots)
        self.pane = pane
        self.run_colors = RunColors()
        self.selections: list[list[str]] = []  # what the pane asked the app to select

    def compose(self) -> ComposeResult:
        yield self.pane

    def select(self, names: list[str]) -> None:
        """Hand the pane the runs with these names as the selection, as the app would."""
        runs = {r.name: r for r in self.store.runs()}
        self.select_runs([runs[n] for n in names])

    def select_ids(self, ids: list[str]) -> None:
        by_id = {r.id: r for r in self.store.runs()}
        self.select_runs([by_id[i] for i in ids])

    def select_runs(self, chosen) -> None:
        for r in chosen:
            self.run_colors.assign(r.id)
        self.pane.selection_changed(chosen, self.run_colors)

    def on_selection_changed(self, message: SelectionChanged) -> None:
        self.selections.append(message.run_ids)


def plot_axis_labels(plot) -> tuple[list[str], list[str]]:
    """The x and y tick labels a plotext widget shows, read off its drawn text."""
    lines = plot.render().plain.splitlines()
    axis = next((i for i, line in enumerate(lines) if "└" in line), None)
    if axis is None:
        return [], []
    x_labels = lines[axis + 1].split() if axis + 1 < len(lines) else []
    y_labels = [line.split("┤")[0].strip() for line in lines[:axis] if "┤" in line]
    return x_labels, [y for y in y_labels if y]
