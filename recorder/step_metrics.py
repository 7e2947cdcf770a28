"""Filling a row's step metrics: define_metric("val/*", step_metric="epoch") in effect.

A metric bound to a step metric that its row lacks takes the step metric's last value,
so eval rows logged without "epoch" still line up with it. A training loop logs the
same keys again and again, so which step metrics a set of keys needs is worked out
once per set (and forgotten when definitions or columns change), not per value.
"""

from __future__ import annotations

from typing import Any

from recorder.metric_definitions import MetricDefinitions

# Distinct sets of keys remembered; a script whose keys change every step only refills.
_MAX_SHAPES = 1024


class StepMetricFill:
    def __init__(self, definitions: MetricDefinitions, columns: dict[str, str]) -> None:
        self._definitions = definitions
        self._columns = columns  # logical key -> column name, shared with the RowBuilder
        self._step_metric_of: dict[str, str | None] = {}  # column -> its step metric's key
        self._needed: dict[tuple[str, ...], tuple[str, ...]] = {}  # row's columns -> to fill

    def forget(self) -> None:
        """Definitions or column names changed: work everything out again."""
        self._step_metric_of.clear()
        self._needed.clear()

    def fill(self, nums: dict[str, Any], last: dict[str, Any]) -> None:
        """Add to `nums` (a row by column name) the last value, from `last`, of each step
        metric that one of its columns is bound to and that it lacks."""
        shape = tuple(nums)
        needed = self._needed.get(shape)
        if needed is None:
            needed = self._work_out(shape)
        for col in needed:
            if col in last:
                nums[col] = last[col]

    def _work_out(self, shape: tuple[str, ...]) -> tuple[str, ...]:
        present = set(shape)
        needed: list[str] = []
        for col in shape:
            sm = self._step_metric(col)
            if sm is None:
                continue
            sm_col = self._columns.get(sm, sm)
            if sm_col not in present and sm_col not in needed:
                needed.append(sm_col)
        if len(self._needed) >= _MAX_SHAPES:
            self._needed.clear()
        self._needed[shape] = found = tuple(needed)
        return found

    def _step_metric(self, col: str) -> str | None:
        try:
            return self._step_metric_of[col]
        except KeyError:
            d = self._definitions.for_key(self._logical(col))
            sm = d.step_metric if d is not None else None
            self._step_metric_of[col] = sm
            return sm

    def _logical(self, col: str) -> str:
        if "#" not in col:
            return col
        for key, c in self._columns.items():
            if c == col:
                return key
        return col
