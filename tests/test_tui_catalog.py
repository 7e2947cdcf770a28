"""The dashboard over a root with a run catalog: the catalog's rows first, then a check
of every run's files in a worker, whose findings replace them on screen."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from tui_helpers import settle, wait_until

from tests.store_helpers import real_run
from viewer.data import run_table_cache
from viewer.data.store import Store
from viewer.tui.app import LoupeApp
from viewer.tui.runs_pane import RunsPane


def names(app) -> list[str]:
    return [row.values["name"] for row in app.query_one(RunsPane).shown]


async def test_dashboard_shows_catalog_rows_then_what_the_check_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(run_table_cache, "FRESH_NS", 0)
    keep = real_run(tmp_path, name="kept")
    edited = real_run(tmp_path, name="before")
    with Store([tmp_path]):
        pass  # the catalog now vouches for both runs
    run_json = Path(edited.dir) / "run.json"
    value = orjson.loads(run_json.read_bytes())
    value["name"] = "after"
    mtime = os.stat(edited.dir).st_mtime_ns
    with open(run_json, "r+b") as f:  # rewritten in place: the directory's mtime is unchanged
        f.write(orjson.dumps(value))
        f.truncate()
    os.utime(edited.dir, ns=(mtime, mtime))

    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: sorted(names(app)) == ["after", "kept"], what="the checked row on screen")
        assert {r.id for r in app.all_runs} == {keep.id, edited.id}


async def test_a_new_run_shows_while_the_check_of_every_runs_files_is_still_going(tmp_path, monkeypatch):
    # On 10,000 runs the check stats 40,000 files (seconds); it runs beside the rescans, so
    # a run started meanwhile is on screen without waiting for it.
    import threading

    monkeypatch.setattr(run_table_cache, "FRESH_NS", 0)
    real_run(tmp_path, name="old")
    with Store([tmp_path]):
        pass
    checking, release = threading.Event(), threading.Event()
    original = Store.find_edited_in_place

    def slow_check(self):
        checking.set()
        release.wait(60)
        return original(self)

    monkeypatch.setattr(Store, "find_edited_in_place", slow_check)
    app = LoupeApp([tmp_path], live=True, poll=True)
    try:
        async with app.run_test(size=(120, 32)) as pilot:
            await wait_until(pilot, lambda: names(app) == ["old"], what="the catalog's row")
            await wait_until(pilot, checking.is_set, what="the check to start")
            real_run(tmp_path, name="newcomer")
            await wait_until(pilot, lambda: "newcomer" in names(app), timeout=15, what="the new run on screen")
            assert not release.is_set()  # the check was still held
            release.set()
    finally:
        release.set()
