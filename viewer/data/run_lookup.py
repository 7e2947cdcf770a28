"""Finding the one run a user means from what they typed (CLI arguments, dashboard input).

    resolve_run("3f2a", runs, by_id) -> RunInfo    # raises RunNotFound

A reference is tried as an exact id first. Otherwise `project/rest` narrows the search
to that project's runs, and `rest` (or the whole reference) is tried as an id, a
directory name, a run name, then an id prefix. The first rule that matches exactly one
run wins; one that matches several is an error rather than a guess, so a short prefix
never silently picks the wrong run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

__all__ = ["RunNotFound", "resolve_run"]


class _Named(Protocol):
    """What a reference is matched against: RunInfo, or a run in the trash."""

    @property
    def id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def path(self) -> Path: ...
    @property
    def ref(self) -> str: ...


R = TypeVar("R", bound=_Named)


class RunNotFound(LookupError):
    """No run, or more than one, matches a reference."""


def resolve_run(ref: str, runs: Sequence[R], by_id: Mapping[str, R]) -> R:
    """The run `ref` names among `runs` (`by_id`: the same runs by id, for the common case)."""
    if ref in by_id:
        return by_id[ref]
    project, _, rest = ref.rpartition("/")
    scoped = [r for r in runs if r.project == project] if project else runs
    key = rest if project else ref
    for pick in (
        lambda r: r.id == key,
        lambda r: r.path.name == key,
        lambda r: r.name == key,
        lambda r: r.id.startswith(key),
    ):
        hits = [r for r in scoped if pick(r)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(r.ref for r in hits[:5])
            more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
            raise RunNotFound(f"{ref!r} matches {len(hits)} runs: {names}{more}")
    raise RunNotFound(f"no run matches {ref!r}")
