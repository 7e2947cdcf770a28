"""Every SQL statement the viewer runs, as named functions returning (sql, params).

Rules kept here so they hold everywhere:
- identifiers (column, metric, view names) go through `quote_ident` and nothing else;
- values the user typed are bound parameters (`?`), never pasted;
- file paths are always glob-escaped (`escape_path`: DuckDB expands globs even in a
  bound list, so `exp[1]` would read `exp1`) and are bound as parameters; the one place
  that cannot take parameters (a CREATE VIEW body) quotes them with `string_literal`,
  which doubles single quotes (`it's` -> 'it''s').
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from viewer.data.metric_columns import KeyColumns

SqlAndParams = tuple[str, list[Any]]

# Columns every stream row carries, with their DuckDB types, used for empty views.
STREAM_BASE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "history": [("run_id", "VARCHAR"), ("_step", "BIGINT"), ("_timestamp", "DOUBLE"), ("_runtime", "DOUBLE")],
    "system": [("run_id", "VARCHAR"), ("_timestamp", "DOUBLE"), ("_runtime", "DOUBLE")],
    "text": [
        ("run_id", "VARCHAR"),
        ("_step", "BIGINT"),
        ("_timestamp", "DOUBLE"),
        ("key", "VARCHAR"),
        ("value", "VARCHAR"),
    ],
}
JOURNAL_TABLE = "_loupe_journal_{stream}"
LOG_FILES_TABLE = "_loupe_log_files"
PART_LISTS_TABLE = "_loupe_part_lists"
RUNS_TABLE = "_loupe_runs"
# The console log line format of docs/format.md, for parsing in SQL.
LOG_LINE_REGEX = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([OE]) (.*)$"


def quote_ident(name: str) -> str:
    """A DuckDB identifier for any column name (`val/loss`, `a"b`, `Loss#2`)."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def string_literal(value: str) -> str:
    """A DuckDB string literal; only for statements that cannot take parameters."""
    if "\x00" in value:
        raise ValueError("string contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


_GLOB_CHARS = re.compile(r"[*?\[]")


def escape_path(path: str | Path) -> str:
    """A path DuckDB's file readers read literally (glob characters escaped)."""
    text = str(path)
    # Most paths have none: the test is ~10x cheaper than glob.escape on 30,000 parts.
    return glob.escape(text) if _GLOB_CHARS.search(text) else text


# -- connection setup -------------------------------------------------------------------


def sandbox_statements(allowed_directories: Sequence[str]) -> list[SqlAndParams]:
    """The lock-down, in the order measured to work (see docs/query.md)."""
    dirs = "[" + ", ".join(string_literal(d.rstrip("/") + "/") for d in allowed_directories) + "]"
    return [
        (f"SET allowed_directories = {dirs}", []),
        ("SET autoinstall_known_extensions = false", []),
        ("SET autoload_known_extensions = false", []),
        ("SET python_enable_replacements = false", []),
        ("SET parquet_metadata_cache = true", []),
        # DuckDB draws its own progress bar on the terminal for a long query: inside the
        # dashboard that scribbles over the screen, and `loupe sql` output gets it too.
        ("SET enable_progress_bar = false", []),
        ("SET enable_external_access = false", []),
        ("SET lock_configuration = true", []),
    ]


def statement(sql: str, params: Sequence[Any]) -> str:
    """A statement built without parameters, for a script of several (DuckDB takes
    parameters only for a single statement)."""
    if params:
        raise ValueError("a statement for a script takes no parameters")
    return sql


def empty_select(columns: Sequence[tuple[str, str]]) -> str:
    cols = ", ".join(f"CAST(NULL AS {typ}) AS {quote_ident(name)}" for name, typ in columns)
    return f"SELECT {cols} WHERE false"


def _parquet_list_literal(files: Sequence[str | Path]) -> str:
    return "[" + ", ".join(string_literal(escape_path(f)) for f in files) + "]"


class ListVariable(NamedTuple):
    """A DuckDB variable that holds a list of (escaped) paths, set with SET VARIABLE. A view
    over 10,000 files binds from one in ~5 ms; the same list as SQL text took ~0.1 s to
    parse. The view reads the variable when a query binds it, not when it is made."""

    name: str
    union_by_name: bool = False


def _files_sql(files: Sequence[str | Path] | ListVariable) -> str:
    if isinstance(files, ListVariable):
        return f"getvariable({string_literal(files.name)})"
    return _parquet_list_literal(files)


# Past this many distinct schemas, the rest are read in one union_by_name scan (which
# reads every footer when the view is made) rather than in that many branches.
MAX_SCHEMA_GROUPS = 32


def stream_view(
    stream: str,
    files: Sequence[str | Path] | Sequence[Sequence[str | Path] | ListVariable],
    with_journal: bool,
    name: str | None = None,
) -> SqlAndParams:
    """CREATE VIEW for history/system/text over checked Parquet files plus journal rows.

    `name`: a temporary view of that name over these files, with the stream view's
    columns (viewer.data.run_pruning).

    `files` is a flat list, or groups of files that share one set of columns: a group is
    read without union_by_name, so making the view opens one footer per group, not one
    per file (union_by_name reads all 10,000 of a large root's footers, seconds). A group
    may be a ListVariable (at most MAX_SCHEMA_GROUPS of them).
    """
    groups: list[Sequence[str | Path] | ListVariable]
    if files and not isinstance(files[0], (str, Path)):
        groups = [g for g in files if g]  # type: ignore[misc]
    else:
        groups = [files] if files else []  # type: ignore[list-item]
    parts = []
    if (len(groups) == 1 and not (files and isinstance(files[0], (str, Path)))) or (
        len(groups) > 1 and len(groups) <= MAX_SCHEMA_GROUPS
    ):
        for g in groups:
            union = ", union_by_name = true" if isinstance(g, ListVariable) and g.union_by_name else ""
            parts.append(f"SELECT * FROM read_parquet({_files_sql(g)}{union})")
    elif groups:
        flat = [f for g in groups if not isinstance(g, ListVariable) for f in g]
        parts.append(f"SELECT * FROM read_parquet({_parquet_list_literal(flat)}, union_by_name = true)")
    if with_journal:
        parts.append(f"SELECT * FROM {quote_ident(JOURNAL_TABLE.format(stream=stream))}")
    parts.append(empty_select(STREAM_BASE_COLUMNS[stream]))
    body = " UNION ALL BY NAME ".join(parts)
    if name is not None:
        # First, the full view's columns in its order and types (read from one footer per
        # group when bound, no rows): a query sees the same columns either way.
        return (
            f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS SELECT * FROM {quote_ident(stream)} WHERE false UNION ALL BY NAME {body}",
            [],
        )
    return f"CREATE OR REPLACE VIEW {quote_ident(stream)} AS {body}", []


def runs_view() -> SqlAndParams:
    return (
        f"CREATE OR REPLACE VIEW runs AS SELECT * REPLACE (CAST(config AS JSON) AS config, "
        f"CAST(summary AS JSON) AS summary) FROM {quote_ident(RUNS_TABLE)}",
        [],
    )


FINAL_PARTS = ListVariable("loupe_final_parts", union_by_name=True)


def final_parts_statement() -> str:
    """SET the history parts of runs with a metric the summary does not vouch for (see
    final_view): a run without `final_keys` (running, killed, imported, edited) or a part
    with a column not in them. Runs the recorder finished cleanly add nothing."""
    base = ", ".join(string_literal(name) for name, _ in STREAM_BASE_COLUMNS["history"])
    return (
        f"SET VARIABLE {FINAL_PARTS.name} = (SELECT list(p.path ORDER BY p.ord) "
        f"FROM {quote_ident(PART_LISTS_TABLE)} AS p JOIN {quote_ident(RUNS_TABLE)} AS r ON r.id = p.run_id "
        "WHERE p.kind = 'history' AND NOT list_has_all(coalesce(r.final_keys, []), "
        f"list_filter(string_split(p.cols, chr(31)), lambda c: c NOT IN ({base}))))"
    )


def final_view(with_parts: bool, with_journal: bool) -> SqlAndParams:
    """CREATE VIEW final: (run_id, key, value, source), each run's final value of each
    history metric, i.e. the value at its last step where the metric was logged.

    From the summary where run.json's `summary_final` says the summary holds exactly
    that (the recorder writes it at a clean finish; docs/format.md), else from history:
    a top-N over final values reads 10,000 runs' summaries, not 10,000 runs' parts."""
    pointer = "'/' || replace(replace(k.key, '~', '~0'), '/', '~1')"  # JSON Pointer (RFC 6901)
    summary_side = (
        f"SELECT r.id AS run_id, k.key AS key, TRY_CAST(json_extract(CAST(r.summary AS JSON), {pointer}) "
        f"AS DOUBLE) AS value, 'summary' AS source FROM {quote_ident(RUNS_TABLE)} AS r, "
        "unnest(r.final_keys) AS k(key)"
    )
    sources = []
    if with_parts:
        sources.append(f"SELECT * FROM read_parquet({_files_sql(FINAL_PARTS)}, union_by_name = true)")
    if with_journal:
        sources.append(f"SELECT * FROM {quote_ident(JOURNAL_TABLE.format(stream='history'))}")
    if not sources:
        return f"CREATE OR REPLACE VIEW final AS {summary_side}", []
    sources.append(empty_select(STREAM_BASE_COLUMNS["history"]))  # the base columns, always
    base = ", ".join(quote_ident(name) for name, _ in STREAM_BASE_COLUMNS["history"])
    rows = " UNION ALL BY NAME ".join(sources)
    # Every metric as DOUBLE first: UNPIVOT needs one type, and an import may bring ints.
    metrics = f"SELECT run_id, _step, TRY_CAST(COLUMNS(* EXCLUDE ({base})) AS DOUBLE) FROM ({rows})"
    history_side = (
        "SELECT u.run_id, u.key, arg_max(u.value, u._step) AS value, 'history' AS source "
        f"FROM (UNPIVOT ({metrics}) ON COLUMNS(* EXCLUDE (run_id, _step)) INTO NAME key VALUE value) AS u "
        f"LEFT JOIN {quote_ident(RUNS_TABLE)} AS r ON r.id = u.run_id "
        "WHERE NOT list_contains(coalesce(r.final_keys, []), u.key) GROUP BY u.run_id, u.key"
    )
    return f"CREATE OR REPLACE VIEW final AS {summary_side} UNION ALL {history_side}", []


def _log_reader(files_sql: str) -> str:
    # One VARCHAR per line: NUL as delimiter, no quoting, no type detection. parallel=false
    # keeps file order so ORDINALITY numbers lines.
    return (
        f"read_csv({files_sql}, columns = {{'line': 'VARCHAR'}}, delim = chr(0), quote = '', escape = '', "
        "header = false, auto_detect = false, filename = true, parallel = false, strict_mode = false, "
        "null_padding = true, max_line_size = 2147483647) WITH ORDINALITY"
    )


def _logs_select(reader: str) -> str:
    rx = string_literal(LOG_LINE_REGEX)
    return (
        "SELECT f.run_id AS run_id, "
        "CAST(l.ordinality - min(l.ordinality) OVER (PARTITION BY l.filename) + 1 AS BIGINT) AS line, "
        f"CAST(strptime(NULLIF(regexp_extract(l.line, {rx}, 1), ''), '%Y-%m-%dT%H:%M:%S.%gZ') AS TIMESTAMP) AS time, "
        f"CASE WHEN regexp_matches(l.line, {rx}) THEN regexp_extract(l.line, {rx}, 2) ELSE 'O' END AS stream, "
        f"CASE WHEN regexp_matches(l.line, {rx}) THEN regexp_extract(l.line, {rx}, 3) "
        "ELSE coalesce(l.line, '') END AS text "
        f"FROM {reader} AS l JOIN {quote_ident(LOG_FILES_TABLE)} AS f ON l.filename = f.path"
    )


def logs_view(files: Sequence[str | Path] | ListVariable) -> SqlAndParams:
    """CREATE VIEW logs: output.log files read lazily by DuckDB, one row per line."""
    if not files:
        body = empty_select(
            [
                ("run_id", "VARCHAR"),
                ("line", "BIGINT"),
                ("time", "TIMESTAMP"),
                ("stream", "VARCHAR"),
                ("text", "VARCHAR"),
            ]
        )
    else:
        body = _logs_select(_log_reader(_files_sql(files)))
    return f"CREATE OR REPLACE VIEW logs AS {body}", []


# -- queries over chosen runs -----------------------------------------------------------


def stream_source(
    files: Sequence[str | Path], journal_table: str | None, base: Sequence[tuple[str, str]]
) -> SqlAndParams:
    """A FROM-able subquery over some runs' Parquet files plus a registered journal table."""
    parts = []
    params: list[Any] = []
    if files:
        parts.append("SELECT * FROM read_parquet(?, union_by_name = true)")
        params.append([escape_path(f) for f in files])
    if journal_table is not None:
        parts.append(f"SELECT * FROM {quote_ident(journal_table)}")
    parts.append(empty_select(base))
    return "(" + " UNION ALL BY NAME ".join(parts) + ")", params


def key_value(key: KeyColumns) -> SqlAndParams:
    """The expression that reads one logged key: its column, or, where runs hold the key in
    different columns or one column holds several keys' spellings, a CASE on run_id."""
    if len(key.sources) == 1 and key.sources[0][1] is None:
        return quote_ident(key.sources[0][0]), []
    whens, params = [], []
    for column, run_ids in key.sources:
        whens.append(f"WHEN list_contains(?::VARCHAR[], run_id) THEN {quote_ident(column)}")
        params.append(list(run_ids or []))
    return f"(CASE {' '.join(whens)} END)", params


def select_stream(
    stream: str,
    files: Sequence[str | Path],
    journal_table: str | None,
    columns: Sequence[str],
    order: Sequence[str],
    keys: Sequence[KeyColumns] = (),
) -> SqlAndParams:
    """Rows of one stream from the given files and journal rows, ordered: `columns` as they
    are, then each of `keys` under the name it was logged by."""
    src, src_params = stream_source(files, journal_table, STREAM_BASE_COLUMNS[stream])
    cols = [quote_ident(c) for c in columns]
    params: list[Any] = []
    for key in keys:
        expr, p = key_value(key)
        cols.append(f"{expr} AS {quote_ident(key.key)}")
        params += p
    order_sql = ", ".join(quote_ident(c) for c in order)
    return f"SELECT {', '.join(cols)} FROM {src} AS s ORDER BY {order_sql}", params + src_params


DOWNSAMPLE_COLUMNS = [
    ("run_id", "VARCHAR"),
    ("metric", "VARCHAR"),
    ("bucket", "BIGINT"),
    ("x", "DOUBLE"),
    ("x_min", "DOUBLE"),
    ("x_max", "DOUBLE"),
    ("min", "DOUBLE"),
    ("max", "DOUBLE"),
    ("mean", "DOUBLE"),
    ("last", "DOUBLE"),
    ("n", "BIGINT"),
]


def empty_downsample() -> str:
    return empty_select(DOWNSAMPLE_COLUMNS)


def downsample(
    stream: str,
    files: Sequence[str | Path],
    journal_table: str | None,
    metrics: Sequence[KeyColumns],
    x: KeyColumns,
    points: int,
    x_range: tuple[float, float] | None = None,
) -> SqlAndParams:
    """At most `points` buckets per (run, metric) over x: min/max/mean of finite values.

    Columns: DOWNSAMPLE_COLUMNS, `metric` being the key as logged. Buckets split
    [min x, max x] of each (run, metric) into `points` equal widths; `x` is the mean x of
    a bucket, `last` the value at its largest x, `n` its row count. `x_range` (lo, hi)
    keeps only rows with lo <= x <= hi, so a zoomed plot gets all its buckets inside it.
    """
    src, src_params = stream_source(files, journal_table, STREAM_BASE_COLUMNS[stream])
    xq, x_params = key_value(x)
    range_sql, range_params = "", []
    if x_range is not None:
        range_sql = f" AND CAST({xq} AS DOUBLE) BETWEEN ? AND ?"
        range_params = x_params + [float(x_range[0]), float(x_range[1])]
    # Long rows carry the metric's position, not its name: grouping 1M rows on an
    # integer instead of a string (and UNNEST instead of UNPIVOT) halves the query.
    # NOT MATERIALIZED: the CTEs are read twice, and materialising them cost ~30 MB.
    exprs = [key_value(m) for m in metrics]
    values = ", ".join(f"CAST({e} AS DOUBLE)" for e, _ in exprs)
    value_params = [p for _, ps in exprs for p in ps]
    params = x_params + value_params + src_params + x_params + range_params
    sql = f"""
WITH long AS NOT MATERIALIZED (
    SELECT run_id, CAST({xq} AS DOUBLE) AS x, UNNEST(range({len(metrics)})) AS mi, UNNEST([{values}]) AS value
    FROM {src} AS s
    WHERE {xq} IS NOT NULL{range_sql}
),
clean AS NOT MATERIALIZED (
    SELECT run_id, x, mi, value FROM long WHERE isfinite(value) AND isfinite(x)
),
bounds AS (
    SELECT run_id, mi, min(x) AS lo, max(x) AS hi FROM clean GROUP BY run_id, mi
),
bucketed AS (
    SELECT l.run_id, l.mi, l.x, l.value,
           CAST(CASE WHEN b.hi > b.lo
                     THEN least(floor((l.x - b.lo) / (b.hi - b.lo) * ?), ? - 1)
                     ELSE 0 END AS BIGINT) AS bucket
    FROM clean AS l JOIN bounds AS b ON l.run_id = b.run_id AND l.mi = b.mi
)
SELECT run_id, (?::VARCHAR[])[mi + 1] AS metric, bucket, avg(x) AS x, min(x) AS x_min, max(x) AS x_max,
       min(value) AS min, max(value) AS max, avg(value) AS mean, arg_max(value, x) AS last,
       CAST(count(*) AS BIGINT) AS n
FROM bucketed
GROUP BY run_id, mi, bucket
ORDER BY run_id, metric, bucket
"""
    return sql, params + [points, points, [m.key for m in metrics]]


# -- the runs table ---------------------------------------------------------------------


def select_runs(
    columns: Sequence[str] | None,
    where_sql: str,
    where_params: Sequence[Any],
    project: str | None,
    order: Sequence[tuple[str, bool]],
    limit: int | None,
) -> SqlAndParams:
    """Rows of `runs`; `where_sql` comes from viewer.data.filter_expr (quoted, parameterised)."""
    cols = "*" if columns is None else ", ".join(quote_ident(c) for c in columns)
    params: list[Any] = list(where_params)
    where = f"({where_sql})"
    if project is not None:
        where += " AND project = ?"
        params.append(project)
    order_sql = ", ".join(f"{quote_ident(c)} {'DESC' if desc else 'ASC'} NULLS LAST" for c, desc in order)
    sql = f"SELECT {cols} FROM runs WHERE {where}"
    if order_sql:
        sql += f" ORDER BY {order_sql}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, params


def describe(view: str) -> SqlAndParams:
    return f"SELECT column_name, column_type FROM (DESCRIBE {quote_ident(view)})", []
