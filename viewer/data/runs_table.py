"""One row per run: `RunInfo` from the JSON sidecars, and the Arrow table behind the `runs` view.

    RunInfo.from_meta(run_dir, meta, now) -> RunInfo
    runs_arrow(infos) -> pyarrow.Table

Table columns, in order: id, project, name, group, job_type, tags (list<string>), notes,
state, state_reason, recorded_state, created_at, heartbeat_at, finished_at
(timestamp UTC), runtime (s), exit_code, host, user, pid, git_commit, git_branch,
git_dirty, rank, local_rank, world_size, error, path, root, config, summary (JSON
text; the view casts them to DuckDB JSON), then one column per flattened config key
`config.<key>` and summary key `summary.<key>` (nested dicts joined with '.'), sorted.

A flattened column's type: BOOLEAN when every value is a bool, BIGINT when all are
integers, DOUBLE when all are numbers, else VARCHAR (non-strings as JSON text).
Summary values "NaN", "Infinity" and "-Infinity" (how the recorder writes non-finite
numbers) count as numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from recorder import layout
from viewer.data.arrow_build import column
from viewer.data.arrow_build import values as column_values
from viewer.data.discovery import RunDir, RunMeta, json_object
from viewer.data.run_state import decide_state, parse_time

__all__ = ["BASE_COLUMNS", "RunInfo", "catalog_signature", "flatten", "runs_arrow", "summary_value"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@dataclass(eq=False)
class RunInfo:
    """What the runs table shows about one run; built from JSON sidecars only."""

    id: str
    project: str
    name: str | None
    state: str
    state_reason: str
    path: Path
    root: Path
    real_path: Path
    group: str | None = None
    job_type: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    recorded_state: str | None = None
    created_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    runtime: float | None = None
    exit_code: int | None = None
    host: str | None = None
    user: str | None = None
    pid: int | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    rank: int | None = None
    local_rank: int | None = None
    world_size: int | None = None
    error: str | None = None
    # History keys whose summary value is their final logged one (run.json summary_final,
    # honoured for a run the recorder itself finished); None when nobody vouches for it.
    final_keys: tuple[str, ...] | None = None
    final_from_summary: bool = False  # final_keys are all of its history keys
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    # run.json (edits applied), or its JSON text until first read: the runs table never
    # reads it, and 10,000 parsed copies held ~25 MB for the few runs anyone opens.
    run_json_source: dict[str, Any] | str = field(default_factory=dict, repr=False)
    meta_signature: tuple = ()  # changes when any JSON sidecar changes

    @property
    def run_json(self) -> dict[str, Any]:
        source = self.run_json_source
        if isinstance(source, str):
            try:
                source = json_object(orjson.loads(source))
            except orjson.JSONDecodeError:
                source = {}
            self.run_json_source = source
        return source

    @property
    def ref(self) -> str:
        """`project/id`, unambiguous across projects."""
        return f"{self.project}/{self.id}"

    @classmethod
    def from_meta(cls, rd: RunDir, meta: RunMeta, now: float | None = None) -> RunInfo:
        r = meta.run
        dir_name = rd.path.name
        run_id = _str(r.get("id")) or dir_name
        project = _str(r.get("project")) or rd.path.parent.name
        decision = decide_state(r, now=now)
        git = json_object(r.get("git"))
        err = r.get("error")
        error = None
        if isinstance(err, dict):
            error = f"{_str(err.get('type')) or 'Error'}: {_str(err.get('message')) or ''}".rstrip(": ")
        elif err is not None:
            error = str(err)
        tags = r.get("tags")
        return cls(
            id=run_id,
            project=project,
            name=_str(r.get("name")),
            state=decision.state,
            state_reason=decision.reason,
            path=rd.path,
            root=rd.root,
            real_path=rd.real,
            group=_str(r.get("group")),
            job_type=_str(r.get("job_type")),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            notes=_str(r.get("notes")),
            recorded_state=_str(r.get("state")),
            created_at=_dt(r.get("created_at")),
            heartbeat_at=_dt(r.get("heartbeat_at")),
            finished_at=_dt(r.get("finished_at")),
            runtime=known_runtime(r, meta.summary),
            exit_code=_int(r.get("exit_code")),
            host=_str(r.get("host")),
            user=_str(r.get("user")),
            pid=_int(r.get("pid")),
            git_commit=_str(git.get("commit")),
            git_branch=_str(git.get("branch")),
            git_dirty=git.get("dirty") if isinstance(git.get("dirty"), bool) else None,
            rank=_int(r.get("rank")),
            local_rank=_int(r.get("local_rank")),
            world_size=_int(r.get("world_size")),
            error=error,
            final_keys=_final_keys(r),
            final_from_summary=_final_keys(r) is not None and r.get(layout.SUMMARY_FINAL_COMPLETE) is True,
            config=meta.config,
            summary=meta.summary,
            run_json_source=r,
            meta_signature=meta.signature,
        )

    @classmethod
    def from_catalog(cls, table: pa.Table) -> list[RunInfo]:
        """The RunInfos the rows of a run catalog (viewer.data.run_catalog) were made from.

        Column by column: only the columns a RunInfo keeps are converted (the flattened
        config.*/summary.* and stream listings are not), and one Path per distinct root.
        Each object's attributes are set in one dict, not through the 35-argument
        __init__ (a third of the time). At 10,000 runs this is what the dashboard waits on
        before its first row."""
        names = table.column_names
        columns: dict[str, list[Any]] = {
            f: column_values(table.column(f)) for f in cls.__dataclass_fields__ if f in names and f not in _NOT_PLAIN
        }
        columns["tags"] = [tuple(t) if t else () for t in table.column("tags").to_pylist()]
        columns["final_keys"] = [None if k is None else tuple(k) for k in table.column("final_keys").to_pylist()]
        paths = table.column("path").to_pylist()
        reals = table.column("_catalog_real").to_pylist()
        path_objects = columns["path"] = [Path(p) for p in paths]
        # Most runs are not behind a symlink: the same object, not a second Path.
        columns["real_path"] = [path_objects[i] if real == paths[i] else Path(real) for i, real in enumerate(reals)]
        roots = table.column("root").to_pylist()
        root_paths = {r: Path(r) for r in set(roots)}
        columns["root"] = [root_paths[r] for r in roots]
        loads = orjson.loads
        for name in ("config", "summary"):
            columns[name] = [json_object(loads(t or "{}")) for t in table.column(name).to_pylist()]
        columns["run_json_source"] = [t or "{}" for t in table.column("_catalog_run_json").to_pylist()]
        columns["meta_signature"] = [catalog_signature(t) for t in table.column("_catalog_signature").to_pylist()]
        order = list(columns)
        defaults = _field_defaults(cls, order)
        new = object.__new__
        out = []
        for row in zip(*columns.values(), strict=True):
            info = new(cls)
            info.__dict__ = dict(zip(order, row, strict=True))
            if defaults:
                info.__dict__.update((k, make()) for k, make in defaults)
            out.append(info)
        return out


def _field_defaults(cls: type, given: list[str]) -> list[tuple[str, Any]]:
    """(name, maker) for the fields of dataclass `cls` not in `given`: what __init__ would set."""
    out: list[tuple[str, Any]] = []
    for name, f in cls.__dataclass_fields__.items():  # type: ignore[attr-defined]
        if name in given:
            continue
        if f.default_factory is not MISSING:
            out.append((name, f.default_factory))
        elif f.default is not MISSING:
            out.append((name, lambda v=f.default: v))
        else:
            raise ValueError(f"run catalog has no column for {name}")
    return out


def catalog_signature(text: str | None) -> tuple:
    """A catalog row's sidecar signature, as RunMeta.signature holds it."""
    if not text:
        return ()
    return tuple(tuple(s) if s is not None else None for s in orjson.loads(text))


_NOT_PLAIN = {
    "config",
    "summary",
    "run_json_source",
    "meta_signature",
    "tags",
    "final_keys",
    "path",
    "root",
    "real_path",
}


def _final_keys(r: dict[str, Any]) -> tuple[str, ...] | None:
    # Only as the recorder's own finish wrote it: `crashed` (an import) or `running` (a
    # resumed or killed run) say nothing about whether the summary caught the last rows.
    keys = r.get(layout.SUMMARY_FINAL)
    if r.get("state") not in ("finished", "failed") or not isinstance(keys, list):
        return None
    return tuple(k for k in keys if isinstance(k, str))


def _str(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def known_runtime(run_json: dict[str, Any], summary: Any) -> float | None:
    """The longest the run is known to have run: run.json's `runtime` or the summary's `_runtime`.

    run.json's runtime is rewritten with each heartbeat (every 5 s) and at finish, the
    summary with the logged rows; a run killed between heartbeats has a run.json runtime
    from its last beat (0.2 s for one killed after 2.2 s) while its summary knows better.
    """
    written = _num(run_json.get("runtime"))
    logged = _num(summary.get("_runtime")) if isinstance(summary, dict) else None
    known = [v for v in (written, logged) if v is not None and math.isfinite(v)]
    return max(known) if known else written


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _dt(v: Any) -> dt.datetime | None:
    t = parse_time(v)
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC)


def flatten(value: dict[str, Any], prefix: str, out: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """{"a": {"b": 1}} -> {prefix + "a.b": 1}; lists and deeper nests stay whole."""
    for k, v in value.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and depth < 16:
            flatten(v, key + ".", out, depth + 1)
        else:
            out[key] = v
    return out


BASE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("project", pa.string()),
    ("name", pa.string()),
    ("group", pa.string()),
    ("job_type", pa.string()),
    ("tags", pa.list_(pa.string())),
    ("notes", pa.string()),
    ("state", pa.string()),
    ("state_reason", pa.string()),
    ("recorded_state", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("heartbeat_at", pa.timestamp("us", tz="UTC")),
    ("finished_at", pa.timestamp("us", tz="UTC")),
    ("runtime", pa.float64()),
    ("exit_code", pa.int64()),
    ("host", pa.string()),
    ("user", pa.string()),
    ("pid", pa.int64()),
    ("git_commit", pa.string()),
    ("git_branch", pa.string()),
    ("git_dirty", pa.bool_()),
    ("rank", pa.int64()),
    ("local_rank", pa.int64()),
    ("world_size", pa.int64()),
    ("error", pa.string()),
    ("path", pa.string()),
    ("root", pa.string()),
    ("config", pa.string()),
    ("summary", pa.string()),
    ("final_keys", pa.list_(pa.string())),
    ("final_from_summary", pa.bool_()),
]


def _json_text(v: Any) -> str:
    try:
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(v)


def _typed_column(values: list[Any]) -> pa.Array:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return column(values, pa.bool_())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) and -(2**63) <= v < 2**63 for v in present):
            return column(values, pa.int64())
        return column(values, pa.float64())
    return column([None if v is None else (v if isinstance(v, str) else _json_text(v)) for v in values], pa.string())


def summary_value(v: Any) -> Any:
    return _NONFINITE.get(v, v) if isinstance(v, str) else v


def runs_arrow(infos: list[RunInfo]) -> pa.Table:
    """The Arrow table behind the `runs` view (see the module docstring for columns)."""
    cols: dict[str, list[Any]] = {name: [] for name, _ in BASE_COLUMNS}
    flat_rows: list[dict[str, Any]] = []
    keys: set[str] = set()
    for info in infos:
        cols["id"].append(info.id)
        cols["project"].append(info.project)
        cols["name"].append(info.name)
        cols["group"].append(info.group)
        cols["job_type"].append(info.job_type)
        cols["tags"].append(list(info.tags))
        cols["notes"].append(info.notes)
        cols["state"].append(info.state)
        cols["state_reason"].append(info.state_reason)
        cols["recorded_state"].append(info.recorded_state)
        cols["created_at"].append(info.created_at)
        cols["heartbeat_at"].append(info.heartbeat_at)
        cols["finished_at"].append(info.finished_at)
        cols["runtime"].append(info.runtime)
        cols["exit_code"].append(info.exit_code)
        cols["host"].append(info.host)
        cols["user"].append(info.user)
        cols["pid"].append(info.pid)
        cols["git_commit"].append(info.git_commit)
        cols["git_branch"].append(info.git_branch)
        cols["git_dirty"].append(info.git_dirty)
        cols["rank"].append(info.rank)
        cols["local_rank"].append(info.local_rank)
        cols["world_size"].append(info.world_size)
        cols["error"].append(info.error)
        cols["path"].append(str(info.path))
        cols["root"].append(str(info.root))
        cols["config"].append(_json_text(info.config))
        cols["summary"].append(_json_text(info.summary))
        cols["final_keys"].append(None if info.final_keys is None else list(info.final_keys))
        cols["final_from_summary"].append(info.final_from_summary)
        flat: dict[str, Any] = {}
        flatten(info.config, "config.", flat)
        summary_flat = flatten(info.summary, "summary.", {})
        flat.update({k: summary_value(v) for k, v in summary_flat.items()})
        flat_rows.append(flat)
        keys.update(flat)
    arrays = [column(cols[name], typ) for name, typ in BASE_COLUMNS]
    names = [name for name, _ in BASE_COLUMNS]
    base = set(names)
    for key in sorted(k for k in keys if k not in base):
        arrays.append(_typed_column([row.get(key) for row in flat_rows]))
        names.append(key)
    return pa.Table.from_arrays(arrays, names=names)
