"""What define_metric and metrics.json say is what the dashboard shows.

Two contract bugs these tests pin: define_metric("debug/*", hidden=True) hid nothing in
the dashboard (the recorder matched globs, the viewer exact names only), and metrics.json's
"columns" map was never read, so a key stored as `loss#2` was plotted under that name.
"""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent

import recorder
from recorder.metric_definitions import MetricDefinition, MetricDefinitions
from viewer.data.metric_columns import hidden_keys
from viewer.data.store import Store
from viewer.tui.app import LoupeApp
from viewer.tui.metric_plot import MetricPlot


async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def plotted(root, run_id):
    """The metrics grid's panels, by title, once the user selected `run_id` and pressed 2."""
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.select([run_id])
        await pilot.press("2")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "metrics"
        return {p.panel.metric: p.panel for p in app.query(MetricPlot)}


def _run(root, run_id, define=(), rows=()):
    run = recorder.init(dir=root, project="p", id=run_id, system_interval=0, capture_console=False, reinit="create_new")
    for args, kwargs in define:
        run.define_metric(*args, **kwargs)
    for row in rows:
        run.log(row)
    run.finish()
    return run.id


def test_hidden_follows_the_recorders_rule_for_globs_and_exact_names():
    defs = MetricDefinitions()
    defs.add(MetricDefinition("debug/*", hidden=True))
    defs.add(MetricDefinition("debug/keep"))  # an exact name beats the glob
    defs.add(MetricDefinition("*", step_metric="epoch"))  # a later glob wins...
    defs.add(MetricDefinition("noise/*", hidden=True))
    keys = ["debug/grad", "debug/keep", "noise/a", "train/loss", "epoch"]
    by_recorder = {k for k in keys if (d := defs.for_key(k)) is not None and d.hidden}
    assert hidden_keys(defs.as_json(), keys) == by_recorder == {"noise/a"}
    # ...so with "*" first, the "debug/*" glob governs its keys again.
    assert hidden_keys([{"name": "*"}, {"name": "debug/*", "hidden": True}], keys) == {"debug/grad", "debug/keep"}
    assert hidden_keys("not a list", keys) == set() and hidden_keys([{"hidden": True}, 3], keys) == set()


async def test_glob_hidden_metrics_are_not_plotted(tmp_path):
    root = tmp_path / "runs"
    rid = _run(
        root,
        "hid",
        define=[(("debug/*",), {"hidden": True}), (("debug/shown",), {})],
        rows=[{"train/loss": 1.0 / (i + 1), "debug/grad": float(i), "debug/shown": 2.0} for i in range(5)],
    )
    assert sorted(await plotted(root, rid)) == ["debug/shown", "train/loss"]


@pytest.fixture
def case_runs(tmp_path):
    """Run `both` logs `Loss` then `loss` (stored as `loss#2`); run `lower` logs only `loss`."""
    root = tmp_path / "runs"
    both = _run(root, "both", rows=[{"Loss": 10.0 + i, "loss": 20.0 + i} for i in range(4)])
    lower = _run(root, "lower", rows=[{"loss": 30.0 + i} for i in range(4)])
    return root, both, lower


def test_metrics_are_named_and_read_by_the_key_logged(case_runs):
    root, both, lower = case_runs
    assert (root / "p" / both / "metrics.json").read_text().count("loss#2") == 1  # the recorder's rename
    store = Store([root])
    assert store.metric_names([both]) == ["Loss", "loss"]
    assert store.metric_names() == ["Loss", "loss"]

    h = store.history([both]).to_pylist()
    assert [(r["Loss"], r["loss"]) for r in h] == [(10.0, 20.0), (11.0, 21.0), (12.0, 22.0), (13.0, 23.0)]

    d = store.downsampled([both, lower], ["loss", "Loss"], points=10).to_pylist()
    means = {(r["run_id"], r["metric"]): [] for r in d}
    for r in d:
        means[(r["run_id"], r["metric"])].append(r["mean"])
    # Each run's own column for each key: `lower`'s loss is not read as `both`'s Loss
    # (DuckDB sees one case-insensitive column), and `both`'s loss comes from loss#2.
    assert means == {
        (both, "Loss"): [10.0, 11.0, 12.0, 13.0],
        (both, "loss"): [20.0, 21.0, 22.0, 23.0],
        (lower, "loss"): [30.0, 31.0, 32.0, 33.0],
    }


async def test_plot_is_titled_with_the_key_not_the_column(case_runs):
    root, both, _ = case_runs
    plots = await plotted(root, both)
    assert sorted(plots) == ["Loss", "loss"]
    assert plots["loss"].series[0].last_y == 23.0 and plots["Loss"].series[0].last_y == 13.0
