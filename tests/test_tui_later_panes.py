"""The other tabs' panes are mounted after the runs table's first rows are drawn.

Quitting while they mount must not end in a traceback, a tab opened before its pane is
mounted must show at once, and a pane mounted late must show the current selection.
"""

from __future__ import annotations

import asyncio

import pytest
from rich.text import Text
from textual.widgets import TabbedContent, TabPane
from tui_fixtures import STANDARD, make_runs
from tui_helpers import wait_until

from viewer.tui.app import LoupeApp
from viewer.tui.detail_pane import DetailPane
from viewer.tui.help_screen import HelpScreen
from viewer.tui.later_panes import LATER_PANES
from viewer.tui.pane import Pane
from viewer.tui.runs_pane import RunsPane


@pytest.fixture
def root(tmp_path):
    make_runs(tmp_path / "runs", STANDARD[:2])
    return tmp_path / "runs"


def mounted_tabs(app) -> set[str]:
    main = app.screen_stack[0]  # the dashboard's screen, under any dialog
    return {tab for tab, _, _ in LATER_PANES if main.query_one(f"#{tab}", TabPane).query(Pane)}


def overview(pane: DetailPane) -> str:
    r = pane.query_one("#detail-overview-text").render()
    return r.plain if isinstance(r, Text) else str(r)


@pytest.mark.parametrize("panes", [0, 1, 3, 6])
async def test_quitting_while_the_other_tabs_mount_ends_cleanly(root, panes):
    # run_test raises whatever the app raised; a pane set up without its children did.
    # Polled without waiting for the app to go idle, so that it quits mid-mount.
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)):
        deadline = asyncio.get_running_loop().time() + 30
        while len(mounted_tabs(app)) < panes and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)
        assert len(mounted_tabs(app)) >= panes


async def test_every_tab_gets_its_pane_without_being_visited(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: mounted_tabs(app) == {t for t, _, _ in LATER_PANES}, what="all panes")
        assert app.query_one(TabbedContent).active == "runs"
        # Mounted late, the Detail pane still shows the run selected at start.
        detail = app.query_one(DetailPane)
        assert app.selected and detail.run_ids == app.selected
        name = next(r.name for r in app.all_runs if r.id == app.selected[0])
        await pilot.press("5")
        await wait_until(pilot, lambda: name in overview(detail), what="the selected run in Detail")


async def test_a_tab_opened_at_once_shows_its_pane(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")  # before the runs table is drawn, most likely
        await wait_until(pilot, lambda: app.query(DetailPane), what="the Detail pane")
        detail = app.query_one(DetailPane)
        await wait_until(pilot, lambda: detail.run_ids and detail.run_ids == app.selected, what="the selection")
        name = next(r.name for r in app.all_runs if r.id == app.selected[0])
        await wait_until(pilot, lambda: name in overview(detail), what="the selected run in Detail")
        assert app.query_one(TabbedContent).active == "detail"


async def test_an_empty_root_still_mounts_every_pane(tmp_path):
    (tmp_path / "empty").mkdir()
    app = LoupeApp([tmp_path / "empty"], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: mounted_tabs(app) == {t for t, _, _ in LATER_PANES}, what="all panes")


async def test_a_dialog_opened_while_the_panes_mount_stops_nothing(root):
    # The panes go into the dashboard's screen, not the help screen on top of it.
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.query(RunsPane) and app.query_one(RunsPane).shown, what="the runs")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await wait_until(pilot, lambda: mounted_tabs(app) == {t for t, _, _ in LATER_PANES}, what="all panes")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
        await pilot.press("5")
        detail = app.query_one(DetailPane)
        name = next(r.name for r in app.all_runs if r.id == app.selected[0])
        await wait_until(pilot, lambda: name in overview(detail), what="the selected run in Detail")
