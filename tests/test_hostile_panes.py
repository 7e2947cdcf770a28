"""Hostile input through the SQL and Logs tabs, beyond test_tui_sql.py / test_tui_logs.py:
every sandbox refusal typed into the console, a runaway query stopped within a second, and
a followed log that keeps delivering lines after being rotated and truncated again."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable
from tui_helpers import focus, settle, wait_until

import recorder
from viewer.data.store import Store
from viewer.tui.app import LoupeApp
from viewer.tui.log_view import LogView
from viewer.tui.logs_pane import LogsPane
from viewer.tui.sql_pane import SqlPane

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def quiet_app(root) -> LoupeApp:
    app = LoupeApp([root], live=False)
    # The tab underline's animation sometimes keeps a headless screen repainting for
    # seconds after a tab switch on a loaded machine; these tests time other things.
    app.animation_level = "none"
    return app


def table_rows(pane) -> list[list[str]]:
    t = pane.query_one("#sql-results", DataTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


REFUSED = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_blob('{secret}')",
    "SELECT * FROM read_parquet('/etc/*.parquet')",
    "SELECT * FROM runs UNION ALL SELECT * FROM read_csv('/etc/passwd')",
    "SELECT name FROM runs UNION SELECT content FROM read_text('{secret}')",
    "SELECT count(*) FROM runs UNION ALL SELECT count(*) FROM read_text('{secret}')",
    "WITH x AS (SELECT content FROM read_text('{secret}')) SELECT * FROM x",
    "SELECT * FROM glob('/etc/*')",
    "COPY (SELECT 1) TO '{out}'",
    "COPY runs TO '{out}' (FORMAT csv)",
    "EXPORT DATABASE '{outdir}'",
    "ATTACH '{db}' AS other",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "SET enable_external_access = true",
    "RESET allowed_directories",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "CREATE TABLE t AS SELECT 1",
    "CREATE VIEW x AS SELECT 1",
    "DROP VIEW runs",
    "PRAGMA threads=1",
    "CALL pragma_version()",
    "SELECT 1; COPY (SELECT 1) TO '{out}'",
    "SELECT 1; SELECT 2",
    "SELECT 1) AS x; COPY (SELECT 1) TO '{out}'; SELECT (1",  # escaping the console's LIMIT wrapper
    "SELECT 1 -- \n) AS y; COPY (SELECT 1) TO '{out}'; --",
]


async def test_every_refusal_typed_into_the_console_is_an_inline_error(tmp_path):
    root = tmp_path / "runs"
    run = recorder.init(dir=root, project="p", system_interval=0, capture_console=False, reinit="create_new", name="r")
    for s in range(5):
        run.log({"loss": 1.0 / (s + 1)})
    run.finish()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET outside the root\n")
    out, outdir, db = tmp_path / "out.csv", tmp_path / "export", tmp_path / "x.duckdb"
    app = quiet_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        pane = app.query_one(SqlPane)
        pane.run_query("SELECT name FROM runs")
        await settle(pilot)
        assert table_rows(pane) == [["r"]]
        for stmt in REFUSED:
            sql = stmt.format(secret=secret, out=out, outdir=outdir, db=db)
            pane.run_query(sql)
            await wait_until(pilot, lambda: pane.status_text.startswith("failed"), what=f"{sql} refused")
            assert pane.error_text, (sql, pane.status_text)
            assert app.is_running, sql
            assert table_rows(pane) == [["r"]], sql  # the last good result stays
            assert "TOP-SECRET" not in pane.error_text and "root:x:" not in pane.error_text, sql
            assert not out.exists() and not outdir.exists() and not db.exists(), sql
        pane.run_query("SELECT count(*) AS n FROM history")
        await settle(pilot)
        assert pane.error_text == "" and table_rows(pane) == [["5"]]  # the sandbox still holds, and works
        assert "TOP-SECRET" not in app.export_screenshot()


async def test_runaway_query_stops_within_a_second_of_escape(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    run = recorder.init(dir=root, project="p", system_interval=0, capture_console=False, reinit="create_new")
    run.log({"loss": 1.0})
    run.finish()
    app = quiet_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        pane = app.query_one(SqlPane)
        await focus(pilot, pane.query_one("#sql-input"))  # escape is the pane's key: focus must be inside it
        interrupts: list[float] = []
        cancelled_at: list[float] = []
        interrupt, set_status = Store.interrupt, SqlPane._set_status

        def spy_interrupt(self):
            interrupts.append(time.monotonic())
            interrupt(self)

        def spy_set_status(self, text):
            if text.startswith("cancelled"):
                cancelled_at.append(time.monotonic())
            set_status(self, text)

        monkeypatch.setattr(Store, "interrupt", spy_interrupt)
        monkeypatch.setattr(SqlPane, "_set_status", spy_set_status)
        pane.run_query("SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000) b")
        # An interrupt sent before DuckDB starts executing is lost: give it a moment, and
        # press escape again below if the first one came too early.
        await pilot.pause(0.5)
        assert pane.running
        t0 = time.monotonic()
        while pane.running and time.monotonic() - t0 < 10:
            if not interrupts or time.monotonic() - interrupts[-1] > 2.0:
                await pilot.press("escape")
            await pilot.pause(0.02)
        assert not pane.running and pane.status_text.startswith("cancelled")
        # From the interrupt that took to the pane showing "cancelled": the query layer's
        # part, timed apart from Pilot's key delivery (slow on a loaded machine).
        took = cancelled_at[0] - max(t for t in interrupts if t <= cancelled_at[0])
        assert took < 1.0, f"cancel took {took:.2f} s"
        pane.run_query("SELECT 42 AS answer")
        await settle(pilot)
        assert table_rows(pane) == [["42"]]


def stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def append(path: Path, words: list[str]) -> None:
    with open(path, "a") as f:
        for w in words:
            f.write(f"{stamp(time.time())} O {w}\n")


async def wait_for_last(pilot, view, want: str) -> list[str]:
    """The view's lines once the last one is `want`."""

    def lines() -> list[str]:
        return [ln.text for ln in view.lines]

    await wait_until(pilot, lambda: lines()[-1:] == [want], what=f"{want!r} as the last line, got {lines()[-3:]}")
    return lines()


async def test_followed_log_keeps_delivering_after_rotation_and_truncation(tmp_path):
    run = recorder.init(
        dir=tmp_path / "runs", project="p", system_interval=0, capture_console=False, reinit="create_new", name="live"
    )
    log = Path(run.dir) / "output.log"
    append(log, ["a0", "a1"])
    app = quiet_app(tmp_path / "runs")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            pane = app.query_one(LogsPane)
            view = pane.query_one(LogView)
            assert pane.follow and [ln.text for ln in view.lines] == ["a0", "a1"]
            # Rotated (renamed away, a new file); the old file still grows (a writer that kept its fd).
            os.rename(log, str(log) + ".1")
            append(log, ["b0"])
            assert (await wait_for_last(pilot, view, "b0")) == ["b0"]
            append(Path(str(log) + ".1"), ["stale"])
            append(log, ["b1", "b2"])
            assert (await wait_for_last(pilot, view, "b2")) == ["b0", "b1", "b2"]
            # Truncated to nothing (the follower sees it and empties the view), then written
            # again: lines still come.
            with open(log, "w"):
                pass
            await wait_until(pilot, lambda: not view.lines, what="the truncated log emptied the view")
            append(log, ["c0"])
            got = await wait_for_last(pilot, view, "c0")
            assert got[-1] == "c0" and "stale" not in got
            append(log, ["c1"])
            assert (await wait_for_last(pilot, view, "c1"))[-2:] == ["c0", "c1"]
            assert app.is_running
    finally:
        run.finish()
