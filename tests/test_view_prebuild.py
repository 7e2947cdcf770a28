"""viewer.connect() builds its views from the run catalog while the roots are walked
(viewer.data.view_prebuild): the views it hands over always show the roots as they are
now, whatever the catalog said, and each warning reaches the user once."""

from __future__ import annotations

import shutil
import sys
import threading
import types
from pathlib import Path

import pytest

import viewer
import viewer.data.store as store_module
from tests.store_helpers import real_run
from viewer.data import run_table_cache
from viewer.data.store import Store
from viewer.data.view_connection import ViewConnection

HISTORY_COUNTS = "SELECT run_id, count(*) AS n FROM history GROUP BY run_id ORDER BY run_id"


@pytest.fixture(autouse=True)
def trust_at_once(monkeypatch):
    # Rows are trusted 2 s after their directory's mtime; the tests would sleep that long.
    monkeypatch.setattr(run_table_cache, "FRESH_NS", 0)


@pytest.fixture
def builds(monkeypatch):
    """Names of the threads on which the stream views were built, one entry per build."""
    seen: list[str] = []
    original = ViewConnection._part_rows

    def counting(self):
        seen.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(ViewConnection, "_part_rows", counting)
    return seen


def _warm(root: Path) -> None:
    """A catalog with every run's part listing in it, as a first connect leaves it."""
    with Store([root]) as store:
        store.query(HISTORY_COUNTS)


def _counts(con) -> dict[str, int]:
    return dict(con.execute(HISTORY_COUNTS).fetchall())


def test_a_warm_catalog_builds_the_views_once_beside_the_walk(tmp_path, builds):
    runs = [real_run(tmp_path, name=f"r{i}", steps=3 + i) for i in range(3)]
    _warm(tmp_path)
    builds.clear()
    con = viewer.connect(tmp_path)
    assert _counts(con) == {r.id: 3 + i for i, r in enumerate(runs)}
    assert builds == ["loupe-view-prebuild"]  # built beside the walk, and those views kept


@pytest.mark.parametrize("removed", ["newest", "oldest"])
def test_runs_added_and_removed_since_the_catalog_are_shown_as_they_are(tmp_path, builds, removed):
    runs = [real_run(tmp_path, name=f"r{i}", steps=3 + i) for i in range(3)]
    _warm(tmp_path)
    # The newest run's parts come first in the catalog's lists: the build beside the walk
    # then fails on its first file; the oldest's come last and it builds views that
    # read a file that is gone. Either way, what is handed over is built again.
    gone = runs[-1] if removed == "newest" else runs[0]
    shutil.rmtree(gone.dir)
    added = real_run(tmp_path, name="new", steps=7)
    warnings: list[str] = []
    builds.clear()
    con = viewer.connect(tmp_path, on_warning=warnings.append)
    expected = {r.id: 3 + i for i, r in enumerate(runs) if r is not gone} | {added.id: 7}
    assert _counts(con) == expected
    assert {r for (r,) in con.execute("SELECT id FROM runs").fetchall()} == set(expected)
    assert warnings == []
    assert builds == ["loupe-view-prebuild", "MainThread"]


def _failing_provider(monkeypatch) -> None:
    mod = types.ModuleType("loupe_failing_provider")

    def register(con, roots):
        raise RuntimeError("no extra view today")

    mod.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "loupe_failing_provider", mod)
    monkeypatch.setattr(store_module, "VIEW_PROVIDERS", ("loupe_failing_provider",))


@pytest.mark.parametrize("catalog", ["right", "stale"])
def test_a_warning_while_the_views_are_built_reaches_the_user_once(tmp_path, monkeypatch, catalog):
    real_run(tmp_path, name="a")
    real_run(tmp_path, name="b")
    _warm(tmp_path)
    if catalog == "stale":  # the views built beside the walk are thrown away, and built again
        real_run(tmp_path, name="c")
    _failing_provider(monkeypatch)
    warnings: list[str] = []
    con = viewer.connect(tmp_path, on_warning=warnings.append)
    assert con.execute("SELECT count(*) FROM history").fetchall()[0][0] > 0
    assert len(warnings) == 1
    assert "view provider loupe_failing_provider failed: no extra view today" in warnings[0]


def test_a_build_that_fails_beside_the_walk_leaves_nothing_half_made(tmp_path, monkeypatch, builds):
    runs = [real_run(tmp_path, name=f"r{i}", steps=2 + i) for i in range(2)]
    _warm(tmp_path)
    original = ViewConnection._ensure_final_view

    def fails_on_the_prebuild_thread(self, con):
        if threading.current_thread().name == "loupe-view-prebuild":
            raise RuntimeError("interrupted")
        return original(self, con)

    monkeypatch.setattr(ViewConnection, "_ensure_final_view", fails_on_the_prebuild_thread)
    builds.clear()
    con = viewer.connect(tmp_path)
    assert _counts(con) == {r.id: 2 + i for i, r in enumerate(runs)}
    assert con.execute("SELECT count(*) FROM final WHERE key = 'loss'").fetchall() == [(2,)]
    assert builds == ["loupe-view-prebuild", "MainThread"]
