"""`ApiRun.update()` saves through recorder.journal.edit_run, the CLI's tag/note/rename path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_run

import recorder
from recorder import layout
from recorder.user_edits import edit_run


@pytest.fixture
def finished(runs_root):
    run = make_run(runs_root, name="first", tags=["a"], notes="n0")
    run.log({"loss": 1.0})
    run.finish()
    return run


def test_update_writes_only_what_changed_into_edits_json(finished, runs_root):
    api = recorder.Api(runs_root)
    run = api.run(f"p/{finished.id}")
    run.name = "renamed"
    run.tags.append("keep")
    run.notes = "looked at it"
    run.summary["best"] = 0.97
    del run.summary["loss"]
    run.update()
    edits = json.loads((Path(run.dir) / layout.EDITS_FILE).read_text())
    assert edits["name"] == "renamed" and edits["tags"] == ["a", "keep"] and edits["notes"] == "looked at it"
    assert edits["summary"] == {"best": 0.97, "loss": None}
    recorded = json.loads((Path(run.dir) / layout.RUN_FILE).read_text())
    assert recorded["name"] == "first" and recorded["tags"] == ["a"]  # run.json is never rewritten
    again = api.run(f"p/{finished.id}")
    assert (again.name, again.tags, again.notes) == ("renamed", ["a", "keep"], "looked at it")
    assert again.summary["best"] == 0.97 and "loss" not in again.summary
    assert [r.id for r in api.runs("p", filters={"tags": "keep", "display_name": "renamed"})] == [finished.id]


def test_update_keeps_an_edit_made_elsewhere_meanwhile(finished, runs_root):
    run = recorder.Api(runs_root).run(f"p/{finished.id}")
    edit_run(run.dir, notes="from loupe note", add_tags=["cli"])  # `loupe note` / `loupe tag` meanwhile
    run.tags.append("script")
    run.summary.update({"best": 1.0})  # wandb's summary.update() saves too
    again = recorder.Api(runs_root).run(f"p/{finished.id}")
    assert again.notes == "from loupe note" and again.summary["best"] == 1.0
    assert again.tags == ["a", "cli", "script"]


def test_update_refuses_config_changes_and_bad_tags(finished, runs_root):
    run = recorder.Api(runs_root).run(f"p/{finished.id}")
    run.config["lr"] = 1.0
    with pytest.raises(ValueError, match="config"):
        run.update()
    run = recorder.Api(runs_root).run(f"p/{finished.id}")
    run.tags.append("a,b")
    with pytest.raises(ValueError, match="comma"):
        run.update()
    assert not (Path(run.dir) / layout.EDITS_FILE).exists()
