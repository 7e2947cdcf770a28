"""run.summary: the last value of each metric, define_metric aggregates, and overrides."""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableMapping
from typing import Any

from recorder.metric_definitions import MetricDefinitions

_DELETED = object()


class SummaryState:
    """Kept up to date on every committed row; cheap unless aggregates were defined."""

    def __init__(self, definitions: MetricDefinitions, columns: dict[str, str]) -> None:
        self.definitions = definitions
        self.columns = columns  # logical key -> column name, shared with the RowBuilder
        self.last: dict[str, Any] = {}  # by column name
        self.text_last: dict[str, str] = {}
        self.overrides: dict[str, Any] = {}
        self.aggregates: dict[str, dict[str, float]] = {}  # by column name
        self.agg_kinds: dict[str, list[str]] = {}  # column -> kinds
        self.base: dict[str, Any] = {}  # a resumed run's earlier summary
        self.dirty = True

    def refresh_definitions(self) -> None:
        self.agg_kinds = {}
        for key, col in self.columns.items():
            d = self.definitions.for_key(key)
            if d is not None and d.summary:
                kinds = list(d.summary)
                if "best" in kinds:
                    kinds[kinds.index("best")] = "min" if d.goal != "maximize" else "max"
                self.agg_kinds[col] = kinds

    def on_new_column(self, key: str, col: str) -> None:
        d = self.definitions.for_key(key)
        if d is not None and d.summary:
            self.refresh_definitions()

    def update(self, nums: dict[str, Any], texts: dict[str, str] | None) -> None:
        # The summary holds each key's last value, number or text, whichever came last.
        self.last.update(nums)
        if self.text_last:
            for key in [k for k in self.text_last if self.columns.get(k, k) in nums]:
                del self.text_last[key]
        if texts:
            self.text_last.update(texts)
            for key in texts:
                self.last.pop(self.columns.get(key, key), None)
        if self.agg_kinds:
            for col, _kinds in self.agg_kinds.items():
                v = nums.get(col)
                if v is None or v != v:
                    continue
                a = self.aggregates.get(col)
                if a is None:
                    self.aggregates[col] = {"min": v, "max": v, "sum": v, "count": 1, "first": v}
                else:
                    if v < a["min"]:
                        a["min"] = v
                    if v > a["max"]:
                        a["max"] = v
                    a["sum"] += v
                    a["count"] += 1
        self.dirty = True

    def snapshot(self) -> dict[str, Any]:
        """The summary as written to summary.json and shown by summary[...]."""
        out: dict[str, Any] = dict(self.base)
        logical = {col: key for key, col in self.columns.items()}
        for col, v in self.last.items():
            key = logical.get(col, col)
            kinds = self.agg_kinds.get(col)
            if kinds and "none" in kinds:
                continue
            if not kinds:
                out[key] = _jsonable(v)
                continue
            a = self.aggregates.get(col)
            entry: dict[str, Any] = {}
            for kind in kinds:
                if kind == "last":
                    entry["last"] = _jsonable(v)
                elif a is not None and kind == "mean":
                    entry["mean"] = a["sum"] / a["count"]
                elif a is not None and kind in a:
                    entry[kind] = a[kind]
            out[key] = entry
        out.update(self.text_last)
        for k, v in self.overrides.items():
            if v is _DELETED:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    def final_complete(self, final: list[str]) -> bool:
        """True when `final` (final_keys()) holds every history key this run has."""
        return not self.base and set(self.columns) <= set(final)

    def final_keys(self) -> list[str]:
        """Keys whose summary value is the last value logged to history, under the same
        name: not set by hand, no define_metric aggregate, a finite number (JSON has no
        NaN), logged by this process (a resumed run's older values are not vouched for)."""
        out = []
        for key, col in self.columns.items():
            if key != col or col in self.agg_kinds or key in self.overrides or key in self.text_last:
                continue
            v = self.last.get(col)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out.append(key)
        return sorted(out)

    def load(self, saved: dict[str, Any]) -> None:
        """Resume: earlier values stay visible until overwritten by new ones."""
        self.base.update(saved)


def _jsonable(v: Any) -> Any:
    # JSON has no NaN/inf; the strings are what Python's json module would accept back.
    if type(v) is float and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return v


class Summary(MutableMapping):
    """The dict-like object users see as run.summary."""

    def __init__(self, state: SummaryState) -> None:
        self._state = state

    def __getitem__(self, key: str) -> Any:
        snap = self._state.snapshot()
        return snap[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state.overrides[key] = value
        self._state.dirty = True

    def __delitem__(self, key: str) -> None:
        if key not in self._state.snapshot():
            raise KeyError(key)
        self._state.overrides[key] = _DELETED
        self._state.dirty = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.snapshot())

    def __len__(self) -> int:
        return len(self._state.snapshot())

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def update(self, d: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        for k, v in dict(d or {}, **kwargs).items():
            self[k] = v

    def __repr__(self) -> str:
        return f"Summary({self._state.snapshot()!r})"
