"""Layout snapshots of the main screens at 80x24 and 160x48 (update with --snapshot-update)."""

from __future__ import annotations

import pytest
from tui_fixtures import STANDARD, make_runs
from tui_helpers import settle, wait_until

from viewer.tui.app import LoupeApp
from viewer.tui.runs_pane import RunsPane

SIZES = [(80, 24), (160, 48)]


def app_for(tmp_path) -> LoupeApp:
    make_runs(tmp_path / "runs", STANDARD)
    return LoupeApp([tmp_path / "runs"], live=False)


async def loaded(pilot, select_two: bool = False) -> None:
    await settle(pilot)
    pilot.app.sub_title = "sample"  # the temporary root's path would differ run to run
    if select_two:
        rows = pilot.app.query_one(RunsPane).rows
        names = {r.values["name"]: r.run.id for r in rows}
        pilot.app.select([names["baseline"], names["fast-lr"]])
    await settle(pilot)


async def switched(pilot, key: str) -> None:
    """Press a tab key; return once its pane has drawn and the tab underline stopped moving."""
    await pilot.press(key)
    await settle(pilot)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_screen(snap_compare, tmp_path, size):
    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_metrics_screen(snap_compare, tmp_path, size):
    async def before(pilot):
        await loaded(pilot, select_two=True)
        await switched(pilot, "2")

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=before)


def write_log(root) -> None:
    """A fixed console log for the newest run, so the logs screen is the same every time."""
    run_dir = root / "demo" / "run4-broken"  # the newest run, selected at start
    lines = [
        f"2026-01-04T10:00:{i:02d}.000Z {'E' if i % 7 == 3 else 'O'} step {i}: loss {1 / (i + 1):.4f}"
        for i in range(40)
    ]
    (run_dir / "output.log").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_logs_screen(snap_compare, tmp_path, size):
    app = app_for(tmp_path)
    write_log(tmp_path / "runs")

    async def before(pilot):
        await loaded(pilot)
        await switched(pilot, "4")

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_system_screen_without_gpu(snap_compare, tmp_path, size):
    async def before(pilot):
        await loaded(pilot)
        await switched(pilot, "3")

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_screen(snap_compare, tmp_path, size):
    async def before(pilot):
        from viewer.tui.compare_screen import CompareScreen

        await loaded(pilot, select_two=True)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), what="the compare view")
        await wait_until(pilot, lambda: pilot.app.screen.comparison is not None, what="the comparison")
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=before)
