"""Detail pane: metadata, config/summary rows, filtering a 10,000-key config, errors, injection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input
from tui_helpers import focus_in, settle, wait_until

import recorder
from viewer.data.run_details import filter_rows
from viewer.tui.app import LoupeApp
from viewer.tui.detail_pane import ROW_LIMIT, DetailPane

INJECT = (
    "[@click=app.quit]q[/bold][link=file:///etc/passwd]p\x1b]0;T\x07\x1b]8;;http://e\x1b\\l\x1b]8;;\x1b\\\x1b[2J\x1b[6n"
)


def make_run(root, **kw):
    return recorder.init(dir=root, project="p", system_interval=0, capture_console=False, reinit="create_new", **kw)


async def open_detail(app, pilot):
    await settle(pilot)
    await pilot.press("5")
    await settle(pilot)
    pane = app.query_one(DetailPane)
    await focus_in(pilot, pane)
    return pane


def cells(pane):
    t = pane.query_one("#detail-table", DataTable)
    return [[c.plain for c in t.get_row_at(i)] for i in range(t.row_count)]


def overview(pane) -> str:
    r = pane.query_one("#detail-overview-text").render()
    return r.plain if isinstance(r, Text) else str(r)


async def test_overview_config_summary_files(tmp_path):
    run = make_run(
        tmp_path,
        name="detail-run",
        tags=["a", "b"],
        config={"lr": 0.001, "opt": {"name": "adam", "betas": [0.9, 0.99]}},
    )
    run.log({"loss": 0.5})
    run.summary["best"] = 0.25
    src = tmp_path / "model.txt"
    src.write_text("weights")
    run.save(str(src), base_path=str(tmp_path), policy="now")
    run.finish()
    req = Path(run.dir) / "files" / "requirements.txt"
    req.write_text("numpy==2.0\n# comment\ntorch==2.3\n\n")
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_detail(app, pilot)
        text = overview(pane)
        assert "detail-run" in text and "finished" in text
        for key in ("host", "user", "command", "cwd", "python", "packages"):
            assert key in text
        assert "2 (files/requirements.txt)" in text
        assert "model.txt" in text and "requirements.txt" in text
        rows = cells(pane)
        assert ["config", "lr", "0.001"] in rows
        assert ["config", "opt.name", "adam"] in rows
        assert ["config", "opt.betas", "[0.9,0.99]"] in rows
        assert ["summary", "best", "0.25"] in rows
        assert ["summary", "loss", "0.5"] in rows
        # / focuses the filter; typing filters; escape returns to the table.
        assert isinstance(app.focused, DataTable)
        await pilot.press("slash")
        await wait_until(pilot, lambda: isinstance(app.focused, Input), what="the filter focused")
        await pilot.press("o", "p", "t")
        await settle(pilot)
        assert [r[1] for r in cells(pane)] == ["opt.betas", "opt.name"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.focused, DataTable), what="the table focused again")


async def test_failed_run_shows_traceback(tmp_path):
    # As the recorder writes it when a `with recorder.init(...)` block raises.
    with pytest.raises(ValueError), make_run(tmp_path, name="boom"):
        raise ValueError("bad [red]thing[/red] \x1b]0;T\x07")
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_detail(app, pilot)
        text = overview(pane)
        assert "failed" in text
        assert "ValueError: bad [red]thing[/red] " in text and "\x1b" not in text
        assert "Traceback (most recent call last)" in text


async def test_ten_thousand_keys_stay_responsive(tmp_path):
    config = {f"layer{j // 100:03d}": {f"key{i:05d}": i for i in range(j, j + 100)} for j in range(0, 10_000, 100)}
    run = make_run(tmp_path, config=config)
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        t0 = time.perf_counter()
        pane = await open_detail(app, pilot)
        assert pane.details is not None and len(pane.details.rows) >= 10_000
        table = pane.query_one("#detail-table", DataTable)
        assert table.row_count == ROW_LIMIT
        assert pane.total_matches >= 10_000
        count = str(pane.query_one("#detail-count").render())
        assert "more, refine the filter" in count
        # Filtering: the worker does the work, the table only gets the first ROW_LIMIT.
        inp = pane.query_one("#detail-filter", Input)
        t1 = time.perf_counter()
        inp.value = "key0999"
        await settle(pilot)
        took = time.perf_counter() - t1
        assert [r[1] for r in cells(pane)] == [f"layer099.key0999{i}" for i in range(10)]
        assert took < 1.0, took
        inp.value = "layer05"
        await settle(pilot)
        assert table.row_count == ROW_LIMIT and pane.total_matches == 1000
        inp.value = ""
        await settle(pilot)
        assert table.row_count == ROW_LIMIT
        # The event loop was never blocked for long: a short timer kept firing.
        assert time.perf_counter() - t0 < 10


def test_filter_rows_limit_and_total():
    rows = [("config", f"k{i}", str(i)) for i in range(2000)]
    shown, total = filter_rows(rows, "K1", 100)
    assert total == 1111 and len(shown) == 100 and shown[0] == ("config", "k1", "1")
    assert filter_rows(rows, "", 5) == (rows[:5], 2000)
    assert filter_rows(rows, "1999", 5) == ([("config", "k1999", "1999")], 1)


async def test_markup_and_escapes_in_names_and_config(tmp_path):
    run = make_run(tmp_path, name=INJECT, tags=[INJECT], config={INJECT: INJECT, "nested": {INJECT: [INJECT]}})
    run.log({INJECT: 1.0})
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_detail(app, pilot)
        literal = "[@click=app.quit]q[/bold][link=file:///etc/passwd]p"
        assert literal in overview(pane)
        rows = cells(pane)
        assert any(r[1] == literal + "l" and r[2] == literal + "l" for r in rows), rows
        assert any(r[0] == "summary" and r[1].startswith(literal) for r in rows)
        for r in rows:
            assert not any("\x1b" in c or "\x07" in c for c in r)
        shot = app.export_screenshot()
        assert "\x1b" not in shot and "\x07" not in shot
        await pilot.click("#detail-table", offset=(12, 1))
        await pilot.click("#detail-overview", offset=(4, 0))
        await pilot.pause()
        assert app.is_running
