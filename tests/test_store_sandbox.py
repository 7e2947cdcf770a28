"""The DuckDB sandbox behind user SQL: every refusal listed in the issue, and interrupt()."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest
from store_helpers import real_run

from viewer import connect
from viewer.data.store import QueryError, Store


@pytest.fixture(scope="module")
def sandbox_root(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    real_run(tmp / "runs", steps=5)
    (tmp / "secret.txt").write_text("secret outside the root\n")
    return tmp


@pytest.fixture
def con_and_store(sandbox_root):
    root = sandbox_root / "runs"
    return connect(root), Store([root]), sandbox_root


REFUSED_ON_CONNECTION = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_parquet('/etc/*.parquet')",
    "COPY (SELECT 1) TO '{out}'",
    "COPY runs TO '{out}' (FORMAT csv)",
    "ATTACH '{db}' AS other",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "SET enable_external_access = true",
    "RESET allowed_directories",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT count(*) FROM runs UNION ALL SELECT count(*) FROM read_text('{secret}')",
]


@pytest.mark.parametrize("stmt", REFUSED_ON_CONNECTION)
def test_connection_refuses(con_and_store, stmt):
    con, _, tmp = con_and_store
    sql = stmt.format(secret=tmp / "secret.txt", out=tmp / "out.csv", db=tmp / "x.duckdb")
    with pytest.raises(duckdb.Error):
        con.execute(sql).fetchall()
    assert not (tmp / "out.csv").exists() and not (tmp / "x.duckdb").exists()


@pytest.mark.parametrize(
    "stmt",
    REFUSED_ON_CONNECTION
    + [
        "SELECT 1; COPY (SELECT 1) TO '{out}'",
        "SELECT count(*) FROM runs; SELECT 1",
        "CREATE VIEW x AS SELECT 1",
        "DROP VIEW runs",
        "PRAGMA threads=1",
    ],
)
def test_store_query_refuses(con_and_store, stmt):
    _, store, tmp = con_and_store
    sql = stmt.format(secret=tmp / "secret.txt", out=tmp / "out.csv", db=tmp / "x.duckdb")
    with pytest.raises((duckdb.Error, QueryError)):
        store.query(sql)
    assert not (tmp / "out.csv").exists()
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 5  # still usable


def test_reading_run_files_inside_the_root_still_works(con_and_store):
    con, store, tmp = con_and_store
    run = store.runs()[0]
    part = next((run.path / "history").glob("part-*.parquet"))
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(part)]).fetchall()[0][0] == 5
    assert store.query("SELECT count(*) AS n FROM read_parquet(?)", [str(part)]).column("n")[0].as_py() == 5
    assert store.query("EXPLAIN SELECT * FROM runs").num_rows >= 1


def test_runaway_query_is_interrupted_within_a_second(con_and_store):
    _, store, _ = con_and_store
    result: dict = {}

    def work():
        t0 = time.perf_counter()
        try:
            store.query("SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000) b")
        except BaseException as exc:  # duckdb.InterruptException
            result["exc"] = exc
        result["t"] = time.perf_counter() - t0

    th = threading.Thread(target=work)
    th.start()
    # An interrupt that reaches DuckDB before it starts executing is lost: let it start, and
    # interrupt again every 2 s until the query stops. Timed from the interrupt that took.
    time.sleep(0.5)
    deadline = time.perf_counter() + 20
    while True:
        t0 = time.perf_counter()
        store.interrupt()
        th.join(2.0)
        if not th.is_alive() or time.perf_counter() > deadline:
            break
    assert not th.is_alive()
    assert time.perf_counter() - t0 < 1.0
    assert "exc" in result and "nterrupt" in type(result["exc"]).__name__ + str(result["exc"])
    assert store.query("SELECT 1 AS one").column("one")[0].as_py() == 1  # usable afterwards


def test_duckdb_draws_no_progress_bar_over_the_dashboard(con_and_store, capfd):
    # DuckDB prints its progress bar straight to the terminal for queries past 2 s; in the
    # TUI that lands on top of the screen. Off, and locked off, on every connection.
    con, store, _ = con_and_store
    for c in (con, store.connection):
        assert c.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]
        with pytest.raises(duckdb.Error):
            c.execute("SET enable_progress_bar = true")
