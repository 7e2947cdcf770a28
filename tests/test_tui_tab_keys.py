"""Switching tabs while a text input has the focus: alt+digit, or esc then the digit."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TabbedContent
from tui_fixtures import STANDARD, make_runs
from tui_helpers import focus, screen_text, settle, wait_until

from viewer.tui.app import LoupeApp
from viewer.tui.help_screen import HelpScreen


@pytest.fixture
def root(tmp_path):
    make_runs(tmp_path / "runs", STANDARD[:2])
    return tmp_path / "runs"


def active(app) -> str:
    return app.query_one(TabbedContent).active


async def open_sql_input(app, pilot) -> Input:
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    sql = app.query_one("#sql-input", Input)
    await focus(pilot, sql)
    return sql


async def test_digit_types_into_the_sql_input_but_alt_digit_switches_tab(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        sql = await open_sql_input(app, pilot)
        await pilot.press("7")
        assert sql.value.endswith("7") and active(app) == "sql"  # a digit is text here
        await pilot.press("alt+3")
        await wait_until(pilot, lambda: active(app) == "system", what="the System tab")


async def test_esc_leaves_the_input_then_the_digit_switches_tab(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        sql = await open_sql_input(app, pilot)
        sql.value = "SELECT 1"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.focused, Input), what="focus out of the input")
        assert active(app) == "sql" and sql.value == "SELECT 1"  # esc alone neither switches nor clears
        await pilot.press("3")
        await wait_until(pilot, lambda: active(app) == "system", what="the System tab")


async def test_esc_then_digit_from_the_metrics_filter(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash")
        await wait_until(pilot, lambda: isinstance(app.focused, Input), what="the metrics filter focused")
        await pilot.press("escape", "1")
        await wait_until(pilot, lambda: active(app) == "runs", what="the Runs tab")


async def test_footer_and_help_tell_how_to_leave_an_input(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_sql_input(app, pilot)
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "alt+1…9" in footer and "Leave input" in footer
        await pilot.press("escape", "question_mark")  # in the input `?` is text
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        text = screen_text(app)
        assert "alt+1 … alt+9" in text and "esc, then 1 … 9" in text
