"""The dashboard's report key (ctrl+s) and palette command: the selected runs, in their colours."""

from __future__ import annotations

from pathlib import Path

from report_helpers import report_json
from textual.widgets import Input
from tui_fixtures import STANDARD, make_runs
from tui_helpers import settle, wait_until

from viewer.tui.app import LoupeApp
from viewer.tui.report_export import ReportPrompt


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_ctrl_s_saves_the_selected_runs_in_their_colours(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    ids = make_runs(root, STANDARD)
    monkeypatch.chdir(tmp_path)
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.select([ids[1], ids[0]])
        await pilot.press("ctrl+s")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, ReportPrompt)
        box = prompt.query_one(Input)
        assert Path(box.value).parent == tmp_path and box.value.endswith(".html")  # a default name, here
        out = tmp_path / "mine.html"
        box.value = str(out)
        await pilot.press("enter")
        await wait_until(pilot, out.exists, what=f"{out} written")  # written to a temp name, then renamed
        await settle(pilot)
        data = report_json(out)
        assert [r["cells"]["name"] for r in data["runs"]] == ["fast-lr", "baseline"]
        assert [r["color"] for r in data["runs"]] == [app.run_colors.hex(ids[1]), app.run_colors.hex(ids[0])]
        assert any(n.startswith(f"report written: {out}") for n in notes(app))


async def test_palette_command_and_nothing_selected(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    make_runs(root, STANDARD[:1])
    monkeypatch.chdir(tmp_path)
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"html report")
        await settle(pilot)  # the palette searches in a worker
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportPrompt), what="the report prompt")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ReportPrompt) and not list(tmp_path.glob("*.html"))

        app.select([])
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ReportPrompt)
        assert any("Select runs first" in n for n in notes(app))
