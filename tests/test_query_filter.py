"""viewer.data.filter_expr: user filters become quoted identifiers and bound parameters, or an error."""

from __future__ import annotations

import duckdb
import pytest

from viewer.data.filter_expr import FilterError, parse_filter

COLS = {
    "id",
    "state",
    "name",
    "project",
    "tags",
    "config.lr",
    "config.batch_size",
    "summary.val/loss",
    "config.opt.name",
    'weird "col"',
    "config.flag",
}


def test_comparisons_and_logic_become_parameters():
    f = parse_filter("config.lr > 1e-3 and state = 'finished'", COLS)
    assert f.sql == '(("config.lr" > ?) AND ("state" = ?))'
    assert f.params == [1e-3, "finished"]
    f = parse_filter("not (lr <= -0.5 or summary.val/loss != 2) and name like 'sw%'", COLS)
    assert '"config.lr"' in f.sql and '"summary.val/loss"' in f.sql
    assert f.params == [-0.5, 2, "sw%"]


def test_in_is_null_contains_and_quoted_identifiers():
    f = parse_filter("project in ('a', 'b') and notes is not null", COLS | {"notes"})
    assert f.sql == '(("project" IN (?, ?)) AND ("notes" IS NOT NULL))'
    f = parse_filter('tags contains \'x\' and "weird ""col""" = 1', COLS)
    assert 'list_contains("tags", ?)' in f.sql and '"weird ""col"""' in f.sql
    assert parse_filter("flag", COLS).sql == '("config.flag" IS TRUE)'
    assert parse_filter("", COLS).sql == "TRUE"


@pytest.mark.parametrize(
    "text",
    [
        "lr > 0; COPY runs TO '/tmp/x.csv'",
        "1 UNION SELECT * FROM read_text('/etc/passwd')",
        "lr > 0 UNION SELECT 1",
        "lr > (SELECT 1)",
        "read_text('/etc/passwd') = 'x'",
        "lr > 0 --",
        "state = 'a' or 1=1; DROP VIEW runs",
        "lr >",
        "(lr > 1",
        "'unterminated",
        'state = "finished"',  # a double-quoted name is an identifier, and this one is unknown
        "unknown_column > 1",
    ],
)
def test_injection_and_garbage_are_refused(text):
    with pytest.raises(FilterError):
        parse_filter(text, COLS)


def test_strings_with_quotes_stay_parameters():
    f = parse_filter("name = 'it''s; DROP TABLE x --'", COLS)
    assert f.sql == '("name" = ?)' and f.params == ["it's; DROP TABLE x --"]


def test_depth_and_length_limits():
    with pytest.raises(FilterError):
        parse_filter("(" * 200 + "lr > 1" + ")" * 200, COLS)
    with pytest.raises(FilterError):
        parse_filter("lr > 1 and " * 1000 + "lr > 1", COLS)


def test_generated_sql_runs_in_duckdb():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE runs AS SELECT 0.01 AS \"config.lr\", 'finished' AS state, ['a'] AS tags, "
        "'n' AS name UNION ALL SELECT 0.0001, 'failed', [], 'm'"
    )
    f = parse_filter("lr > 1e-3 and state = 'finished' and tags contains 'a'", {"config.lr", "state", "tags", "name"})
    assert con.execute(f"SELECT count(*) FROM runs WHERE {f.sql}", f.params).fetchone()[0] == 1
