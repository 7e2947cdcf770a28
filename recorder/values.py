"""Turn what a training script passes to log() into a row: numbers and text.

This runs on the training thread for every log() call, so the common case (a flat
dict of Python floats and ints) takes one type check per value and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from recorder.layout import RESERVED_KEYS
from recorder.warn import warn_once

# A media object (Image, Histogram, Table...) turns itself into row values; the hook
# is given the key and returns {suffix: number-or-text} to merge, or None to skip.
MediaHandler = Callable[[str, Any], "dict[str, Any] | None"]


class RowBuilder:
    """Flattens nested dicts with '.', converts values, and names columns.

    Keys that differ only by case are distinct metrics, but DuckDB and Spark treat
    column names case-insensitively; the second spelling gets its own column name
    ("loss#2") recorded in metrics.json so nothing is merged by accident.
    """

    def __init__(self) -> None:
        self.columns: dict[str, str] = {}
        # Keys whose column is the key itself: a row of floats under these keys is
        # stored as it is (plain_row), with no per-value work in Python.
        self._plain: set[str] = set()
        self._taken_lower: set[str] = set()
        self.media_handler: MediaHandler | None = None
        self.on_new_column: Callable[[str, str], None] | None = None

    def column_for(self, key: str) -> str:
        col = self.columns.get(key)
        if col is not None:
            return col
        col = key
        n = 1
        while col.lower() in self._taken_lower:
            n += 1
            col = f"{key}#{n}"
        self._taken_lower.add(col.lower())
        self.columns[key] = col
        if col == key:
            self._plain.add(key)
        if self.on_new_column is not None:
            self.on_new_column(key, col)
        return col

    def plain_row(self, data: Any) -> dict[str, float] | None:
        """A new row holding `data` when it is a non-empty dict of Python floats, ints or
        bools under keys already seen, each its own column; None for anything else (add()
        then judges it value by value). A row of floats, the common call, is checked in C
        (a set comparison, a tuple of the value types) and copied once."""
        if type(data) is not dict or not data or not self._plain.issuperset(data):
            return None
        types = tuple(map(type, data.values()))
        if types.count(float) == len(types):
            return dict(data)
        return _numbers_as_floats(data)

    def add(self, data: Mapping, nums: dict, texts: dict, prefix: str = "") -> None:
        if prefix:
            self._add_nested(data, nums, texts, prefix)
            return
        # Hot path: a flat dict of floats with keys seen before costs two dict lookups each.
        columns = self.columns
        for k, v in data.items():
            t = type(v)
            if t is float:
                col = columns.get(k)
                if col is None:
                    col = self._checked_column(k)
                    if col is None:
                        continue
                nums[col] = v
            else:
                self._add_other(k, v, t, nums, texts)

    def _add_nested(self, data: Mapping, nums: dict, texts: dict, prefix: str) -> None:
        for k, v in data.items():
            self._add_other(prefix + str(k), v, type(v), nums, texts)

    def _add_other(self, key: Any, v: Any, t: type, nums: dict, texts: dict) -> None:
        if type(key) is not str:
            key = str(key)
        if t is float or t is int or t is bool:
            col = self.columns.get(key) or self._checked_column(key)
            if col is not None:
                nums[col] = v if t is float else (float(v) if t is bool else _int_to_float(v))
        elif t is str:
            if key not in RESERVED_KEYS and key:
                texts[key] = v
            else:
                self._reserved(key)
        elif isinstance(v, Mapping):
            self._add_nested(v, nums, texts, key + ".")
        else:
            self._slow(key, v, nums, texts)

    def _checked_column(self, key: Any) -> str | None:
        if type(key) is not str:
            key = str(key)
            known = self.columns.get(key)
            if known is not None:
                return known
        if key in RESERVED_KEYS or not key:
            self._reserved(key)
            return None
        return self.column_for(key)

    def _reserved(self, key: str) -> None:
        warn_once(f"reserved:{key}", f"log(): key {key!r} is reserved or empty; its values are skipped")

    def _slow(self, key: str, v: Any, nums: dict, texts: dict) -> None:
        if v is None:
            return
        if self.media_handler is not None:
            try:
                extra = self.media_handler(key, v)
            except Exception as exc:  # a media object must not stop training
                warn_once(f"media:{key}", f"log(): could not store {key!r} ({type(v).__name__}): {exc}")
                return
            if extra is not None:
                self.add(extra, nums, texts)
                return
        item = getattr(v, "item", None)
        if callable(item) and (getattr(v, "ndim", 0) == 0 or _is_single_element(v)):
            try:
                value = item()
            except Exception:
                value = None
            if isinstance(value, (bool, int, float, str)):
                self.add({key: value}, nums, texts)
                return
        if isinstance(v, (bytes, bytearray)):
            texts[key] = bytes(v).decode("utf-8", "replace")
            return
        warn_once(
            f"type:{key}",
            f"log(): value for {key!r} has type {type(v).__name__}, which cannot be stored; it is skipped",
        )


def _is_single_element(v: Any) -> bool:
    # torch tensors and numpy arrays with exactly one element also answer item()
    try:
        return callable(getattr(v, "item", None)) and getattr(v, "numel", lambda: getattr(v, "size", 0))() == 1
    except Exception:
        return False


def _numbers_as_floats(data: dict[str, Any]) -> dict[str, float] | None:
    row = {}
    for k, v in data.items():
        t = type(v)
        if t is float:
            row[k] = v
        elif t is int:
            row[k] = _int_to_float(v)
        elif t is bool:
            row[k] = float(v)
        else:
            return None
    return row


def _int_to_float(v: int) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf
