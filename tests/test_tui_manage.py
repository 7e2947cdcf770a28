"""Compare, edit and delete from the dashboard, driven with Pilot: keys in, what the user sees out."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, TextArea
from tui_fixtures import STANDARD, make_runs
from tui_helpers import settle, wait_until

from viewer.tui.app import LoupeApp
from viewer.tui.compare_screen import BEST_MARK, CompareScreen
from viewer.tui.manage_dialogs import RunEditScreen, TrashScreen
from viewer.tui.runs_pane import RunsPane


@pytest.fixture
def root(tmp_path) -> Path:
    make_runs(tmp_path / "runs", STANDARD)
    return tmp_path / "runs"


def ids_by_name(app) -> dict[str, str]:
    return {r.values["name"]: r.run.id for r in app.query_one(RunsPane).rows}


def table_rows(table: DataTable) -> list[list[str]]:
    return [[c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def row_for(rows: list[list[str]], key: str) -> list[str]:
    return next(r for r in rows if r[0].strip() == key)


async def move_cursor_to(app, pilot, name: str) -> None:
    pane = app.query_one(RunsPane)
    index = [r.values["name"] for r in pane.shown].index(name)
    pane.table.move_cursor(row=index)
    await pilot.pause()


async def test_compare_shows_differing_config_first_and_marks_the_best(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        names = ids_by_name(app)
        app.select([names["baseline"], names["fast-lr"], names["broken"]])
        await pilot.pause()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="the compare view")
        screen = app.screen
        await wait_until(pilot, lambda: screen.comparison is not None, what="the comparison")
        await pilot.pause()
        table = screen.query_one(DataTable)
        headers = [c.label.plain for c in table.columns.values()]
        assert headers == ["key", "baseline", "fast-lr", "broken"]
        rows = table_rows(table)
        keys = [r[0].strip() for r in rows]
        # lr differs, batch_size is the same in all three: folded below the differing keys.
        assert keys.index("lr") < keys.index("▸ 1 the same (f)")
        assert "batch_size" not in keys
        assert row_for(rows, "lr")[1:] == ["0.01", "0.1", "1"]
        # Lower loss and higher accuracy are best: the fixture's loss is exp(-step * lr), so
        # broken (lr 1, 10 steps) ends lowest, then fast-lr, then baseline.
        loss = row_for(rows, "train/loss")
        acc = row_for(rows, "val/acc")
        assert [c.endswith(BEST_MARK) for c in loss[1:]] == [False, False, True]
        assert [c.endswith(BEST_MARK) for c in acc[1:]] == [False, False, True]
        # lr has no direction: nothing marked.
        assert not any(c.endswith(BEST_MARK) for c in row_for(rows, "lr"))
        # Metadata: state and runtime side by side.
        assert row_for(rows, "state")[1:] == ["finished", "finished", "failed"]
        assert row_for(rows, "host")[1:] == ["testhost"] * 3

        await pilot.press("f")
        await pilot.pause()
        rows = table_rows(table)
        assert row_for(rows, "batch_size")[1:] == ["32", "32", "32"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CompareScreen), what="the compare view to close")


async def test_compare_needs_two_selected_runs(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert len(app.selected) == 1  # the newest, selected at start
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        assert any("two or more runs" in str(n.message) for n in app._notifications)


async def test_edit_form_renames_tags_and_notes_a_run_and_the_table_shows_it(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await move_cursor_to(app, pilot, "fast-lr")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, RunEditScreen), what="the edit form")
        form = app.screen
        assert form.query_one("#edit-name", Input).value == "fast-lr"
        form.query_one("#edit-name", Input).value = "[@click=app.quit]fast"
        form.query_one("#edit-tags", Input).value = "keep, [red]best[/red] ,"
        form.query_one("#edit-notes", TextArea).text = "lr too high?\nsecond line"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunEditScreen), what="the form to close")
        await wait_until(pilot, lambda: "[@click=app.quit]fast" in ids_by_name(app), what="the new name in the table")
        run = next(r.run for r in app.query_one(RunsPane).rows if r.values["name"] == "[@click=app.quit]fast")
        assert run.tags == ("keep", "[red]best[/red]")
        assert run.notes == "lr too high?\nsecond line"
        # Shown as the characters typed, not as markup (and the click did not quit).
        pane = app.query_one(RunsPane)
        cells = pane.table.get_row(run.id)
        rendered = [Text.from_markup(c).plain if isinstance(c, str) else str(c) for c in cells]
        assert "[@click=app.quit]fast" in rendered and "keep, [red]best[/red]" in rendered
        assert app.is_running
        # The edit went to edits.json; run.json still holds what the recorder wrote.
        assert json.loads((run.path / "run.json").read_text())["name"] == "fast-lr"


async def test_edit_form_refuses_an_empty_name_and_stays_open(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, RunEditScreen), what="the edit form")
        form = app.screen
        form.query_one("#edit-name", Input).value = "   "
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RunEditScreen)
        assert "cannot be empty" in str(form.query_one("#edit-error").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunEditScreen), what="the form to close")
        assert "broken" in ids_by_name(app)


async def test_delete_key_asks_then_moves_the_run_to_the_trash(root):
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await move_cursor_to(app, pilot, "baseline")
        run = next(r.run for r in app.query_one(RunsPane).rows if r.values["name"] == "baseline")
        # Cancelling keeps it.
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, TrashScreen), what="the confirmation")
        assert [r.id for r in app.screen.runs] == [run.id]  # the cursor run, not the selected newest
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, TrashScreen), what="the dialog to close")
        assert run.path.is_dir()
        # Confirming moves it under the root's trash and the table drops it.
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, TrashScreen), what="the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "baseline" not in ids_by_name(app), what="the run to leave the table")
        assert not run.path.exists()
        assert [p.name.endswith(run.path.name) for p in (root / ".trash").iterdir() if p.is_dir()] == [True]


async def test_delete_keeps_a_running_run(root, tmp_path):
    # A run whose process (this test) is alive and whose heartbeat is fresh is running.
    from store_helpers import fake_run_dir, iso

    fake_run_dir(root, "demo", "live-run", state="running", heartbeat_age=0.5, created_at=iso(time.time()))
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await move_cursor_to(app, pilot, "live-run")
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, TrashScreen), what="the confirmation")
        dialog = app.screen
        assert dialog.runs == [] and [r.id for r in dialog.kept] == ["live-run"]
        assert "kept, still running" in str(dialog.query_one("#trash-list").render())
        await pilot.press("y")  # nothing to move: the dialog stays until cancelled
        await pilot.pause()
        assert (root / "demo" / "live-run").is_dir()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TrashScreen), what="the dialog to close")


async def test_compare_from_the_palette_shows_hostile_names_and_values_as_text(tmp_path):
    root = tmp_path / "runs"
    make_runs(
        root,
        [
            {
                "name": "[@click=app.quit]a",
                "id": "hostile-a",
                "config": {"note": "[bold]x[/bold]", "lr": 0.1},
                "steps": 5,
            },
            {"name": "[/bold]b", "id": "hostile-b", "config": {"note": "\x1b]0;pwned\x07y", "lr": 0.2}, "steps": 5},
        ],
    )
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        app.select(list(ids_by_name(app).values()))
        await pilot.pause()
        app.action_compare()  # what the palette's "Compare the selected runs" runs
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="the compare view")
        screen = app.screen
        await wait_until(pilot, lambda: screen.comparison is not None, what="the comparison")
        await pilot.pause()
        table = screen.query_one(DataTable)
        headers = [c.label.plain for c in table.columns.values()][1:]
        assert sorted(headers) == ["[/bold]b", "[@click=app.quit]a"]
        note = row_for(table_rows(table), "note")[1:]
        assert "[bold]x[/bold]" in note and not any("\x1b" in v or "\x07" in v for v in note)
        await pilot.click("#compare-table", offset=(30, 0))  # a click on the names does nothing
        assert app.is_running
