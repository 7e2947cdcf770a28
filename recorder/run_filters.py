"""wandb's `Api().runs(filters=..., order=...)`, evaluated in Python over each run's metadata.

    matches({"$and": [{"config.lr": {"$gt": 1e-3}}, {"state": "finished"}]}, fields)
    order_key("-summary_metrics.val/acc")(fields)

`fields(path)` answers one field of one run: `config.<key>`, `summary_metrics.<key>`
(or `summary.<key>`), `state`, `tags`, `display_name`, `name` (the run id, as in wandb),
`created_at`, `heartbeat_at`, `group`, `job_type`... A path that names nothing reads as
missing. The filter is MongoDB's subset that wandb documents: a dict of field: value
(equality) or field: {operator: value}, `$and` / `$or` / `$nor` lists, and the
operators `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex $not $all $size`. On a
list field (`tags`) a condition holds when it holds for any element, as in MongoDB.
Values compare only within their kind (numbers, strings, booleans); times accept ISO
strings, datetimes or epoch seconds. Nothing is turned into SQL.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from recorder.journal import parse_iso

Fields = Callable[[str], Any]
MISSING = object()
TIME_FIELDS = frozenset({"created_at", "heartbeat_at", "finished_at"})
_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


class FilterError(ValueError):
    """A filter this reader cannot evaluate (unknown operator, wrong shape)."""


def matches(filters: Mapping[str, Any] | None, fields: Fields) -> bool:
    if not filters:
        return True
    if not isinstance(filters, Mapping):
        raise FilterError(
            f"filters must be a dict such as {{'config.lr': {{'$gt': 0.001}}}}, not {type(filters).__name__}"
        )
    for field, cond in filters.items():
        if field in ("$and", "$or", "$nor"):
            if not isinstance(cond, (list, tuple)):
                raise FilterError(f"{field} takes a list of filters")
            results = (matches(sub, fields) for sub in cond)
            ok = all(results) if field == "$and" else any(results)
            if ok == (field == "$nor"):
                return False
        elif field.startswith("$"):
            raise FilterError(f"unknown filter operator {field!r}: use $and, $or, $nor at the top level")
        elif not _field_matches(field, cond, fields(field)):
            return False
    return True


def _field_matches(field: str, cond: Any, value: Any) -> bool:
    is_time = field in TIME_FIELDS
    if isinstance(cond, Mapping) and cond and all(isinstance(k, str) and k.startswith("$") for k in cond):
        return all(_operator(field, op, arg, value, is_time) for op, arg in cond.items())
    return _operator(field, "$eq", cond, value, is_time)


def _operator(field: str, op: str, arg: Any, value: Any, is_time: bool) -> bool:
    if op == "$exists":
        return (value is not MISSING and value is not None) == bool(arg)
    if op == "$not":
        return not _field_matches(field, arg, value)
    if op == "$ne":
        return not _operator(field, "$eq", arg, value, is_time)
    if op == "$nin":
        return not _operator(field, "$in", arg, value, is_time)
    if op == "$size":
        return isinstance(value, list) and len(value) == arg
    if op == "$all":
        if not isinstance(arg, (list, tuple)):
            raise FilterError(f"{field}: $all takes a list")
        return isinstance(value, list) and all(any(_equal(v, a, is_time) for v in value) for a in arg)
    if value is MISSING:
        return False
    candidates = value if isinstance(value, list) else [value]
    if op == "$eq":
        if isinstance(value, list) and _equal(value, arg, is_time):
            return True
        return any(_equal(v, arg, is_time) for v in candidates)
    if op == "$in":
        if not isinstance(arg, (list, tuple, set)):
            raise FilterError(f"{field}: $in takes a list")
        return any(_equal(v, a, is_time) for v in candidates for a in arg)
    if op in _COMPARE:
        return any(_ordered(v, arg, is_time, _COMPARE[op]) for v in candidates)
    if op == "$regex":
        if not isinstance(arg, str):
            raise FilterError(f"{field}: $regex takes a string")
        try:
            pattern = re.compile(arg)
        except re.error as exc:
            raise FilterError(f"{field}: bad $regex {arg!r}: {exc}") from None
        return any(isinstance(v, str) and pattern.search(v) is not None for v in candidates)
    raise FilterError(f"unknown filter operator {op!r} on {field!r}")


def _kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    return None


def _time(v: Any) -> float | None:
    if isinstance(v, _dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=_dt.UTC)).timestamp()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return parse_iso(v)


def _equal(v: Any, arg: Any, is_time: bool) -> bool:
    if is_time:
        a, b = _time(v), _time(arg)
        return a is not None and a == b
    if arg is None:
        return v is None
    if _kind(v) != _kind(arg) and not (isinstance(v, (list, dict)) and type(v) is type(arg)):
        return False
    return v == arg


def _ordered(v: Any, arg: Any, is_time: bool, compare: Callable[[Any, Any], bool]) -> bool:
    if is_time:
        a, b = _time(v), _time(arg)
        return a is not None and b is not None and compare(a, b)
    kind = _kind(v)
    return kind is not None and kind == _kind(arg) and compare(v, arg)


def lookup(data: Any, dotted: str) -> Any:
    """`data`'s value at `dotted`, trying the longest key first at each level, so keys
    that contain dots or slashes (`val/acc`, a summary key `loss.min`) are found as
    well as nested dicts (`opt.lr`). MISSING when nothing matches."""
    if dotted in ("", None):
        return data
    if not isinstance(data, Mapping):
        return MISSING
    if dotted in data:
        return data[dotted]
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in data:
            found = lookup(data[head], ".".join(parts[i:]))
            if found is not MISSING:
                return found
    return MISSING


def order_key(order: str | None) -> tuple[str, bool]:
    """(field, descending) of wandb's `order`: `+created_at` (default), `-summary_metrics.acc`."""
    order = (order or "+created_at").strip()
    descending = order.startswith("-")
    field = order.lstrip("+-").strip()
    if not field:
        raise FilterError(f"order {order!r}: name a field, such as '-summary_metrics.val/acc'")
    return field, descending


def sort_value(value: Any, field: str) -> tuple[int, Any]:
    """A key that sorts numbers, then strings, then booleans; missing values come apart
    (the caller puts them last whichever way the order goes)."""
    if field in TIME_FIELDS:
        t = _time(value)
        return (0, t) if t is not None else (9, 0)
    kind = _kind(value)
    if kind == "number":
        return (0, value) if value == value else (8, 0)  # NaN sorts with the missing
    if kind == "str":
        return (1, value)
    if kind == "bool":
        return (2, value)
    return (9, 0)
