"""SQL console pane: results with a row limit, errors inline, sandbox refusals, cancel, history."""

from __future__ import annotations

import time

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input
from tui_helpers import focus, focus_in, settle, wait_until

import recorder
from viewer.tui.app import LoupeApp
from viewer.tui.sql_pane import SqlPane

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

INJECT = "[@click=app.quit]x[/bold][link=file:///etc/passwd]y\x1b]0;title\x07\x1b[2J\x1b[6n"


def make_runs(root, n=3):
    for i in range(n):
        run = recorder.init(
            dir=root,
            project="p",
            system_interval=0,
            capture_console=False,
            reinit="create_new",
            name=f"run{i}",
            config={"lr": 0.1 * (i + 1)},
        )
        for s in range(5):
            run.log({"loss": 1.0 / (s + 1 + i)})
        run.finish()


async def open_sql(app, pilot):
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    pane = app.query_one(SqlPane)
    await focus_in(pilot, pane)
    return pane, pane.query_one("#sql-input", Input)


async def submit(app, pilot, pane, inp, sql, wait=True, keys=False):
    inp.value = sql
    if keys:  # through the keyboard (slow under load: keep it to a few)
        await focus(pilot, inp)
        await pilot.press("enter")
    else:
        pane.run_query(sql)
    if wait:
        await settle(pilot)


async def cancel(pilot, pane, key: str) -> float:
    """Press `key` until the running query stops; seconds from the press that stopped it.

    An interrupt that reaches DuckDB before it starts executing the query is lost, so a
    press that changed nothing within two seconds is made again."""
    deadline = time.monotonic() + 20
    while True:
        pressed = time.monotonic()
        await pilot.press(key)
        try:
            await wait_until(pilot, lambda: not pane.running, timeout=2.0)
            return time.monotonic() - pressed
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def table_rows(pane):
    t = pane.query_one("#sql-results", DataTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def test_results_limit_error_and_history(tmp_path):
    make_runs(tmp_path, 3)
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, inp = await open_sql(app, pilot)
        await submit(app, pilot, pane, inp, 'SELECT name, "config.lr" FROM runs ORDER BY name;', keys=True)
        assert pane.error_text == "", pane.error_text
        assert pane.status_text.startswith("3 rows"), pane.status_text
        assert table_rows(pane) == [["run0", "0.1"], ["run1", "0.2"], ["run2", "0.3"]]
        assert pane.status_text.startswith("3 rows")
        cols = [c.label.plain for c in pane.query_one("#sql-results", DataTable).columns.values()]
        assert cols == ["name", "config.lr"]

        await submit(app, pilot, pane, inp, "SELECT run_id, _step, loss FROM history ORDER BY loss DESC -- biggest")
        rows = table_rows(pane)
        assert len(rows) == 15 and rows[0][2] == "1"

        # Row limit with a probe row: the console never materialises everything.
        await submit(app, pilot, pane, inp, "SELECT range AS i FROM range(100000)")
        assert pane.result_rows == 500 and pane.result_more
        assert pane.status_text.startswith("500 of >500 rows")

        # Errors inline, in plain text; the table keeps the last result.
        await submit(app, pilot, pane, inp, "SELECT no_such_column FROM runs")
        assert "no_such_column" in pane.error_text
        assert pane.query_one("#sql-error").has_class("visible")
        await submit(app, pilot, pane, inp, "SELECT 1; SELECT 2")
        assert "one SQL statement" in pane.error_text
        # Sandbox refusals surface as the error text.
        await submit(app, pilot, pane, inp, "SELECT * FROM read_text('/etc/passwd')")
        assert pane.error_text and "root:" not in pane.error_text
        await submit(app, pilot, pane, inp, "COPY runs TO '/tmp/x.csv'")
        assert "only SELECT" in pane.error_text

        # History: up walks back, down forward.
        inp.value = ""
        await focus(pilot, inp)
        await pilot.press("up")
        assert inp.value == "COPY runs TO '/tmp/x.csv'"
        await pilot.press("up", "up")
        assert inp.value == "SELECT 1; SELECT 2"
        await pilot.press("down")
        assert inp.value == "SELECT * FROM read_text('/etc/passwd')"
        assert app.is_running


async def test_cancel_runaway_query(tmp_path):
    make_runs(tmp_path, 1)
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, inp = await open_sql(app, pilot)
        await submit(
            app, pilot, pane, inp, "SELECT count(*) FROM range(10000000000) t1, range(1000) t2", wait=False, keys=True
        )
        await wait_until(pilot, lambda: pane.status_text.startswith("running"), what="the query running")
        assert pane.running
        assert await cancel(pilot, pane, "escape") < 2.0
        assert pane.status_text.startswith("cancelled")
        # The store still works afterwards.
        await submit(app, pilot, pane, inp, "SELECT 42 AS answer")
        assert table_rows(pane) == [["42"]]
        # ctrl+x cancels as well.
        await submit(app, pilot, pane, inp, "SELECT count(*) FROM range(10000000000) t1, range(1000) t2", wait=False)
        assert pane.running
        await cancel(pilot, pane, "ctrl+x")
        assert pane.status_text.startswith("cancelled")


async def test_markup_and_escapes_in_results_are_plain(tmp_path):
    run = recorder.init(
        dir=tmp_path,
        project="p",
        system_interval=0,
        capture_console=False,
        reinit="create_new",
        name=INJECT,
        config={INJECT: INJECT},
    )
    run.log({"loss": 1.0})
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, inp = await open_sql(app, pilot)
        await submit(app, pilot, pane, inp, "SELECT name, COLUMNS('^config\\.\\[') FROM runs")
        rows = table_rows(pane)
        assert rows, pane.error_text
        assert rows[0][0].startswith("[@click=app.quit]x[/bold][link=file:///etc/passwd]y")
        assert "\x1b" not in rows[0][0] and "\x07" not in rows[0][0]
        cols = [c.label.plain for c in pane.query_one("#sql-results", DataTable).columns.values()]
        assert "\x1b" not in cols[1] and "[@click=app.quit]" in cols[1]
        # An error message that echoes hostile text stays plain too.
        await submit(app, pilot, pane, inp, "SELECT CAST(name AS INTEGER) FROM runs")
        assert "[@click=app.quit]" in pane.error_text and "\x1b" not in pane.error_text
        shot = app.export_screenshot()
        await pilot.pause()
        assert app.is_running
        # Clicking the rendered name must not run an action.
        await pilot.click("#sql-results", offset=(3, 1))
        await pilot.pause()
        assert app.is_running
        assert "\x1b]0;" not in shot and "\x1b[2J" not in shot and "\x1b[6n" not in shot
