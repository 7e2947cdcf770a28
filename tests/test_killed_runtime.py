"""A run killed between heartbeats: Detail, `loupe ls`, `loupe show` and SQL agree on its runtime.

run.json's runtime is rewritten with each heartbeat (every 5 s); a run killed after 2.2 s
kept the 0.2 s of its first write while its summary's `_runtime` said 2.22. Internal
summary keys are shown in words (a duration, a UTC time) rather than raw seconds.
"""

from __future__ import annotations

import json

import pytest
from store_helpers import fake_run_dir
from test_tui_detail import cells, open_detail, overview

from viewer.cli.main import main
from viewer.data.store import Store
from viewer.tui.app import LoupeApp

KILLED_SUMMARY = {"_step": 105, "_timestamp": 1795963627.39, "_runtime": 2.2205, "loss": 0.5}


@pytest.fixture
def root(tmp_path):
    fake_run_dir(
        tmp_path,
        "p",
        "killed",
        state="running",
        heartbeat_age=3600.0,  # long gone: read as crashed
        summary=KILLED_SUMMARY,
        runtime=0.2294,
    )
    fake_run_dir(tmp_path, "p", "long", summary={"_runtime": 3000.0}, runtime=3725.0)
    return tmp_path


def test_store_takes_the_longer_of_heartbeat_and_summary_runtime(root):
    store = Store([root])
    by_name = {r.name: r for r in store.runs()}
    assert by_name["killed"].state == "crashed"
    assert by_name["killed"].runtime == pytest.approx(2.2205)
    assert by_name["long"].runtime == 3725.0  # a finished run's own runtime is longer still
    table = store.query("SELECT name, runtime FROM runs ORDER BY name").to_pydict()
    assert table["runtime"] == [pytest.approx(2.2205), 3725.0]


def test_ls_prints_durations_and_json_keeps_seconds(capsys, root):
    assert main(["ls", str(root), "-c", "name", "runtime"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert rows == {"killed": "2.2s", "long": "1h02m"}
    assert main(["ls", str(root), "-c", "name", "runtime", "--format", "json"]) == 0
    rows = {r["name"]: r["runtime"] for r in json.loads(capsys.readouterr().out)}
    assert rows == {"killed": pytest.approx(2.2205), "long": 3725.0}


def test_show_formats_internal_summary_keys(capsys, root):
    assert main(["show", "--root", str(root), "killed"]) == 0
    out = capsys.readouterr().out
    assert "runtime    2.2s" in out
    assert "_runtime = 2.2s" in out
    assert "_timestamp = 2026-11-29 14:47:07 UTC" in out
    assert "1795963627" not in out
    assert "_step = 105" in out


async def test_detail_runtime_agrees_with_summary(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.select([r.id for r in app.all_runs if r.name == "killed"])
        pane = await open_detail(app, pilot)
        text = overview(pane)
        assert "2.2s" in text and "0.2" not in text
        rows = cells(pane)
        assert ["summary", "_runtime", "2.2s"] in rows
        assert ["summary", "_timestamp", "2026-11-29 14:47:07 UTC"] in rows
        assert ["summary", "_step", "105"] in rows
        assert ["summary", "loss", "0.5"] in rows
