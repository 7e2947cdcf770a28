"""Live: a run logging while the app is open advances on screen; killed, it flips to crashed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tui_helpers import settle, wait_until

import recorder
from viewer.tui.app import LoupeApp
from viewer.tui.metric_plot import MetricPlot
from viewer.tui.runs_pane import RunsPane

TRAINER = """
import sys, time, recorder
run = recorder.init(dir=sys.argv[1], project="live", name="trainer", system_interval=0, capture_console=False)
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1)})
    step += 1
    time.sleep(0.05)
"""


def last_step(app) -> float:
    for plot in app.query(MetricPlot):
        if plot.panel.metric == "loss" and plot.panel.series:
            return plot.panel.series[0].last_x or -1
    return -1


def state_of(app, name: str) -> str | None:
    for row in app.query_one(RunsPane).rows:
        if row.values["name"] == name:
            return row.values["state"]
    return None


async def test_live_run_advances_and_crash_is_noticed(tmp_path):
    root = tmp_path / "runs"
    first = recorder.init(
        dir=root, project="live", name="old", system_interval=0, capture_console=False, reinit="create_new"
    )
    first.log({"loss": 1.0})
    first.finish()
    env = {**os.environ, "PYTHONPATH": str(Path(recorder.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", TRAINER, str(root)], env=env)
    try:
        app = LoupeApp([root], live=True, poll=True)
        async with app.run_test(size=(120, 40)) as pilot:
            # A run created after the app opened shows up, running.
            await wait_until(pilot, lambda: state_of(app, "trainer") == "running")
            trainer_id = next(r.run.id for r in app.query_one(RunsPane).rows if r.values["name"] == "trainer")
            app.select([trainer_id])
            await pilot.press("2")
            await wait_until(pilot, lambda: last_step(app) >= 0)
            seen = last_step(app)
            # Its plot advances without any key press (journal rows are read live).
            await wait_until(pilot, lambda: last_step(app) >= seen + 10)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            await wait_until(pilot, lambda: state_of(app, "trainer") == "crashed", timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_live_rescan_refetches_only_selected_runs_whose_files_changed(tmp_path):
    from textual.widgets import TabbedContent
    from tui_fixtures import make_runs

    root = tmp_path / "runs"
    ids = make_runs(root, [{"name": "still", "steps": 30}, {"name": "resumed", "steps": 30}])
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.query_one(RunsPane).rows) == 2)
        # The check of the catalog's rows that follows the first paint is a rescan too: let it
        # pass before counting, so that the first rescan below is the first to see these runs.
        await wait_until(
            pilot, lambda: app._verified and not any(w.group == "refresh" and w.is_running for w in app.workers)
        )
        fetched: list[list[str]] = []
        real = app.store.downsampled

        def spy(run_ids, *args, **kwargs):
            fetched.append(sorted(run_ids))
            return real(run_ids, *args, **kwargs)

        app.store.downsampled = spy
        rebuilt: list[int] = []
        pane = app.query_one(RunsPane)
        real_show = pane.show_runs
        pane.show_runs = lambda *a, **k: (rebuilt.append(1), real_show(*a, **k))
        app.select(ids)
        await pilot.press("2")
        await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "metrics" and fetched)
        assert fetched == [sorted(ids)]
        # The first rescan takes each run's signature (both count as new), the second finds nothing.
        app._do_live_refresh()
        await wait_until(pilot, lambda: len(fetched) == 2)
        fetched.clear()
        app._do_live_refresh()
        await settle(pilot)  # the rescan, and any fetch it starts, are done
        assert fetched == [] and rebuilt == []

        # One run writes more: only it is queried again, and its plot shows the new step.
        run = recorder.init(
            dir=root,
            project="demo",
            id=ids[1],
            resume="must",
            system_interval=0,
            capture_console=False,
            reinit="create_new",
        )
        run.log({"train/loss": 0.001}, step=500)
        run.finish()
        app._do_live_refresh()
        await wait_until(pilot, lambda: fetched == [[ids[1]]])

        def last_loss_step(run_id: str) -> float | None:
            plot = next(p for p in app.query(MetricPlot) if p.panel.metric == "train/loss")
            return next(s.last_x for s in plot.panel.series if s.run_id == run_id)

        await wait_until(pilot, lambda: last_loss_step(ids[1]) == 500)
        assert last_loss_step(ids[0]) == 29

        # ctrl+r refreshes everything selected, changed or not.
        fetched.clear()
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: fetched == [sorted(ids)])


async def test_live_change_to_one_run_repaints_its_row_without_rebuilding_the_table(tmp_path):
    import json

    from tui_fixtures import make_runs

    root = tmp_path / "runs"
    # Different lrs: the summary columns vary across runs, so they are shown from the start.
    ids = make_runs(
        root, [{"name": n, "steps": 5, "config": {"lr": lr}} for n, lr in (("a", 0.01), ("b", 0.02), ("c", 0.03))]
    )
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.query_one(RunsPane).shown) == 3)
        pane = app.query_one(RunsPane)
        table = pane.table
        cleared: list[int] = []
        real_clear = table.clear
        table.clear = lambda *a, **k: (cleared.append(1), real_clear(*a, **k))[1]
        untouched = {r.run.id: r for r in pane.shown}

        # Run b's summary changes (as a resumed run's would): only its row is repainted.
        summary = root / "demo" / ids[1] / "summary.json"
        data = json.loads(summary.read_text())
        data["train/loss"] = 123.456789
        summary.write_text(json.dumps(data))
        app._do_live_refresh()
        await wait_until(pilot, lambda: pane.shown[1].values.get("summary.train/loss") == 123.456789)
        assert cleared == []
        assert "123.5" in str(table.get_cell(ids[1], "summary.train/loss"))
        assert pane.shown[0] is untouched[pane.shown[0].run.id] and pane.shown[2] is untouched[pane.shown[2].run.id]

        # A new run changes the rows shown: the table is built again.
        make_runs(root, [{"name": "d", "id": "run9-d", "steps": 5}])
        app._do_live_refresh()
        await wait_until(pilot, lambda: len(pane.shown) == 4)
        assert cleared


async def test_a_rescan_asked_for_while_one_runs_waits_for_it_and_both_results_land(tmp_path):
    """On a large root a rescan can outlast the live interval: the next one must not throw
    the running one's result away (at 10,000 runs no result ever landed), nor lose itself."""
    import json

    from tui_fixtures import make_runs

    root = tmp_path / "runs"
    ids = make_runs(root, [{"name": n, "steps": 5, "config": {"lr": lr}} for n, lr in (("a", 0.01), ("b", 0.02))])
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_until(
            pilot, lambda: app._verified and not any(w.group == "refresh" and w.is_running for w in app.workers)
        )
        pane = app.query_one(RunsPane)

        def loss(run_id: str) -> object:
            return next(r for r in pane.shown if r.run.id == run_id).values.get("summary.train/loss")

        def edit(run_id: str, value: float) -> None:
            summary = root / "demo" / run_id / "summary.json"
            data = json.loads(summary.read_text())
            data["train/loss"] = value
            summary.write_text(json.dumps(data))

        real = app.store.refresh
        calls: list[bool] = []
        gate = threading.Event()

        def held_refresh() -> bool:
            changed = real()
            calls.append(changed)
            if len(calls) == 1:
                gate.wait(10)
            return changed

        app.store.refresh = held_refresh
        edit(ids[0], 42.5)
        app._do_live_refresh()
        await wait_until(pilot, lambda: calls == [True])
        # A second change, and a rescan asked for while the first is still held.
        edit(ids[1], 7.25)
        app._do_live_refresh()
        await pilot.pause(0.5)
        assert calls == [True], "the second rescan started before the first was done"
        gate.set()
        await wait_until(pilot, lambda: loss(ids[0]) == 42.5 and loss(ids[1]) == 7.25, timeout=10)
        assert calls == [True, True]
