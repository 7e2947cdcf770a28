"""Pilot helpers shared by the dashboard tests."""

from __future__ import annotations

import asyncio


async def settle(app, pilot, t: float = 0.1) -> None:
    """Let workers finish and the screen catch up."""
    await asyncio.wait_for(app.workers.wait_for_complete(), 20)
    await pilot.pause(t)


async def focus_in(pilot, pane) -> None:
    """Wait until focus is inside `pane` (the app focuses a pane's main widget after a tab
    switch; under load that can land a frame late, so ask again)."""
    app = pane.app
    for _ in range(50):
        f = app.focused
        if f is not None and (f is pane or pane in f.ancestors):
            return
        pane.focus_default()
        await pilot.pause(0.02)
    raise AssertionError(f"focus never reached {pane}")


async def focus(pilot, widget) -> None:
    """Focus one widget, asking again until it has it."""
    for _ in range(50):
        widget.focus()
        await pilot.pause(0.02)
        if widget.app.focused is widget:
            return
    raise AssertionError(f"could not focus {widget}")


async def open_tab(app, pilot, key: str, pane_type):
    """Press a tab key and return that tab's pane, with focus inside it."""
    await settle(app, pilot)
    await pilot.press(key)
    await settle(app, pilot)
    pane = app.query_one(pane_type)
    await focus_in(pilot, pane)
    return pane
