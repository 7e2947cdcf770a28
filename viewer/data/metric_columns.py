"""Logged metric keys and the Parquet columns that hold them, run by run.

Keys that differ only by case are distinct metrics, but DuckDB matches column names
case-insensitively, so the recorder stores the second spelling as `<key>#2` and maps
key -> column under "columns" in metrics.json (docs/format.md). The viewer names every
metric by its key, the name the user logged, and reads each run's own column for it:

    keys_of_run(columns, columns_map)          -> {key: column} for one run
    locate_keys(keys, runs)                    -> [KeyColumns]  where each key lives per run
    sources_of(names, runs, base)              -> [KeyColumns]  the same, base columns as they are
    hidden_keys(definitions, keys)             -> keys define_metric(hidden=True) hides

Across runs a plain column reference is not always safe: run A's `Loss` and run B's
`loss` are one column to DuckDB, so where a column is shared by spellings of different
keys, KeyColumns names the runs whose rows it may be read for (viewer.data.sql turns
that into a CASE on run_id). Pure Python: no Textual, no DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from recorder.journal import definition_for

__all__ = ["KeyColumns", "all_keys", "hidden_keys", "keys_of_run", "locate_keys", "sources_of"]


@dataclass(frozen=True)
class KeyColumns:
    """Where one logged key lives in the selected runs."""

    key: str
    # (column, run ids whose rows hold the key in that column, or None for "every run").
    sources: tuple[tuple[str, tuple[str, ...] | None], ...]

    @classmethod
    def plain(cls, column: str) -> KeyColumns:
        """A column read as it is in every run (`_step`, `_runtime`, a system metric)."""
        return cls(column, ((column, None),))


def keys_of_run(columns: Iterable[str], columns_map: Mapping[str, str]) -> dict[str, str]:
    """{logged key: column} for one run's metric columns, given its metrics.json map."""
    present = set(columns)
    key_of = {col: key for key, col in columns_map.items() if col in present}
    return {key_of.get(col, col): col for col in present}


def locate_keys(keys: Iterable[str], runs: Mapping[str, Mapping[str, str]]) -> list[KeyColumns]:
    """For each key (in order; keys no run logged are left out), the column it is read from in
    each run. `runs`: run id -> keys_of_run() of that run.

    A source's run list is None when reading the column for every selected row is right:
    every run that has a column of that spelling (in any case) holds this key in it.
    """
    lowered: dict[str, set[str]] = {}  # lower-case column -> runs with such a column
    for rid, mapping in runs.items():
        for col in mapping.values():
            lowered.setdefault(col.lower(), set()).add(rid)
    out = []
    for key in dict.fromkeys(keys):
        holders: dict[str, list[str]] = {}
        for rid, mapping in runs.items():
            col = mapping.get(key)
            if col is not None:
                holders.setdefault(col, []).append(rid)
        if not holders:
            continue
        sources = []
        for col, rids in holders.items():
            exclusive = len(holders) == 1 and lowered.get(col.lower(), set()) <= set(rids)
            sources.append((col, None if exclusive else tuple(rids)))
        out.append(KeyColumns(key, tuple(sources)))
    return out


def all_keys(runs: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Every key logged by any of the runs (`runs` as for locate_keys)."""
    return {k for mapping in runs.values() for k in mapping}


def sources_of(names: Iterable[str], runs: Mapping[str, Mapping[str, str]], base: Set[str]) -> list[KeyColumns]:
    """Where to read each name, in order: a `base` column (`_step`...) as it is, a logged key
    per locate_keys; `run_id` and names no run has are left out."""
    names = list(dict.fromkeys(names))
    located = {k.key: k for k in locate_keys([n for n in names if n not in base], runs)}
    out = []
    for n in names:
        if n in base:
            if n != "run_id":
                out.append(KeyColumns.plain(n))
        elif n in located:
            out.append(located[n])
    return out


def hidden_keys(definitions: Any, keys: Iterable[str]) -> set[str]:
    """The keys a run's define_metric definitions (metrics.json "definitions") hide, matched
    by the recorder's own rule (recorder.journal.definition_for: globs included)."""
    if not isinstance(definitions, list):  # metrics.json may hold anything
        return set()
    valid = [d for d in definitions if isinstance(d, dict) and isinstance(d.get("name"), str)]
    pairs = [(d["name"], d.get("step_metric") if isinstance(d.get("step_metric"), str) else None) for d in valid]
    out = set()
    for key in keys:
        i = definition_for(key, pairs)
        if i is not None and valid[i].get("hidden") is True:
            out.add(key)
    return out
