"""Metrics plots read well: whole steps, short numbers, runtime with units, wall time as clock times."""

from __future__ import annotations

import itertools
import re

from tui_fixtures import make_runs
from tui_helpers import focus_in, plot_axis_labels, settle

import recorder
from viewer.tui.app import LoupeApp
from viewer.tui.metric_plot import MetricPlot, SafePlot
from viewer.tui.metrics_pane import MetricsPane


def shown_plot(app, metric: str) -> SafePlot:
    return {p.panel.metric: p for p in app.query(MetricPlot)}[metric].query_one(SafePlot)


async def open_metrics(app, pilot) -> MetricsPane:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    pane = app.query_one(MetricsPane)
    await focus_in(pilot, pane)
    return pane


async def test_step_axis_shows_whole_round_steps(tmp_path):
    # 126 steps: plotext alone printed `0.5  31.8  63.0  94.2  125.5` here.
    make_runs(tmp_path / "runs", [{"name": "r", "steps": 126}])
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_metrics(app, pilot)
        x_labels, y_labels = plot_axis_labels(shown_plot(app, "train/loss"))
        assert len(x_labels) >= 2, x_labels
        steps = [int(label) for label in x_labels]  # raises on `31.8`
        gaps = {b - a for a, b in itertools.pairwise(steps)}
        assert len(gaps) == 1 and str(gaps.pop()).strip("0") in ("1", "2", "5"), x_labels
        # loss runs exp(0)..exp(-1.25): round values such as 0.4 0.6 0.8 1, not 0.2865 0.4289
        assert len(y_labels) >= 2 and all(len(label) <= 4 for label in y_labels), y_labels


async def test_big_and_tiny_values_in_short_form(tmp_path):
    run = recorder.init(dir=tmp_path, project="p", name="r", system_interval=0, capture_console=False)
    for i in range(100):
        run.log({"tokens": 40_000.0 * i, "lr": 1e-4 * (1 - i / 200)})
    run.finish()
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_metrics(app, pilot)
        _, tokens = plot_axis_labels(shown_plot(app, "tokens"))
        assert any(label.endswith("M") for label in tokens) and "4000000" not in tokens, tokens
        _, lr = plot_axis_labels(shown_plot(app, "lr"))
        assert lr and all(re.fullmatch(r"\d(\.\d+)?e-\d", label) for label in lr), lr


async def test_runtime_and_wall_time_axes_carry_units(tmp_path):
    make_runs(tmp_path / "runs", [{"name": "r", "steps": 60}])
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_metrics(app, pilot)
        await pilot.press("X")
        await settle(pilot)
        assert pane.x_axis == "_runtime"
        x_labels, _ = plot_axis_labels(shown_plot(app, "train/loss"))
        assert x_labels and all(re.fullmatch(r"[\d.]+(ms|s|min|h|d)", label) for label in x_labels), x_labels
        await pilot.press("X")
        await settle(pilot)
        assert pane.x_axis == "_timestamp"
        x_labels, _ = plot_axis_labels(shown_plot(app, "train/loss"))
        assert x_labels and all(re.fullmatch(r"\d\d:\d\d(:\d\d(\.\d+)?)?", label) for label in x_labels), x_labels
        assert "wall time" in shown_plot(app, "train/loss").render().plain
