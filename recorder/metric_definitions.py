"""define_metric: custom x-axes, summary aggregates and goals, matched by glob name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from recorder.journal import definition_for

SUMMARY_KINDS = ("min", "max", "mean", "last", "first", "best", "none")


@dataclass
class MetricDefinition:
    name: str
    step_metric: str | None = None
    summary: list[str] = field(default_factory=list)
    goal: str | None = None
    hidden: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_summary(summary: str | None) -> list[str]:
    if not summary:
        return []
    kinds = [s.strip() for s in summary.split(",") if s.strip()]
    bad = [k for k in kinds if k not in SUMMARY_KINDS]
    if bad:
        raise ValueError(f"define_metric summary {bad[0]!r} is not one of {', '.join(SUMMARY_KINDS)}")
    return kinds


def parse_goal(goal: str | None) -> str | None:
    if goal is None:
        return None
    g = goal.lower()
    if g in ("min", "minimize"):
        return "minimize"
    if g in ("max", "maximize"):
        return "maximize"
    raise ValueError(f"define_metric goal {goal!r} must be 'minimize' or 'maximize'")


class MetricDefinitions:
    """Definitions in the order given; which one governs a key is recorder.journal.definition_for
    (exact names beat globs, later globs beat earlier ones), the rule the viewer applies too."""

    def __init__(self) -> None:
        self.items: list[MetricDefinition] = []
        self._cache: dict[str, MetricDefinition | None] = {}

    def add(self, d: MetricDefinition) -> None:
        self.items = [x for x in self.items if x.name != d.name] + [d]
        self._cache.clear()

    def for_key(self, key: str) -> MetricDefinition | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        i = definition_for(key, [(d.name, d.step_metric) for d in self.items])
        found = None if i is None else self.items[i]
        self._cache[key] = found
        return found

    def as_json(self) -> list[dict[str, Any]]:
        return [d.as_json() for d in self.items]
