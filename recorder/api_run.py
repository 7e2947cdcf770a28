"""`ApiRun`: one recorded run as wandb's public API shows it, read from its files.

    run = recorder.Api("runs").run("digits/20261129-141500-4fc9891d1d04")
    run.config, run.summary, run.state, run.tags, run.created_at, run.system_metrics
    run.history(keys=["val/acc"], pandas=False)     # sampled, list of dicts
    for row in run.scan_history(keys=["loss"]): ...  # every row, a page at a time
    run.name = "baseline"; run.tags.append("keep"); run.summary["best"] = 0.97; run.update()

Attributes are read when the object is made (`load()` reads them again). The state is
the file contract's decision (`recorder.journal.run_state`: a `running` run whose
process is gone is `crashed`). History comes from recorder.run_history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from recorder import layout, run_history
from recorder.journal import apply_edits, read_edits, read_json_object, read_run_artifacts, run_state
from recorder.run_filters import MISSING, lookup
from recorder.warn import warn_once

FORMATS = ("default", "pandas", "arrow")
# Filter and order fields that name a run.json entry under another spelling (wandb's).
_RUN_FIELDS = {
    "name": "id",
    "display_name": "name",
    "displayName": "name",
    "createdAt": "created_at",
    "heartbeatAt": "heartbeat_at",
    "jobType": "job_type",
    "username": "user",
}


class ApiSummary(dict):
    """The run's summary; `update(...)` also saves it, as wandb's run summary does."""

    def __init__(self, run: ApiRun, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._run = run

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._run.update()


class ApiRun:
    def __init__(self, root: Path, project: str, run_id: str) -> None:
        self._root = Path(root)
        self.project = project
        self.id = run_id
        self.entity = "local"
        self.dir = self._root / project / run_id
        self.load()

    # -- reading -----------------------------------------------------------------------
    def _read(self, name: str) -> dict[str, Any]:
        return read_json_object(self.dir / name) or {}

    def load(self, force: bool = True) -> dict[str, Any]:
        """Read run.json, config.json and summary.json (again); returns run.json's contents."""
        recorded = self._read(layout.RUN_FILE)
        # The user's edits (edits.json) over run.json and summary.json, as every reader shows them.
        info, summary = apply_edits(recorded, self._read(layout.SUMMARY_FILE), read_edits(self.dir))
        self.metadata = info
        self.state, self.state_reason = run_state(recorded)
        name, tags = info.get("name"), info.get("tags")
        # run.json is untrusted input: odd types read as absent, never as characters of a string.
        self.name = name if isinstance(name, str) and name else self.id
        self.tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        self.notes = info.get("notes")
        self.group = info.get("group")
        self.job_type = info.get("job_type")
        self.created_at = info.get("created_at")
        self.heartbeat_at = info.get("heartbeat_at")
        self.user = info.get("user")
        self.config = self._read(layout.CONFIG_FILE)
        self.summary = ApiSummary(self, summary)
        self._as_loaded = (self.name, list(self.tags), self.notes, _copied(self.config), _copied(self.summary))
        return info

    @property
    def display_name(self) -> str:
        return self.name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self.name = value

    @property
    def description(self) -> str | None:
        return self.notes

    @property
    def summary_metrics(self) -> dict[str, Any]:
        return dict(self.summary)

    @property
    def path(self) -> list[str]:
        """[entity, project, id], as wandb: `"/".join(run.path)` is what Api().run() takes."""
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str:
        return self.dir.resolve().as_uri()

    def field(self, path: str) -> Any:
        """One field for filters and ordering (recorder.run_filters); MISSING if none."""
        head, _, rest = path.partition(".")
        if head == "config" and rest:
            found = lookup(self.config, rest)
            if found is MISSING and rest.endswith(".value"):  # wandb's stored form: {"lr": {"value": ...}}
                found = lookup(self.config, rest[: -len(".value")])
            return found
        if head in ("summary_metrics", "summary") and rest:
            return lookup(self.summary, rest)
        if path == "id":
            return self.id
        if path == "state":
            return self.state
        if path == "tags":
            return self.tags
        key = _RUN_FIELDS.get(path, path)
        if key in ("id", "name", "notes", "group", "job_type", "created_at", "heartbeat_at", "user"):
            value = self.id if key == "id" else getattr(self, key)
            return MISSING if value is None else value
        return lookup(self.metadata, path)

    # -- history ---------------------------------------------------------------------------
    def _streams(self) -> Any:
        from recorder.stream_reader import RunStreams  # pyarrow: only once history is asked for

        return RunStreams(self.dir)

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = layout.STEP,
        pandas: bool = True,
        stream: str = "default",
        format: str | None = None,
    ) -> Any:
        """Sampled history (recorder.run_history): a pandas DataFrame, or with
        `pandas=False` a list of dicts; `format="arrow"` gives a pyarrow Table."""
        fmt = format or ("pandas" if pandas else "default")
        if fmt not in FORMATS:
            raise ValueError(f"format {format!r}: use one of {', '.join(FORMATS)}")
        return convert(run_history.history(self._streams(), samples, keys, x_axis, stream), fmt)

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row with `min_step <= _step < max_step`, as dicts, read lazily."""
        return run_history.scan_history(self._streams(), keys, page_size, min_step, max_step)

    @property
    def lastHistoryStep(self) -> int:
        steps = self._streams().table(layout.HISTORY_DIR, [layout.STEP]).column(layout.STEP)
        last = steps[-1].as_py() if len(steps) else None
        return -1 if last is None else int(last)

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The latest system sample (cpu.*, memory.*, gpu.<i>.*...), {} when none."""
        table = self._streams().table(layout.SYSTEM_DIR)
        if table.num_rows == 0:
            return {}
        return {k: v for k, v in table.slice(table.num_rows - 1).to_pylist()[0].items() if v is not None}

    # -- files and artifacts -------------------------------------------------------------------
    def files(self, names: list[str] | None = None, pattern: str | None = None, per_page: int = 50) -> list[Any]:
        """The run's files (recorder.api_files); `names` keeps those names, `pattern`
        matches with SQL LIKE wildcards as wandb's does (`%` any run, `_` one character)."""
        from recorder.api_files import run_files

        if names and pattern:
            raise ValueError("files(): pass names or pattern, not both")
        out = run_files(self.dir)
        if names:
            wanted = set(names)
            return [f for f in out if f.name in wanted]
        if pattern:
            regex = re.compile(
                "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + r"\Z"
            )
            return [f for f in out if regex.match(f.name)]
        return out

    def file(self, name: str) -> Any:
        from recorder.api_files import find_file

        return find_file(self.dir, name)

    def _artifacts(self, kind: str) -> list[Any]:
        from recorder.artifacts.artifact import Artifact

        out = []
        for item in read_run_artifacts(self.dir)[kind]:
            try:
                out.append(
                    Artifact._from_disk(
                        self._root,
                        layout.check_name(item["project"], "project name"),
                        item["name"],
                        int(item["version"]),
                    )
                )
            except Exception:
                continue
        return out

    def logged_artifacts(self, per_page: int = 100) -> list[Any]:
        return self._artifacts("outputs")

    def used_artifacts(self, per_page: int = 100) -> list[Any]:
        return self._artifacts("inputs")

    # -- changes -------------------------------------------------------------------------------
    def update(self) -> None:
        """Save what changed in name, tags, notes and summary, through the same call as
        `loupe tag/note/rename` (recorder.user_edits.edit_run: edits.json, locked, atomic)."""
        from recorder.user_edits import edit_run

        name, tags, notes, config, summary = self._as_loaded
        if self.config != config:
            raise ValueError(
                "run.update(): a run's config cannot be changed afterwards (only name, tags, notes and summary)"
            )
        changes: dict[str, Any] = {}
        if self.name != name:
            changes["name"] = self.name
        if list(self.tags) != tags:
            # As additions and removals where it can, so a tag added meanwhile (`loupe tag`) stays.
            added = [t for t in self.tags if t not in tags]
            removed = [t for t in tags if t not in self.tags]
            if added or removed:
                changes.update(add_tags=added, remove_tags=removed)
            else:
                changes["tags"] = list(self.tags)
        if self.notes != notes:
            changes["notes"] = self.notes or ""
        current = dict(self.summary)
        changed = {k: v for k, v in current.items() if k not in summary or summary[k] != v}
        changed.update({k: None for k in summary if k not in current})
        if changed:
            changes["summary"] = changed
        if changes:
            edit_run(self.dir, **changes)
        self.load()

    def save(self) -> None:
        self.update()

    def __repr__(self) -> str:
        return f"<ApiRun {self.project}/{self.id} ({self.state})>"


def _copied(data: dict[str, Any]) -> Any:
    # What was read from JSON round-trips through JSON: a deep copy at orjson's speed.
    return orjson.loads(orjson.dumps(data))


def convert(table: Any, fmt: str) -> Any:
    """A pyarrow Table as `fmt`: "arrow" itself, "default" a list of dicts holding only
    the values present (as wandb's rows), "pandas" a DataFrame (a list when pandas is
    not installed, with one warning, as wandb does)."""
    if fmt == "arrow":
        return table
    if fmt == "pandas":
        try:
            import pandas  # noqa: F401 - only to know it is there
        except ImportError:
            warn_once("api-pandas", "pandas is not installed: history() returns a list of dicts (pass pandas=False)")
        else:
            return table.to_pandas()
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
