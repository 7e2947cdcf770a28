"""Which runs a query over a stream view can touch, from DuckDB's own parse tree.

    prunable_references(tree_json, streams, params=()) -> list[Reference]
    rewrite(sql, references, view_names) -> str

A stream view (history, system, text) lists every run's Parquet parts, and DuckDB opens
every part's footer to answer even `WHERE run_id = 'x'`: 2-3 s on a 10,000-run root.
A reference to a stream view that is the whole FROM of its SELECT, whose WHERE has a
top-level conjunct `run_id = 'literal'` or `run_id IN ('a', 'b')` (or `?` parameters
bound to strings), can only ever see
rows of those runs (WHERE filters the FROM's rows before grouping, windows or anything
else), so it may read a view over just their parts. Anything else (joins, OR, a CTE
named like a stream, a non-literal) keeps the full view: the answer is always the same.

The tree is `json_serialize_sql(sql)`; its `query_location`s are byte offsets into the
UTF-8 text, which is how `rewrite` finds the table name to replace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Reference", "prunable_references", "rewrite"]


@dataclass(frozen=True)
class Reference:
    stream: str  # the stream view named
    run_ids: frozenset[str]  # the only runs its rows can come from
    location: int  # byte offset of the table name in the query
    alias: str  # "" when the query gave none


def prunable_references(tree_json: str, streams: set[str], params: Sequence[Any] = ()) -> list[Reference]:
    """The references to `streams` in one parsed statement that may read fewer runs."""
    try:
        tree = json.loads(tree_json)
    except ValueError:
        return []
    if not isinstance(tree, dict) or tree.get("error") or len(tree.get("statements") or ()) != 1:
        return []
    if _shadowed(tree, streams):
        return []  # a CTE named `history` is not the history view
    out: list[Reference] = []
    for node in _nodes(tree):
        if node.get("type") != "SELECT_NODE":
            continue
        table = node.get("from_table")
        stream = _stream_of(table, streams)
        if stream is None:
            continue
        names = {table["alias"].lower()} if table.get("alias") else {table["table_name"].lower()}
        ids = _run_ids(node.get("where_clause"), names, params)
        if ids is not None and isinstance(table.get("query_location"), int):
            out.append(Reference(stream, ids, table["query_location"], table.get("alias") or ""))
    return out


def rewrite(sql: str, references: list[Reference], view_names: dict[Reference, str]) -> str:
    """`sql` with each reference's table name replaced by its view's (aliased as before)."""
    text = sql.encode()
    for ref in sorted(references, key=lambda r: r.location, reverse=True):
        match = _TABLE_NAME.match(text, ref.location)
        if match is None or _unquote(match.group("name")) != ref.stream:
            return sql  # not where the tree said: leave the query alone
        replacement = _quoted(view_names[ref])
        if not ref.alias:
            replacement += b" AS " + _quoted(ref.stream)  # `history.step` still resolves
        text = text[: match.start()] + replacement + text[match.end() :]
    return text.decode()


# [main.]name, each part bare or double-quoted, as the parser located it.
_PART = rb'(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)'
_TABLE_NAME = re.compile(rb"(?:" + _PART + rb"\s*\.\s*)?(?P<name>" + _PART + rb")")


def _unquote(name: bytes) -> str:
    text = name.decode()
    if text.startswith('"'):
        return text[1:-1].replace('""', '"').lower()
    return text.lower()


def _quoted(name: str) -> bytes:
    return ('"' + name.replace('"', '""') + '"').encode()


def _nodes(value: Any):
    """Every dict in the tree, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _shadowed(tree: dict, streams: set[str]) -> bool:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or ():
                if isinstance(entry, dict) and str(entry.get("key", "")).lower() in streams:
                    return True
    return False


def _stream_of(table: Any, streams: set[str]) -> str | None:
    if not isinstance(table, dict) or table.get("type") != "BASE_TABLE":
        return None
    if table.get("catalog_name") or (table.get("schema_name") or "main").lower() != "main":
        return None
    name = str(table.get("table_name", "")).lower()
    return name if name in streams else None


def _run_ids(where: Any, names: set[str], params: Sequence[Any]) -> frozenset[str] | None:
    """Run ids the WHERE's top-level conjuncts allow, None when they do not narrow it."""
    if not isinstance(where, dict):
        return None
    conjuncts = where.get("children", []) if where.get("type") == "CONJUNCTION_AND" else [where]
    allowed: frozenset[str] | None = None
    for term in conjuncts:
        ids = _term_ids(term, names, params)
        if ids is not None:
            allowed = ids if allowed is None else allowed & ids
    return allowed


def _term_ids(term: Any, names: set[str], params: Sequence[Any]) -> frozenset[str] | None:
    if not isinstance(term, dict):
        return None
    if term.get("type") == "COMPARE_EQUAL":
        left, right = term.get("left"), term.get("right")
        for col, const in ((left, right), (right, left)):
            if _is_run_id(col, names) and (value := _string(const, params)) is not None:
                return frozenset([value])
        return None
    if term.get("type") == "COMPARE_IN":
        children = term.get("children") or []
        if not children or not _is_run_id(children[0], names):
            return None
        values = [_string(c, params) for c in children[1:]]
        if not values or any(v is None for v in values):
            return None
        return frozenset(v for v in values if v is not None)
    return None


def _is_run_id(node: Any, names: set[str]) -> bool:
    if not isinstance(node, dict) or node.get("class") != "COLUMN_REF":
        return False
    parts = [str(p).lower() for p in node.get("column_names") or ()]
    return parts == ["run_id"] or (len(parts) == 2 and parts[1] == "run_id" and parts[0] in names)


def _string(node: Any, params: Sequence[Any]) -> str | None:
    if not isinstance(node, dict):
        return None
    if node.get("class") == "PARAMETER":
        # `?` and `$1` number from 1; a named parameter narrows nothing.
        number = str(node.get("identifier", ""))
        if number.isdigit() and 0 < int(number) <= len(params):
            value = params[int(number) - 1]
            return value if isinstance(value, str) else None
        return None
    if node.get("class") != "CONSTANT":
        return None
    literal = node.get("literal") or {}
    return literal.get("text") if literal.get("kind") == "STRING" else None
