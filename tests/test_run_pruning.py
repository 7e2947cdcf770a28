"""Queries that name runs read only those runs' parts (viewer.data.run_pruning), and give
exactly the answer the full views give, whatever the query's shape."""

from __future__ import annotations

import pytest

import recorder
from tests.store_helpers import real_run
from viewer.data.run_pruning import prunable_references
from viewer.data.store import Store
from viewer.data.view_connection import ViewConnection


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    real_run(root, name="a", steps=5)
    real_run(root, name="b", steps=7)
    # A run with a metric no other run has: the full view has its column, and a query on
    # the other runs must still see that column (as NULL).
    odd = recorder.init(dir=root, project="p", name="odd", system_interval=0, capture_console=False)
    for s in range(3):
        odd.log({"only_here": s * 1.5})
    odd.finish()
    return root


@pytest.fixture(scope="module")
def ids(root):
    with Store([root]) as store:
        return {r.name: r.id for r in store.runs()}


def _both(root, sql: str):
    """(rewritten sql, pruned answer, full answer)."""
    with Store([root]) as store:
        store.query("SELECT 1 FROM history LIMIT 0")  # views built
        pruned = store.query(sql).to_pylist()
        rewritten = store._views.pruned_sql(sql)
    original = ViewConnection.pruned_sql
    ViewConnection.pruned_sql = lambda self, sql, params=(): sql  # type: ignore[method-assign]
    try:
        with Store([root]) as store:
            full = store.query(sql).to_pylist()
    finally:
        ViewConnection.pruned_sql = original  # type: ignore[method-assign]
    return rewritten, pruned, full


PRUNED = [
    "SELECT _step, loss FROM history WHERE run_id = '{a}' ORDER BY _step",
    "SELECT * FROM history WHERE '{b}' = run_id ORDER BY _step",
    "SELECT run_id, count(*) AS n, max(only_here) AS m FROM history WHERE run_id IN ('{a}', '{odd}') GROUP BY 1 ORDER BY 1",
    "SELECT h._step FROM history h WHERE h.run_id = '{b}' AND h._step > 2 ORDER BY 1",
    "SELECT history._step FROM history WHERE history.run_id = '{a}' ORDER BY 1",
    "SELECT count(*) FROM main.\"history\" WHERE run_id = '{a}'",
    "SELECT 'é' AS x, count(*) FROM history WHERE run_id = '{a}'",
    "SELECT count(*) FROM history WHERE run_id = 'o''brien'",
    "SELECT max(only_here) FROM history WHERE run_id = '{a}'",
    "SELECT r.name, (SELECT count(*) FROM history WHERE run_id = '{b}') AS n FROM runs r ORDER BY 1",
    "SELECT count(*) FROM history WHERE run_id = '{a}' UNION ALL SELECT count(*) FROM history",
]
FULL = [
    "SELECT count(*) FROM history WHERE run_id = '{a}' OR _step > 3",
    "WITH history AS (SELECT '{a}' AS run_id) SELECT * FROM history WHERE run_id = '{a}'",
    "SELECT count(*) FROM history h JOIN runs r ON h.run_id = r.id WHERE r.name = 'a'",
    "SELECT count(*) FROM (SELECT * FROM history) WHERE run_id = '{a}'",
    "SELECT count(*) FROM history WHERE run_id = (SELECT id FROM runs WHERE name = 'a')",
]


@pytest.mark.parametrize("template", PRUNED)
def test_a_query_that_names_runs_reads_only_theirs_and_answers_the_same(root, ids, template):
    sql = template.format(**ids)
    rewritten, pruned, full = _both(root, sql)
    assert rewritten != sql and "_loupe_" in rewritten
    assert pruned == full
    assert full  # every shape returns rows to compare


@pytest.mark.parametrize("template", FULL)
def test_a_query_that_may_see_other_runs_keeps_the_full_view(root, ids, template):
    sql = template.format(**ids)
    rewritten, pruned, full = _both(root, sql)
    assert rewritten == sql
    assert pruned == full


def test_parameters_bound_to_run_ids_narrow_too(root, ids):
    sql = "SELECT run_id, count(*) AS n FROM history WHERE run_id IN (?, $2) AND _step >= ? GROUP BY 1 ORDER BY 1"
    params = [ids["a"], ids["b"], 1]
    with Store([root]) as store:
        answer = store.query(sql, params).to_pylist()
        assert "_loupe_" in store._views.pruned_sql(sql, params)
        assert store._views.pruned_sql(sql, [ids["a"], 5, 1]) == sql  # a number is no run id
    assert {r["run_id"]: r["n"] for r in answer} == {ids["a"]: 4, ids["b"]: 6}  # steps 1.. of 5 and of 7


def test_select_star_of_one_run_has_the_full_views_columns_in_order(root, ids):
    sql = f"SELECT * FROM history WHERE run_id = '{ids['a']}' LIMIT 1"
    with Store([root]) as store:
        one = store.query(sql)
        every = store.query("SELECT * FROM history LIMIT 1")
    assert one.schema == every.schema
    assert "only_here" in one.column_names


def test_a_garbled_or_odd_tree_narrows_nothing():
    assert prunable_references("not json", {"history"}) == []
    assert prunable_references('{"error": true}', {"history"}) == []
    assert prunable_references('{"statements": [{}, {}]}', {"history"}) == []
