"""Runs table and metrics grid, driven with Pilot: keys in, widget data asserted."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent
from tui_fixtures import STANDARD, make_runs, pin_times
from tui_helpers import settle, stays_true, wait_until

import recorder
from viewer.tui.app import LoupeApp
from viewer.tui.help_screen import HelpScreen
from viewer.tui.metric_plot import MetricPlot
from viewer.tui.metrics_pane import MetricsPane
from viewer.tui.runs_pane import RunsPane


def table_names(app) -> list[str]:
    pane = app.query_one(RunsPane)
    return [row.values["name"] for row in pane.shown]


def header_offset(table: DataTable, label: str) -> tuple[int, int]:
    """Where to click, relative to the table, to hit the header that reads `label` on screen."""
    header = "".join(segment.text for segment in table.render_line(0))
    x = header.find(f" {label}")
    assert x >= 0, f"{label!r} not in the header {header!r}"
    return x + 1, 0


@pytest.fixture
def root(tmp_path) -> Path:
    make_runs(tmp_path / "runs", STANDARD)
    return tmp_path / "runs"


async def test_runs_table_lists_sorts_filters_and_selects(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert table_names(app) == ["broken", "big-batch", "fast-lr", "baseline"]  # newest first
        pane = app.query_one(RunsPane)
        states = {r.values["name"]: r.values["state"] for r in pane.shown}
        assert states["broken"] == "failed" and states["baseline"] == "finished"
        columns = [str(c.label).split(" ")[0] for c in app.query_one(DataTable).columns.values()]
        assert "config.lr" in columns and "config.batch_size" in columns

        # The newest run is selected at start; space adds the next one, with its own colour.
        assert [app.query_one(RunsPane).rows[0].values["name"]] == ["broken"]
        assert len(app.selected) == 1
        await pilot.press("down", "space")
        await settle(pilot)
        assert len(app.selected) == 2
        colours = {app.run_colors.get(i) for i in app.selected}
        assert len(colours) == 2 and None not in colours

        # Header click sorts; a second click reverses.
        await pilot.click("#runs-table", offset=header_offset(pane.table, "config.lr"))
        await wait_until(pilot, lambda: pane.sort_column == "config.lr")

        def lrs() -> list[float]:
            return [row.values["config.lr"] for row in pane.shown]

        assert lrs() == sorted(lrs()) and table_names(app)[-1] == "broken"  # lr 1.0 sorts last ascending
        assert "▲" in str(pane.table.columns["config.lr"].label)
        await pilot.click("#runs-table", offset=header_offset(pane.table, "config.lr"))
        await wait_until(pilot, lambda: pane.sort_desc)
        assert lrs() == sorted(lrs(), reverse=True) and table_names(app)[0] == "broken"
        assert "▼" in str(pane.table.columns["config.lr"].label)

        # Text search with field tokens.
        await pilot.press("slash")
        await pilot.press(*"project:other")
        await settle(pilot)
        assert table_names(app) == ["big-batch"]

        # An expression goes through the store's safe parser.
        app.query_one("#runs-filter", Input).value = "config.lr < 0.05 and state = 'finished'"
        await settle(pilot)
        assert sorted(table_names(app)) == ["baseline", "big-batch"]

        # A hostile filter is refused with a message, not run.
        app.query_one("#runs-filter", Input).value = "lr > 0; COPY runs TO '/tmp/x.csv'"
        await settle(pilot)
        assert table_names(app) == [] and pane.filter_error
        assert not Path("/tmp/x.csv").exists()

        # `a` selects every run shown; `x` clears.
        app.query_one("#runs-filter", Input).value = "tag:base"
        await settle(pilot)
        pane.table.focus()
        await pilot.press("a")
        await settle(pilot)
        assert [
            app.query_one(RunsPane).rows[i].values["name"]
            for i in range(4)
            if app.query_one(RunsPane).rows[i].run.id in app.selected
        ] == ["baseline"]
        await pilot.press("x")
        await settle(pilot)
        assert app.selected == []


async def test_group_by_project(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        pane = app.query_one(RunsPane)
        assert pane.grouping == "project"
        projects = [r.values["project"] for r in pane.shown]
        assert projects == sorted(projects)


async def test_metrics_grid_plots_selected_runs(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 48)) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        ids = {r.values["name"]: r.run.id for r in pane.rows}
        app.select([ids["baseline"], ids["fast-lr"]])
        await pilot.press("2")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "metrics"
        plots = {p.panel.metric: p for p in app.query(MetricPlot)}
        assert set(plots) == {"train/loss", "val/acc", "epoch"}
        loss = plots["train/loss"].panel
        assert [s.run_id for s in loss.series] == [ids["baseline"], ids["fast-lr"]]
        baseline = loss.series[0]
        assert baseline.last_x == 79 and baseline.last_y == pytest.approx(math.exp(-79 * 0.01))
        assert len(baseline.xs) <= 2 * 140  # downsampled to the plot, never every point
        assert "baseline" in str(plots["train/loss"].query_one(".readout").render())

        metrics = app.query_one(MetricsPane)
        await pilot.press("l")
        assert metrics.log_y and all(p.log_y for p in app.query(MetricPlot))
        await pilot.press("plus", "plus")
        await settle(pilot)
        assert metrics.smoothing == 0.6
        smoothed = {p.panel.metric: p.panel for p in app.query(MetricPlot)}["train/loss"].series[0].ys
        assert smoothed[5] != pytest.approx(baseline.ys[5])

        # Regex filter over metric names.
        app.query_one("#metrics-filter", Input).value = "^val/"
        await settle(pilot)
        assert [p.panel.metric for p in app.query(MetricPlot)] == ["val/acc"]
        app.query_one("#metrics-filter", Input).value = "("
        await settle(pilot)
        assert "bad regex" in metrics.message

        # Maximise the focused plot, and the value cursor.
        app.query_one("#metrics-filter", Input).value = ""
        await settle(pilot)
        first = list(app.query(MetricPlot))[0]
        first.focus()
        await pilot.press("m")
        assert metrics.has_class("has-maximized") and first.has_class("maximized")
        await pilot.press("m")
        assert not metrics.has_class("has-maximized")
        await pilot.press("right_square_bracket")
        assert first.cursor_x is not None

        # Zoom on a step range: every bucket comes from inside it, at full resolution.
        await pilot.press("z")
        await pilot.press(*"20:40", "enter")
        await settle(pilot)
        assert metrics.x_range == (20.0, 40.0)
        loss = {p.panel.metric: p.panel for p in app.query(MetricPlot)}["train/loss"]
        xs = [x for s in loss.series for x in s.xs]
        assert min(xs) >= 20 and max(xs) <= 40 and len(loss.series[0].xs) == 21
        await pilot.press("Z")
        await settle(pilot)
        assert metrics.x_range is None


async def test_x_axis_cycles_through_step_metric(tmp_path):
    make_runs(tmp_path / "runs", [{"name": "stepped", "define_step": True, "steps": 40}])
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        metrics = app.query_one(MetricsPane)
        assert metrics.x_axes() == ["_step", "_runtime", "_timestamp", "epoch"]
        for _ in range(3):
            await pilot.press("X")
            await settle(pilot)
        assert metrics.x_axis == "epoch"
        plot = {p.panel.metric: p for p in app.query(MetricPlot)}["train/loss"]
        assert max(plot.panel.series[0].xs) <= 3.0  # epochs 0..3, not steps 0..39


async def test_help_screen_lists_keys(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the help screen closed")


async def test_hostile_run_names_and_keys_render_as_text(tmp_path):
    hostile = "[@click=app.quit]x[/bold][link=file:///etc/passwd]y\x1b]8;;http://e\x1b\\z\x1b[2J"
    run = recorder.init(
        dir=tmp_path / "runs",
        project="p",
        name=hostile,
        config={hostile: hostile},
        system_interval=0,
        capture_console=False,
        reinit="create_new",
    )
    run.log({hostile: 1.0, "ok": 2.0})
    run.finish()
    pin_times(Path(run.dir), 1)
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.click("#runs-table", offset=(10, 1))  # clicking the name must not quit
        await settle(pilot)
        assert app.is_running
        await pilot.press("2")
        await settle(pilot)
        assert app.is_running
        screen = app.export_screenshot()
        assert "\x1b" not in screen  # no escape sequence reaches the terminal
        from textual.widgets._data_table import default_cell_formatter

        name_cell = default_cell_formatter(app.query_one(DataTable).get_row_at(0)[1])  # as the table renders it
        assert "[@click=app.quit]" in name_cell.plain  # literal text...
        assert not any("link" in str(span.style) or "@click" in str(span.style) for span in name_cell.spans)
        plots = [p.panel.metric for p in app.query(MetricPlot)]
        assert hostile in plots  # shown, as text


async def test_runs_table_columns_fit_their_widest_cell(tmp_path):
    # The table is told each column's width instead of measuring every cell: the widths
    # must still be those of the widest text as shown (wide characters, escaped markup).
    make_runs(
        tmp_path / "runs",
        [
            {"name": "short", "config": {"lr": 0.1, "opt": "sgd"}},
            {"name": "学習-ラン-長い名前", "id": "wide", "config": {"lr": 0.01, "opt": "[i]adam[/i] with warmup"}},
            {"name": "[bold]not-bold[/bold]", "id": "markup", "config": {"lr": 123456789012.5, "opt": "adam"}},
        ],
    )
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        table = app.query_one(RunsPane).table
        widths = {str(k.value): c.content_width for k, c in table.columns.items()}
        assert widths["name"] == max(len("[bold]not-bold[/bold]"), 2 * len("学習ラン長い名前") + 2)
        assert widths["config.opt"] == len("[i]adam[/i] with warmup")
        assert widths["config.lr"] == 10  # numbers are right-aligned in at least 10 cells
        # The same widths as the table finds when it measures the rendered cells itself.
        table.set_known_widths(None)
        app.query_one(RunsPane).redraw()
        await settle(pilot)
        measured = {str(k.value): c.content_width for k, c in table.columns.items()}
        assert measured == widths


async def test_a_slow_older_metrics_fetch_does_not_replace_a_newer_one(root):
    import threading

    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 48)) as pilot:
        await settle(pilot)
        ids = {r.values["name"]: r.run.id for r in app.query_one(RunsPane).rows}
        await pilot.press("2")
        await settle(pilot)
        # The fetch for baseline alone stalls in the store (a slow disk) until released.
        entered, release, finished = threading.Event(), threading.Event(), threading.Event()
        real = app.store.downsampled

        def downsampled(run_ids, *args, **kwargs):
            if run_ids == [ids["baseline"]]:
                entered.set()
                release.wait(20)
                try:
                    return real(run_ids, *args, **kwargs)
                finally:
                    finished.set()
            return real(run_ids, *args, **kwargs)

        app.store.downsampled = downsampled
        app.select([ids["baseline"]])
        await wait_until(pilot, entered.is_set, what="the slow fetch to start")
        app.select([ids["fast-lr"]])  # the newer fetch, answered at once

        def plotted() -> list[str]:
            plot = next((p for p in app.query(MetricPlot) if p.panel.metric == "train/loss"), None)
            return [s.run_id for s in plot.panel.series] if plot is not None else []

        await wait_until(pilot, lambda: plotted() == [ids["fast-lr"]], what="the newer selection's plots")
        release.set()
        await wait_until(pilot, finished.is_set, what="the slow fetch to finish")
        await settle(pilot)
        await stays_true(pilot, lambda: plotted() == [ids["fast-lr"]], what="the older, slower answer is dropped")


async def test_startup_heap_is_frozen_while_running_and_released_on_exit(root):
    # The app freezes what is alive after the first load (so collections triggered while
    # drawing plots stay cheap) and must give it back to the collector when it exits.
    import gc

    app = LoupeApp([root], live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_plots_overlay_at_most_20_runs_and_say_so(tmp_path):
    from viewer.data.metric_panels import MAX_OVERLAID_RUNS
    from viewer.tui.system_pane import SystemPane

    root = tmp_path / "runs"
    for i in range(MAX_OVERLAID_RUNS + 5):
        run = recorder.init(
            dir=root, project="many", name=f"r{i:02d}", system_interval=0, capture_console=False, reinit="create_new"
        )
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1 + i)})
        run.finish()
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # every shown run
        await pilot.press("2")
        await settle(pilot)
        assert len(app.selected) == MAX_OVERLAID_RUNS + 5
        loss = next(p for p in app.query(MetricPlot) if p.panel.metric == "loss")
        assert [s.run_id for s in loss.panel.series] == app.selected[:MAX_OVERLAID_RUNS]
        status = str(app.query_one("#metrics-status").render())
        assert f"plotting the first {MAX_OVERLAID_RUNS} of {MAX_OVERLAID_RUNS + 5} selected runs" in status
        await pilot.press("3")
        await settle(pilot)
        system = app.query_one(SystemPane)
        assert f"of {MAX_OVERLAID_RUNS + 5} selected runs" in system.note


async def test_runs_status_says_scanning_then_why_a_root_cannot_be_read(tmp_path, monkeypatch):
    import threading

    import viewer.tui.app as app_module
    from viewer.data.store import Store

    gate = threading.Event()

    class SlowStore(Store):  # a root on a slow network filesystem
        def __init__(self, *args, **kwargs):
            gate.wait(10)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app_module, "FIRST_SCAN_WAIT_S", 0.0)
    monkeypatch.setattr(app_module, "Store", SlowStore)
    make_runs(tmp_path / "runs", STANDARD[:1])
    app = LoupeApp([tmp_path / "runs"], live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "scanning" in str(app.query_one("#runs-status").render())
        gate.set()
        await settle(pilot)
        assert str(app.query_one("#runs-status").render()).startswith("1 of 1 runs")

    gate.set()
    app = LoupeApp([tmp_path / "no-such-root"], live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = str(app.query_one("#runs-status").render())
        assert "no-such-root" in status and "does not exist" in status


async def test_a_large_table_widens_its_columns_over_several_turns_and_keeps_the_cursor(root, monkeypatch):
    import viewer.tui.runs_pane as runs_pane_module

    # Widths from the first 2 rows before the first paint, then one more row per turn.
    monkeypatch.setattr(runs_pane_module, "FIRST_ROWS", 2)
    monkeypatch.setattr(runs_pane_module, "MORE_ROWS", 1)
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(RunsPane)
        table = pane.table
        assert table.row_count == 4 and table_names(app) == ["broken", "big-batch", "fast-lr", "baseline"]
        table.focus()
        await pilot.press("down", "down")  # on "fast-lr"
        pane._sort_by("name")
        pane._sort_by("name")  # descending: fast-lr, broken, big-batch, baseline
        # Every row is in at once; the cursor stayed on fast-lr.
        assert table.row_count == 4 and table.cursor_row == 0
        assert [str(table.get_row_at(i)[1]) for i in range(4)] == ["fast-lr", "broken", "big-batch", "baseline"]
        await settle(pilot)
        # The widest name is in the third row, past the two measured before the paint.
        name = table.columns[next(k for k in table.columns if k.value == "name")]
        assert name.content_width == len("big-batch")
        assert table.cursor_row == 0


async def test_metrics_status_counts_one_run_and_one_plot_in_the_singular(tmp_path):
    root = tmp_path / "runs"
    run = recorder.init(dir=root, project="one", name="solo", system_interval=0, capture_console=False)
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await wait_until(pilot, lambda: len(app.query(MetricPlot)) == 1, what="the loss plot")
        status = str(app.query_one("#metrics-status").render())
        assert [part.strip() for part in status.split("·")][:2] == ["1 run", "1 plot"], status
