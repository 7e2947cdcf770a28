"""Two or more runs side by side: what differs in their config, how their summaries compare.

    compare_runs(runs, definitions=None) -> RunComparison

Pure Python over RunInfo (no files, no Textual): the dashboard's compare view and
`loupe diff` render the same comparison. `definitions` are the runs' metrics.json
contents (Store.metric_definitions), used for each metric's goal.

- `metadata`: name, project, state, created, runtime, last step, host, git commit and
  branch, group, tags.
- `config_differ` first, `config_same` apart (the views fold them): flattened config
  keys; a key some runs lack differs. Numbers compare by value (1 == 1.0), a bool is
  never equal to a number.
- `summary`: flattened summary keys (aggregates such as `val/loss.min` included;
  internal `_` keys left out, `_runtime` and `_step` are in the metadata), each row
  with the index of its best value(s) when the metric has a direction (`goal_of`).

Best per row (the help screen says the same): the goal of the metric's define_metric
(`goal="minimize"|"maximize"`, else `summary="min"` or `"max"` alone) in any run's
metrics.json; without one, lower is better when a word of the name is one of
LOWER_IS_BETTER (loss, err, error, mse...), higher when one of HIGHER_IS_BETTER (acc,
accuracy, f1, auc...); otherwise no row is marked. Aggregate suffixes (.min, .max,
.mean, .last, .first, .best) take the metric's direction. Ties are all marked; a row
where every run has the same value, or with fewer than two finite numbers, marks none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from recorder.journal import definition_for
from viewer.data.run_table_model import display, format_runtime
from viewer.data.runs_table import RunInfo, summary_value

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "CompareRow",
    "RunComparison",
    "compare_runs",
    "format_value",
    "goal_of",
    "run_labels",
]

LOWER_IS_BETTER = frozenset({"loss", "err", "error", "mse", "mae", "rmse", "nll", "perplexity", "ppl", "wer", "cer"})
HIGHER_IS_BETTER = frozenset(
    {"acc", "accuracy", "f1", "precision", "recall", "auc", "auroc", "iou", "map", "bleu", "rouge", "reward"}
)
_AGGREGATES = ("min", "max", "mean", "last", "first", "best")
_WORD = re.compile(r"[a-z]+|[0-9]+")
# Deeper nests are shown whole rather than as hundreds of rows.
_MAX_DEPTH = 8


@dataclass(frozen=True)
class CompareRow:
    key: str
    values: tuple[Any, ...]  # one per run, None where the run lacks the key
    best: frozenset[int] = frozenset()  # indexes into values
    goal: str | None = None  # "min", "max" or None (summary rows only)

    @property
    def differs(self) -> bool:
        return any(not _same(self.values[0], v) for v in self.values[1:])


@dataclass(frozen=True)
class RunComparison:
    runs: tuple[RunInfo, ...]
    labels: tuple[str, ...]  # a column header per run
    metadata: tuple[CompareRow, ...]
    config_differ: tuple[CompareRow, ...]
    config_same: tuple[CompareRow, ...]
    summary: tuple[CompareRow, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain data for `loupe diff --format json`."""

        def rows(items: Sequence[CompareRow]) -> list[dict[str, Any]]:
            return [{"key": r.key, "values": list(r.values)} for r in items]

        return {
            "runs": [
                {"id": r.id, "project": r.project, "name": r.name, "label": lb} for r, lb in zip(self.runs, self.labels)
            ],
            "metadata": rows(self.metadata),
            "config": {
                "differ": rows(self.config_differ),
                "same": [{"key": r.key, "value": r.values[0]} for r in self.config_same],
            },
            "summary": [
                {"key": r.key, "values": list(r.values), "goal": r.goal, "best": sorted(r.best)} for r in self.summary
            ],
        }


def compare_runs(runs: Sequence[RunInfo], definitions: Sequence[Mapping[str, Any]] | None = None) -> RunComparison:
    if len(runs) < 2:
        raise ValueError("compare needs at least two runs")
    defs = _definitions(definitions or [])
    config = _rows([_flat(r.config) for r in runs])
    summaries = [{k: v for k, v in _flat(r.summary).items() if not k.startswith("_")} for r in runs]
    summary = []
    for row in _rows(summaries):
        goal = goal_of(row.key, defs)
        summary.append(CompareRow(row.key, row.values, _best(row.values, goal), goal))
    return RunComparison(
        runs=tuple(runs),
        labels=tuple(run_labels(runs)),
        metadata=tuple(_metadata(runs)),
        config_differ=tuple(r for r in config if r.differs),
        config_same=tuple(r for r in config if not r.differs),
        summary=tuple(summary),
    )


MISSING = "—"


def format_value(key: str, value: Any) -> str:
    """A cell as the compare view and `loupe diff` show it (unsanitised run text)."""
    if value is None:
        return MISSING
    if key == "runtime" and isinstance(value, (int, float)):
        return format_runtime(value)
    if key == "git commit" and isinstance(value, str):
        return value[:12]
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value, default=str).decode()
    return display(value)


def run_labels(runs: Sequence[RunInfo]) -> list[str]:
    """A header per run: its name, with the end of its id (the random part) where names repeat."""
    names = [r.name or r.id for r in runs]
    return [f"{n} (…{r.id[-6:]})" if names.count(n) > 1 else n for n, r in zip(names, runs)]


def goal_of(key: str, definitions: Sequence[Mapping[str, Any]] = ()) -> str | None:
    """ "min" when lower is better for summary key `key`, "max" when higher, else None.
    `definitions`: define_metric entries (metrics.json's "definitions"), in order."""
    base, _, suffix = key.rpartition(".")
    if suffix not in _AGGREGATES or not base:
        base = key
    i = definition_for(base, [(d["name"], d.get("step_metric")) for d in definitions])
    if i is not None:
        d = definitions[i]
        if d.get("goal") in ("minimize", "maximize"):
            return "min" if d["goal"] == "minimize" else "max"
        kinds = set(d.get("summary") or ()) & {"min", "max"}
        if len(kinds) == 1:
            return kinds.pop()
    words = set(_WORD.findall(base.lower()))
    if words & LOWER_IS_BETTER:
        return "min"
    if words & HIGHER_IS_BETTER:
        return "max"
    return None


def _definitions(files: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every run's well-formed definitions, the first run's last: where two runs define
    one metric differently, the first run's wins (later definitions beat earlier ones)."""
    out: list[dict[str, Any]] = []
    for data in reversed(files):
        items = data.get("definitions") if isinstance(data, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                summary = item.get("summary")
                out.append(
                    {
                        "name": item["name"],
                        "step_metric": item.get("step_metric") if isinstance(item.get("step_metric"), str) else None,
                        "summary": [k for k in summary if isinstance(k, str)] if isinstance(summary, list) else [],
                        "goal": item.get("goal") if isinstance(item.get("goal"), str) else None,
                    }
                )
    return out


def _metadata(runs: Sequence[RunInfo]) -> list[CompareRow]:
    fields: list[tuple[str, Any]] = [
        ("name", lambda r: r.name or r.id),
        ("id", lambda r: r.id),
        ("project", lambda r: r.project),
        ("state", lambda r: r.state),
        ("created", lambda r: r.created_at),
        ("runtime", lambda r: r.runtime),
        ("steps", lambda r: _steps(r.summary)),
        ("host", lambda r: r.host),
        ("git commit", lambda r: r.git_commit),
        ("git branch", lambda r: r.git_branch),
        ("group", lambda r: r.group),
        ("tags", lambda r: ", ".join(r.tags) or None),
    ]
    return [CompareRow(name, tuple(get(r) for r in runs)) for name, get in fields]


def _steps(summary: Mapping[str, Any]) -> int | None:
    step = summary.get("_step")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step):
        return None
    return int(step) + 1


def _flat(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(value: Mapping[str, Any], prefix: str, depth: int) -> None:
        for k, v in value.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict) and "_type" in v:
                out[key] = f"({v['_type']})"  # a logged image, table... reference
            elif isinstance(v, dict) and v and depth < _MAX_DEPTH:
                walk(v, key + ".", depth + 1)
            else:
                out[key] = summary_value(v)

    walk(data if isinstance(data, Mapping) else {}, "", 0)
    return out


def _rows(flats: list[dict[str, Any]]) -> list[CompareRow]:
    keys = sorted(set().union(*flats))
    return [CompareRow(k, tuple(f.get(k) for f in flats)) for k in keys]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)  # NaN equals NaN here
    return type(a) is type(b) and a == b


def _best(values: tuple[Any, ...], goal: str | None) -> frozenset[int]:
    if goal is None:
        return frozenset()
    nums = {i: n for i, n in enumerate(_number(v) for v in values) if n is not None}
    if len(nums) < 2 or (len(nums) == len(values) and len(set(nums.values())) == 1):
        return frozenset()  # nothing to rank, or every run got the same
    target = min(nums.values()) if goal == "min" else max(nums.values())
    return frozenset(i for i, n in nums.items() if n == target)
