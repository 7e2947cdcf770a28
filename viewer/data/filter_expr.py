"""A small, safe filter language for run tables (CLI `--filter`, the TUI's filter box).

    config.lr > 1e-3 and state = 'finished'
    not (tags contains 'baseline') or summary.val/loss < 0.2
    project in ('digits', 'mnist') and name like 'sweep-%' and notes is not null

Grammar (keywords are case-insensitive):

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | predicate
    predicate  := "(" expr ")" | operand [comparison]
    comparison := ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
                | ["not"] "like" operand | ["not"] "in" "(" operand ("," operand)* ")"
                | "is" ["not"] "null" | "contains" operand
    operand    := NUMBER | STRING | "true" | "false" | "null" | IDENT | "-" NUMBER

IDENT is a column of the table being filtered: letters, digits and `_ . / # -` (not
starting with a digit or '-'), or any text in double quotes or backticks. A name that is
not a column is looked up as `config.<name>` and then `summary.<name>`, so `lr > 0.01`
works when only `config.lr` exists. STRING is single-quoted ('' for a quote).
`contains` tests membership in a list column (tags).

`parse_filter(text, columns)` returns a `Filter(sql, params)`: identifiers are quoted
with viewer.data.sql.quote_ident and every literal is a bound parameter, so nothing the user
types is pasted into SQL. Anything outside the grammar (a `;`, `UNION`, a function call,
a subquery) raises FilterError with the position, before any SQL is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from viewer.data.sql import quote_ident

__all__ = ["Filter", "FilterError", "parse_filter", "parse_sort", "resolve_column"]


class FilterError(ValueError):
    """The filter text is not in the grammar, or names an unknown column."""


@dataclass(frozen=True)
class Filter:
    sql: str
    params: list[Any] = field(default_factory=list)


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")*"|`[^`]*`)
  | (?P<op><=|>=|!=|<>|==|=|<|>|\(|\)|,|-)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_./#\-]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "like", "in", "is", "null", "true", "false", "contains"}
_COMPARE = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MAX_LEN = 4000
_MAX_DEPTH = 50


@dataclass
class _Tok:
    kind: str  # number, string, ident, op, kw, end
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN_RE is a named group
        raw = m.group(kind)
        if kind == "number":
            toks.append(_Tok("number", float(raw) if any(c in raw for c in ".eE") else int(raw), pos))
        elif kind == "string":
            toks.append(_Tok("string", raw[1:-1].replace("''", "'"), pos))
        elif kind == "qident":
            body = raw[1:-1]
            toks.append(_Tok("ident", body.replace('""', '"') if raw[0] == '"' else body, pos))
        elif kind == "ident":
            if raw.lower() in _KEYWORDS:
                toks.append(_Tok("kw", raw.lower(), pos))
            else:
                toks.append(_Tok("ident", raw, pos))
        elif kind == "op":
            toks.append(_Tok("op", raw, pos))
        pos = m.end()
    toks.append(_Tok("end", None, len(text)))
    return toks


def resolve_column(name: str, columns: Iterable[str]) -> str:
    """The column `name` refers to: itself, else config.<name>, else summary.<name>."""
    cols = columns if isinstance(columns, (set, frozenset, dict)) else set(columns)
    for candidate in (name, f"config.{name}", f"summary.{name}"):
        if candidate in cols:
            return candidate
    lowered = {c.lower(): c for c in cols}
    for candidate in (name, f"config.{name}", f"summary.{name}"):
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    raise FilterError(f"unknown column {name!r}")


class _Parser:
    def __init__(self, text: str, columns: Iterable[str] | None, list_columns: set[str]) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.columns = None if columns is None else set(columns)
        self.list_columns = list_columns
        self.params: list[Any] = []
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, kind: str, value: Any = None) -> _Tok | None:
        t = self.peek()
        if t.kind == kind and (value is None or t.value == value):
            self.i += 1
            return t
        return None

    def expect(self, kind: str, value: Any = None) -> _Tok:
        t = self.accept(kind, value)
        if t is None:
            got = self.peek()
            what = "end of filter" if got.kind == "end" else repr(got.value)
            raise FilterError(f"expected {value or kind} at position {got.pos + 1}, got {what}")
        return t

    def parse(self) -> str:
        sql = self.or_expr()
        t = self.peek()
        if t.kind != "end":
            raise FilterError(f"unexpected {t.value!r} at position {t.pos + 1}")
        return sql

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.accept("kw", "or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while self.accept("kw", "and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self) -> str:
        if self.accept("kw", "not"):
            self._enter()
            inner = self.not_expr()
            self.depth -= 1
            return f"(NOT {inner})"
        return self.predicate()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise FilterError("filter is nested too deeply")

    def predicate(self) -> str:
        if self.accept("op", "("):
            self._enter()
            inner = self.or_expr()
            self.depth -= 1
            self.expect("op", ")")
            return inner
        left, left_is_list = self.operand()
        t = self.peek()
        if t.kind == "op" and t.value in _COMPARE:
            self.take()
            right, _ = self.operand()
            return f"({left} {_COMPARE[t.value]} {right})"
        if t.kind == "kw":
            if t.value == "contains":
                self.take()
                right, _ = self.operand()
                return f"list_contains({left}, {right})"
            if t.value == "is":
                self.take()
                negate = bool(self.accept("kw", "not"))
                self.expect("kw", "null")
                return f"({left} IS {'NOT ' if negate else ''}NULL)"
            negate = False
            if t.value == "not":
                self.take()
                negate = True
                t = self.peek()
            if t.kind == "kw" and t.value == "like":
                self.take()
                right, _ = self.operand()
                return f"({left} {'NOT ' if negate else ''}LIKE {right})"
            if t.kind == "kw" and t.value == "in":
                self.take()
                self.expect("op", "(")
                items = [self.operand()[0]]
                while self.accept("op", ","):
                    items.append(self.operand()[0])
                self.expect("op", ")")
                return f"({left} {'NOT ' if negate else ''}IN ({', '.join(items)}))"
            if negate:
                raise FilterError(f"expected 'like' or 'in' after 'not' at position {t.pos + 1}")
        if left_is_list:
            raise FilterError("a list column needs 'contains'")
        # A bare operand is a truth test (e.g. a boolean config value).
        return f"({left} IS TRUE)"

    def operand(self) -> tuple[str, bool]:
        t = self.take()
        if t.kind == "number":
            return self.param(t.value), False
        if t.kind == "op" and t.value == "-":
            n = self.expect("number")
            return self.param(-n.value), False
        if t.kind == "string":
            return self.param(t.value), False
        if t.kind == "kw" and t.value in ("true", "false"):
            return self.param(t.value == "true"), False
        if t.kind == "kw" and t.value == "null":
            return "NULL", False
        if t.kind == "ident":
            name = t.value
            if self.columns is not None:
                name = resolve_column(name, self.columns)
            return quote_ident(name), name in self.list_columns
        what = "end of filter" if t.kind == "end" else repr(t.value)
        raise FilterError(f"expected a value or column at position {t.pos + 1}, got {what}")

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "?"


def parse_filter(text: str, columns: Iterable[str] | None = None, list_columns: Iterable[str] = ("tags",)) -> Filter:
    """Parse `text` into SQL for a WHERE clause (positional `?` parameters).

    With `columns`, identifiers must name one of them (after the config./summary.
    fallback); without, any identifier is accepted and quoted as is.
    """
    if not isinstance(text, str):
        raise FilterError("filter must be text")
    if len(text) > _MAX_LEN:
        raise FilterError(f"filter is longer than {_MAX_LEN} characters")
    if not text.strip():
        return Filter("TRUE", [])
    p = _Parser(text, columns, set(list_columns))
    sql = p.parse()
    return Filter(sql, p.params)


def parse_sort(keys: str | Sequence[str] | None, columns: Iterable[str]) -> list[tuple[str, bool]]:
    """(column, descending) per sort key: `-name` or `name:desc` descending, `name:asc`
    or plain ascending; names resolve as in filters (resolve_column)."""
    cols = columns if isinstance(columns, (set, frozenset, dict)) else set(columns)
    order: list[tuple[str, bool]] = []
    for key in [keys] if isinstance(keys, str) else list(keys or []):
        desc = key.startswith("-")
        key = key.lstrip("-+")
        for suffix, d in ((":desc", True), (":asc", False)):
            if key.lower().endswith(suffix):
                key, desc = key[: -len(suffix)], d
        order.append((resolve_column(key, cols), desc))
    return order
