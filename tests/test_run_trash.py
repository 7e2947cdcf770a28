"""The trash under each root: never scanned as runs, nothing restored outside the root,
nothing followed out of it when emptied."""

from __future__ import annotations

import json
import os

import pytest
from store_helpers import real_run

from recorder import layout
from viewer.data.discovery import find_runs
from viewer.data.run_lookup import RunNotFound
from viewer.data.run_trash import empty_trash, find_in_trash, list_trash, move_to_trash, restore
from viewer.data.store import Store


def test_trashed_runs_are_not_runs_and_come_back_whole(runs_root):
    run = real_run(runs_root, name="alpha", steps=7)
    info = Store([runs_root]).resolve(run.id)
    entry = move_to_trash(info)
    assert entry.trash_path.parent == runs_root / layout.TRASH_DIR
    assert find_runs([runs_root]) == []
    record = json.loads(entry.record.read_text())
    assert record["path"] == f"p/{run.id}" and record["name"] == "alpha"
    restore(entry)
    back = Store([runs_root])
    assert back.resolve(run.id).name == "alpha" and back.history(run.id).num_rows == 7
    assert list((runs_root / layout.TRASH_DIR).iterdir()) == []


def test_the_same_id_deleted_twice_needs_a_longer_reference(runs_root):
    run = real_run(runs_root, name="first", id="same-id")
    move_to_trash(Store([runs_root]).resolve("same-id"), now=1_000_000_000)
    real_run(runs_root, name="second", id="same-id")
    move_to_trash(Store([runs_root]).resolve("same-id"), now=1_000_000_000)  # same second: a distinct entry
    entries = list_trash([runs_root])
    assert sorted(e.name for e in entries) == ["first", "second"]
    with pytest.raises(RunNotFound, match="matches 2 runs"):
        find_in_trash("same-id", entries)
    assert find_in_trash("second", entries).name == "second"
    assert run.id == "same-id"


@pytest.mark.parametrize("path", ["../../escaped", "/etc/evil", ".trash/x", "a/../../b"])
def test_a_tampered_record_never_restores_outside_the_root(runs_root, path):
    run = real_run(runs_root, id="victim")
    entry = move_to_trash(Store([runs_root]).resolve(run.id))
    data = json.loads(entry.record.read_text())
    data["path"] = path
    entry.record.write_text(json.dumps(data))
    (tampered,) = list_trash([runs_root])
    dest = restore(tampered)
    assert dest == runs_root / "p" / "victim"
    assert os.path.commonpath([dest, runs_root]) == str(runs_root)


def test_emptying_a_trashed_symlinked_run_removes_the_link_not_its_target(runs_root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    real_run(elsewhere, id="linked", steps=3)
    (runs_root / "p").mkdir(parents=True)
    os.symlink(elsewhere / "p" / "linked", runs_root / "p" / "linked")
    entry = move_to_trash(Store([runs_root]).resolve("linked"))
    assert os.path.islink(entry.trash_path)
    empty_trash([entry])
    assert not os.path.lexists(entry.trash_path) and (elsewhere / "p" / "linked" / "run.json").is_file()


def test_a_root_that_is_itself_a_run_is_not_moved(runs_root):
    run = real_run(runs_root, id="solo")
    store = Store([runs_root / "p" / "solo"])
    with pytest.raises(ValueError, match="is the root"):
        move_to_trash(store.resolve(run.id))
    assert (runs_root / "p" / "solo" / "run.json").is_file()


def test_a_record_left_by_a_deletion_cut_short_is_ignored(runs_root):
    trash = runs_root / layout.TRASH_DIR
    trash.mkdir(parents=True)
    (trash / f"20260101-000000-gone{layout.TRASH_RECORD_SUFFIX}").write_text('{"id": "gone", "path": "p/gone"}')
    assert list_trash([runs_root]) == []
