"""Sweeps pane: trials sorted by the goal, best so far, parameter plots and importance, with Pilot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, OptionList, Static
from tui_helpers import PaneApp, screen_text, settle, wait_until

import recorder

pytest.importorskip("optuna")

import itertools

from viewer.data import sweep_index
from viewer.tui.sweeps_pane import ParamPlot, SweepsPane, importance_text

HOSTILE = "[@click=app.quit] [/bold] \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"


def plain(widget: Static) -> str:
    r = widget.render()
    return getattr(r, "plain", str(r))


def objective(c) -> float:
    return abs(math.log10(c["lr"]) + 2) + (0.5 if c["opt"] == "sgd" else 0.0) + 0.1 * c["layers"]


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweeps") / "runs"

    def train():
        run = recorder.init(system_interval=0, capture_console=False)
        run.log({"score": -objective(run.config)})
        run.finish()

    first = recorder.sweep(
        {
            "method": "random",
            "name": "older",
            "metric": {"name": "score", "goal": "maximize"},
            "parameters": {"lr": {"values": [0.01]}, "opt": {"value": "adam"}, "layers": {"value": 1}},
        },
        project="sw",
        dir=root,
    )
    recorder.agent(first, function=train, count=1, dir=root, quiet=True)

    cfg = {
        "method": "random",
        "name": "tune " + HOSTILE,
        "metric": {"name": "val/loss", "goal": "minimize"},
        "parameters": {
            "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "opt": {"values": ["adam", "sgd", "[/bold]"]},
            "layers": {"values": [1, 2, 3]},
        },
    }
    sid = recorder.sweep(cfg, project="sw", dir=root)

    def train2():
        run = recorder.init(system_interval=0, capture_console=False)
        run.log({"val/loss": objective(run.config)})
        run.finish()

    recorder.agent(sid, function=train2, count=7, dir=root, quiet=True)
    return root


def test_sweeps_under_accepts_project_and_run_folders(sweep_root):
    ids = [s.id for s in sweep_index.sweeps_under([sweep_root])]
    assert len(ids) == 2
    assert [s.id for s in sweep_index.sweeps_under([sweep_root / "sw"])] == ids
    run_dir = next(p for p in (sweep_root / "sw").iterdir() if (p / "run.json").exists())
    assert [s.id for s in sweep_index.sweeps_under([run_dir])] == ids


def test_importance_bars_are_ranked_text():
    text = importance_text(sweep_index.Importance([("lr", 0.6), ("[/x]", 0.3), ("opt", 0.1)], "by fANOVA"))
    lines = text.plain.split("\n")
    assert lines[0] == "Parameter importance  by fANOVA"
    assert lines[1].startswith("lr") and lines[1].count("█") == 24 and lines[1].endswith("60.0%")
    assert lines[2].startswith("[/x]") and lines[2].count("█") == 12
    assert "computing…" in importance_text(None).plain


async def test_trials_best_so_far_params_and_importance(sweep_root):
    pane = SweepsPane(id="sweeps-pane")
    app = PaneApp([sweep_root], pane)
    async with app.run_test(size=(150, 60)) as pilot:
        app.select_ids([])
        await settle(pilot)
        assert [s.name for s in pane.sweeps] == ["older", "tune " + HOSTILE]
        assert pane.current.name == "tune " + HOSTILE  # the newest
        option = pane.query_one("#sweeps-list", OptionList).get_option_at_index(1).prompt
        assert isinstance(option, Text) and option.plain.startswith("tune [@click=app.quit] [/bold] link")
        header = plain(pane.query_one("#sweeps-header", Static))
        await wait_until(
            pilot, lambda: "tune [@click=app.quit] [/bold] link" in screen_text(app), what="the name drawn"
        )
        assert "\x1b" not in screen_text(app)
        assert "metric val/loss (minimize)" in header and "7 trials: 7 finished" in header and "\x1b" not in header

        # Trials sorted ascending (minimize), values from the runs' summaries.
        table = pane.query_one("#sweeps-trials", DataTable)
        assert table.row_count == 7
        values = [float(table.get_cell_at((i, 3)).plain) for i in range(7)]
        assert values == sorted(values)
        headers = [c.label.plain for c in table.columns.values()]
        assert headers[:5] == ["rank", "trial", "state", "val/loss ▲", "run"]
        assert set(headers[5:]) == {"lr", "opt", "layers"}
        best = pane.view.trials[0]
        assert f"best: trial {best.number}" in header

        # Best so far never gets worse, and ends at the best value.
        ys = [v for _, v in pane.view.best]
        assert all(b <= a for a, b in itertools.pairwise(ys)) and ys[-1] == pane.view.trials[0].value == min(
            t.value for t in pane.view.trials
        )
        assert len(pane.view.values) == 7

        # One scatter per parameter; categories on ticks, lr on a log axis.
        plots = {p.data.name: p.data for p in pane.query(ParamPlot)}
        assert set(plots) == {"lr", "opt", "layers"}
        assert plots["lr"].log_x and len(plots["lr"].xs) == 7
        assert plots["opt"].labels == ["adam", "sgd", "[/bold]"] and set(plots["opt"].xs) <= {0.0, 1.0, 2.0}

        # Importance arrives from its worker, ranked.
        imp = plain(pane.query_one("#sweeps-importance", Static))
        assert imp.startswith("Parameter importance") and "computing" not in imp
        if pane.importance.ranked:
            shares = [s for _, s in pane.importance.ranked]
            assert shares == sorted(shares, reverse=True)
            assert imp.split("\n")[1].split()[0] == pane.importance.ranked[0][0]

        # enter on a trial selects its run in the dashboard.
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.selections == [[best.run_id]], what="the trial's run selected")

        # [ goes to the previous sweep: maximize, one trial.
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert pane.current.name == "older"
        assert table.row_count == 1 and [c.label.plain for c in table.columns.values()][3] == "score ▼"
        assert "needs at least" in plain(pane.query_one("#sweeps-importance", Static))
        assert app.is_running


async def test_selected_trial_run_brings_up_its_sweep(sweep_root):
    older = next(s for s in sweep_index.sweeps_under([sweep_root]) if s.name == "older")
    run_id = sweep_index.load_sweep(older).trials[0].run_id
    pane = SweepsPane(id="sweeps-pane")
    app = PaneApp([sweep_root / "sw"], pane)
    async with app.run_test(size=(120, 40)) as pilot:
        app.select_ids([run_id])
        await settle(pilot)
        assert pane.current.name == "older" and pane.view.trials[0].run_id == run_id


async def test_no_sweeps(tmp_path):
    pane = SweepsPane(id="sweeps-pane")
    app = PaneApp([tmp_path], pane)
    async with app.run_test(size=(100, 30)) as pilot:
        app.select_ids([])
        await settle(pilot)
        assert pane.sweeps == [] and "no sweeps under the roots" in plain(pane.query_one("#sweeps-header", Static))


async def test_sweeps_tab_inside_loupe_app(sweep_root):
    from textual.widgets import TabbedContent

    from viewer.tui.app import LoupeApp

    app = LoupeApp([sweep_root], live=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        await pilot.press("9")
        await wait_until(pilot, lambda: app.query("#sweeps-pane"), what="the sweeps pane mounted")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "sweeps"
        pane = app.query_one("#sweeps-pane", SweepsPane)
        # The newest run is selected at start: a trial of the newest sweep.
        assert pane.current.name == "tune " + HOSTILE and pane.view is not None
        table = pane.query_one("#sweeps-trials", DataTable)
        assert table.row_count == 7
        # enter in the list opens the trials; enter on a trial selects its run everywhere.
        await pilot.press("enter")
        assert app.focused is table
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.selected == [pane.view.trials[1].run_id]
        assert app.is_running
