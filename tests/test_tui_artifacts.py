"""Artifacts pane: collections, versions, detail and a run's lineage from real runs, with Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, OptionList, Static
from tui_helpers import PaneApp, screen_text, settle, wait_until

import recorder
from viewer.data import artifact_index
from viewer.tui.artifacts_pane import ArtifactsPane

HOSTILE = "[@click=app.quit] [/bold] \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"


def plain(widget: Static) -> str:
    r = widget.render()
    return getattr(r, "plain", str(r))


@pytest.fixture(scope="module")
def art_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("arts")
    root = base / "runs"
    data = base / "data"
    data.mkdir()
    producer = recorder.init(
        dir=root, project="p", name="trainer", system_interval=0, capture_console=False, reinit="create_new"
    )
    for i in range(2):
        (data / "train.csv").write_text(f"a,b\n{i},2\n")
        (data / "notes [x].txt").write_text("n" * (10 + i))
        art = recorder.Artifact(
            "training-data",
            type="dataset",
            description=f"version {i} " + HOSTILE,
            metadata={"rows": i + 1, "note": HOSTILE, "nested": {"k": [1, 2]}},
        )
        art.add_file(str(data / "train.csv"))
        art.add_file(str(data / "notes [x].txt"))
        producer.log_artifact(art, aliases=["best"] if i == 1 else ["first"])
    model = recorder.Artifact("model", type="model", metadata={"acc": 0.9})
    (data / "w.bin").write_bytes(b"\0" * 2048)
    model.add_file(str(data / "w.bin"))
    producer.log_artifact(model)
    producer.link_artifact(model, "model-registry/production-models", aliases=["production"])
    producer.finish()
    consumer = recorder.init(
        dir=root,
        project="p",
        name="evaluator " + HOSTILE,
        system_interval=0,
        capture_console=False,
        reinit="create_new",
    )
    consumer.use_artifact("training-data:v0")
    consumer.use_artifact("model:latest")
    consumer.finish()
    idle = recorder.init(
        dir=root, project="q", name="idle", system_interval=0, capture_console=False, reinit="create_new"
    )
    idle.finish()
    return root


def test_locate_accepts_runs_root_project_and_run_folders(art_root):
    run_dir = next(p for p in (art_root / "p").iterdir() if (p / "run.json").exists())
    assert artifact_index.locate([art_root]) == [(art_root, None)]
    assert artifact_index.locate([art_root / "p"]) == [(art_root, "p")]
    assert artifact_index.locate([run_dir]) == [(art_root, "p")]
    rows = {(r["project"], r["name"]): r for r in artifact_index.collection_rows(art_root)}
    assert rows[("p", "training-data")]["versions"] == 2 and rows[("p", "model")]["type"] == "model"
    assert artifact_index.registry_rows(art_root) == [
        {"registry": "model-registry", "collection": "production-models", "versions": 1}
    ]


async def test_collections_versions_detail_and_run_lineage(art_root):
    pane = ArtifactsPane(id="artifacts-pane")
    app = PaneApp([art_root], pane)
    async with app.run_test(size=(140, 45)) as pilot:
        app.select(["evaluator " + HOSTILE, "trainer"])
        await settle(pilot)
        labels = [e.label for e in pane.shown]
        assert labels == ["p/model", "p/training-data", "registry model-registry/production-models"]
        options = pane.query_one("#artifacts-collections", OptionList)
        assert options.get_option_at_index(1).prompt.plain.startswith("p/training-data  dataset ·2")

        options.highlighted = 1
        await settle(pilot)
        table = pane.query_one("#artifacts-versions", DataTable)
        assert table.row_count == 2
        assert [table.get_cell_at((i, 0)).plain for i in range(2)] == ["v1", "v0"]  # newest first
        assert table.get_cell_at((0, 1)).plain == "latest, best" and table.get_cell_at((1, 1)).plain == "first"
        assert table.get_cell_at((0, 6)).plain == "trainer"
        assert table.get_cell_at((1, 7)).plain == "1" and table.get_cell_at((0, 7)).plain == "0"
        detail = plain(pane.query_one("#artifacts-detail", Static))
        assert "p/training-data:v1" in detail and "version 1 [@click=app.quit] [/bold] link" in detail
        assert "note: [@click=app.quit] [/bold] link" in detail and "nested.k: [1, 2]" in detail
        assert "notes [x].txt" in detail and "train.csv" in detail and "\x1b" not in detail
        assert "Produced by\n  trainer (p/" in detail and "(no run used it)" in detail
        await wait_until(
            pilot, lambda: "note: [@click=app.quit] [/bold] link" in screen_text(app), what="the note drawn"
        )
        assert "\x1b" not in screen_text(app)

        # Down the table: v0, used by the evaluator.
        table.focus()
        await pilot.press("down")
        await settle(pilot)
        detail = plain(pane.query_one("#artifacts-detail", Static))
        assert "p/training-data:v0" in detail and "Used by (1)" in detail
        assert "evaluator [@click=app.quit] [/bold] link (p/" in detail

        # The registry collection shows the version it links to.
        options.focus()
        options.highlighted = 2
        await settle(pilot)
        assert table.row_count == 1 and table.get_cell_at((0, 1)).plain == "latest, production"
        detail = plain(pane.query_one("#artifacts-detail", Static))
        assert "links to p/model:v0" in detail and "w.bin" in detail and "acc: 0.9" in detail

        # The selected run's inputs and outputs; ] switches to the next selected run.
        box = plain(pane.query_one("#artifacts-run", Static))
        assert box.startswith("Run evaluator [@click=app.quit]")
        assert "inputs: p/training-data:v0 (dataset),  p/model:v0 (model)" in box and "outputs: none" in box
        await pilot.press("right_square_bracket")
        await settle(pilot)
        box = plain(pane.query_one("#artifacts-run", Static))
        assert box.startswith("Run trainer") and "p/training-data:v1 (dataset)" in box
        assert "linked: p/model:v0 (model) → model-registry/production-models:v0" in box

        # / filters the collection list.
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"model")
        await settle(pilot)
        assert [e.label for e in pane.shown] == ["p/model", "registry model-registry/production-models"]
        await pilot.press("enter")
        assert app.focused is options
        await pilot.press("enter")
        assert app.focused is table
        assert app.is_running


async def test_project_root_and_nothing_logged(art_root):
    pane = ArtifactsPane(id="artifacts-pane")
    app = PaneApp([art_root / "q"], pane)
    async with app.run_test(size=(120, 30)) as pilot:
        app.select([])
        await settle(pilot)
        # Project q logged nothing; the root's registry is shared by every project.
        assert [e.label for e in pane.entries] == ["registry model-registry/production-models"]
        assert "select a run" in plain(pane.query_one("#artifacts-run", Static))


async def test_nothing_logged(tmp_path):
    run = recorder.init(
        dir=tmp_path, project="e", name="empty", system_interval=0, capture_console=False, reinit="create_new"
    )
    run.finish()
    pane = ArtifactsPane(id="artifacts-pane")
    app = PaneApp([tmp_path], pane)
    async with app.run_test(size=(120, 30)) as pilot:
        app.select(["empty"])
        await settle(pilot)
        assert pane.entries == [] and pane.query_one("#artifacts-versions", DataTable).row_count == 0
        assert "no artifacts under the roots" in plain(pane.query_one("#artifacts-detail", Static))
        box = plain(pane.query_one("#artifacts-run", Static))
        assert "inputs: none" in box and "outputs: none" in box


async def test_artifacts_tab_inside_loupe_app(art_root):
    from textual.widgets import TabbedContent

    from viewer.tui.app import LoupeApp

    app = LoupeApp([art_root], live=False)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        trainer = next(r.id for r in app.all_runs if r.name == "trainer")
        app.select([trainer])
        await pilot.press("8")
        await wait_until(pilot, lambda: app.query("#artifacts-pane"), what="the artifacts pane mounted")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "artifacts"
        pane = app.query_one("#artifacts-pane", ArtifactsPane)
        assert [e.label for e in pane.shown][:2] == ["p/model", "p/training-data"]
        assert plain(pane.query_one("#artifacts-run", Static)).startswith("Run trainer")
        assert isinstance(app.focused, OptionList)
        await pilot.press("down")
        await settle(pilot)
        assert pane.current.name == "training-data"
        assert pane.query_one("#artifacts-versions", DataTable).row_count == 2
        assert app.is_running


async def test_artifact_logged_while_open_appears_on_live_refresh(tmp_path):
    # The selected run does not change: the pane lists what is under the roots, so a new
    # artifact from another run must still show after the rescan.
    from textual.widgets import TabbedContent

    from viewer.tui.app import LoupeApp

    root = tmp_path / "runs"
    watched = recorder.init(
        dir=root, project="p", name="watched", system_interval=0, capture_console=False, reinit="create_new"
    )
    watched.finish()
    app = LoupeApp([root], live=False)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "artifacts"
        pane = app.query_one("#artifacts-pane", ArtifactsPane)
        assert pane.entries == []
        app._do_live_refresh()  # the selected run's files are now known: it will not count as changed
        await settle(pilot)
        other = recorder.init(
            dir=root, project="p", name="other", system_interval=0, capture_console=False, reinit="create_new"
        )
        (tmp_path / "w.bin").write_bytes(b"1" * 64)
        art = recorder.Artifact("late-model", type="model")
        art.add_file(str(tmp_path / "w.bin"))
        other.log_artifact(art)
        other.finish()
        app._do_live_refresh()
        await settle(pilot)
        assert [e.label for e in pane.shown] == ["p/late-model"]
