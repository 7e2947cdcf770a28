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
