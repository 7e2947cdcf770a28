"""The part lists saved beside the catalog (viewer.data.part_lists): a second open builds
the history/system/logs views from them, and one made from other listings is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import recorder
from tests.store_helpers import real_run
from viewer.data import part_lists, run_table_cache, view_connection
from viewer.data.run_catalog import catalog_file
from viewer.data.store import Store

Q_HISTORY = "SELECT run_id, count(*) AS n, sum(loss) AS s FROM history GROUP BY run_id ORDER BY run_id"
Q_LOGS = "SELECT run_id, text FROM logs ORDER BY run_id, line"


@pytest.fixture
def trust_at_once(monkeypatch):
    monkeypatch.setattr(run_table_cache, "FRESH_NS", 0)


@pytest.fixture
def builds(monkeypatch):
    """Run ids whose part rows were made from their listing, per call of part_table."""
    made: list[list[str]] = []
    original = part_lists.part_table

    def counting(entries):
        entries = list(entries)
        made.append([run_id for run_id, _, _ in entries])
        return original(entries)

    monkeypatch.setattr(part_lists, "part_table", counting)
    return made


def _memo(root):
    return catalog_file(root).with_name("part-lists-v1.arrow")


def _answers(root) -> tuple[list, list, int]:
    with Store([root]) as store:
        return (
            store.query(Q_HISTORY).to_pylist(),
            store.query(Q_LOGS).to_pylist(),
            store.query("SELECT count(*) AS n FROM system").to_pylist()[0]["n"],
        )


def _runs_with_logs(root, n: int) -> list:
    runs = []
    for i in range(n):
        run = recorder.init(
            dir=root, project="p", name=f"r{i}", reinit="create_new", system_interval=0, capture_console=False
        )
        for s in range(4 + i):
            run.log({"loss": float(s + i)})
        run.finish()
        # The recorder's console format (pytest holds this process's stdout).
        (Path(run.dir) / "output.log").write_text(f"2026-12-04T10:00:0{i}.000Z O hello from r{i}\n")
        runs.append(run)
    return runs


def test_second_open_reads_the_saved_lists_and_answers_the_same(tmp_path, trust_at_once, builds):
    runs = _runs_with_logs(tmp_path, 3)
    first = _answers(tmp_path)  # no catalog yet: every run is listed
    assert _answers(tmp_path) == first  # listings kept by the catalog: the lists are saved
    assert _memo(tmp_path).exists()
    builds.clear()
    assert _answers(tmp_path) == first
    assert all(ids == [] for ids in builds)  # nothing made again: the saved table was used
    history, logs, _ = first
    assert {r["run_id"]: r["n"] for r in history} == {r.id: 4 + i for i, r in enumerate(runs)}
    assert {r["run_id"]: r["text"] for r in logs} == {r.id: f"hello from r{i}" for i, r in enumerate(runs)}


def test_a_new_run_makes_new_lists_and_shows_in_the_views(tmp_path, trust_at_once, builds):
    real_run(tmp_path, name="a", steps=3)
    _answers(tmp_path)
    _answers(tmp_path)  # the new run's listing is now kept too
    b = real_run(tmp_path, name="b", steps=7)
    builds.clear()
    history, _, _ = _answers(tmp_path)
    assert {r["run_id"]: r["n"] for r in history}[b.id] == 7
    assert any(ids for ids in builds)  # the saved lists were for other listings


@pytest.mark.parametrize("damage", ["garbage", "empty", "other_root"])
def test_a_damaged_or_foreign_list_file_is_never_used(tmp_path, trust_at_once, damage):
    for i in range(2):
        real_run(tmp_path / "one", name=f"x{i}", steps=5 + i)
    real_run(tmp_path / "two", name="y", steps=2)
    expected = _answers(tmp_path / "one")
    for _ in range(2):
        _answers(tmp_path / "two")
    assert _answers(tmp_path / "one") == expected
    memo = _memo(tmp_path / "one")
    if damage == "garbage":
        memo.write_bytes(b"ARROW1" + b"\x00" * 100)
    elif damage == "empty":
        memo.write_bytes(b"")
    else:
        shutil.copy(_memo(tmp_path / "two"), memo)
    assert _answers(tmp_path / "one") == expected
    assert _answers(tmp_path / "one") == expected  # and the file saved over it is right


def test_deleting_the_lists_loses_nothing(tmp_path, trust_at_once):
    _runs_with_logs(tmp_path, 2)
    expected = _answers(tmp_path)
    assert _answers(tmp_path) == expected
    _memo(tmp_path).unlink()
    assert _answers(tmp_path) == expected


def test_parts_with_many_schemas_are_read_by_name(tmp_path, trust_at_once, monkeypatch):
    # Past MAX_SCHEMA_GROUPS column sets, one union_by_name scan: every metric still shows.
    monkeypatch.setattr(view_connection.Q, "MAX_SCHEMA_GROUPS", 2)
    for i in range(4):
        run = recorder.init(dir=tmp_path, project="p", name=f"s{i}", reinit="create_new", system_interval=0)
        run.log({f"m{i}": float(i)})
        run.finish()
    for _ in range(2):  # first open lists, second reads the saved lists
        with Store([tmp_path]) as store:
            row = store.query("SELECT count(m0) a, count(m1) b, count(m2) c, count(m3) d FROM history").to_pylist()
        assert row == [{"a": 1, "b": 1, "c": 1, "d": 1}]


def test_glob_characters_in_a_root_are_read_literally(tmp_path, trust_at_once):
    root = tmp_path / "exp[1]*"
    _runs_with_logs(root, 2)
    first = _answers(root)
    assert sum(r["n"] for r in first[0]) == 4 + 5
    assert _answers(root) == first


def test_two_roots_each_keep_their_own_lists(tmp_path, trust_at_once, builds):
    # "exp" is a string prefix of "exp2": a run of exp2 must not count as one of exp's.
    a = real_run(tmp_path / "exp", name="a", steps=3)
    b = real_run(tmp_path / "exp2", name="b", steps=5)
    roots = [tmp_path / "exp", tmp_path / "exp2"]

    def counts() -> dict[str, int]:
        with Store(roots) as store:
            return {r["run_id"]: r["n"] for r in store.query(Q_HISTORY).to_pylist()}

    assert counts() == {a.id: 3, b.id: 5}
    assert counts() == {a.id: 3, b.id: 5}  # listings kept: each root's lists saved
    assert _memo(tmp_path / "exp").exists() and _memo(tmp_path / "exp2").exists()
    builds.clear()
    assert counts() == {a.id: 3, b.id: 5}
    assert all(ids == [] for ids in builds)
    with Store([tmp_path / "exp"]) as store:  # exp's own file holds exp's run alone
        assert store.query("SELECT DISTINCT run_id FROM history").to_pylist() == [{"run_id": a.id}]
