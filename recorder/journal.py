"""How the recorder spells what it writes, for writers and readers alike.

The file contract has two modules: `recorder.layout` says where every file is and what
it is called; this one says how lines and values inside them are encoded:

- journal rows (history, system, text, media index): one JSON object per line, NaN
  and +-inf kept apart under `_nf` because JSON has neither;
- the media index's columns and Arrow types (pyarrow is imported only when a table is built);
- console log lines: `2026-11-29T14:08:12.123Z O text` (UTC with milliseconds, O/E);
- ISO-8601 times in the JSON sidecars: UTC, microseconds, Z;
- what the JSON sidecars' fields mean where a reader must decide something: which
  define_metric definition governs a key, metrics.json's key -> column map, when a
  heartbeat says its process is gone (and so a run's state, for the viewer and
  `recorder.Api` alike), the artifact store's version, alias and usage records, and
  what the user's edits.json changes of run.json and summary.json (written by
  recorder.user_edits).

Only the standard library and orjson at import time, so training code and the viewer import
it cheaply.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from recorder import layout

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}


def encode_row(row: dict[str, Any]) -> bytes:
    """One journal line; a leading newline fences off any line torn by a failed write."""
    line = orjson.dumps(row)
    if line.find(b"null") >= 0:
        line = orjson.dumps(_with_nonfinite_marked(row))
    return b"\n" + line


def _with_nonfinite_marked(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN/inf (orjson writes null); keep them apart so a reader restores them.
    clean: dict[str, Any] = {}
    marked: dict[str, str] = {}
    for k, v in row.items():
        if type(v) is float and not math.isfinite(v):
            marked[k] = "nan" if v != v else _NONFINITE[v]
        else:
            clean[k] = v
    if marked:
        clean[layout.JOURNAL_NONFINITE_KEY] = marked
    return clean


def decode_journal(data: bytes) -> list[dict[str, Any]]:
    """Rows of a journal; torn or garbled lines (a crash mid-write) are skipped."""
    rows = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        marked = row.pop(layout.JOURNAL_NONFINITE_KEY, None)
        if isinstance(marked, dict):
            for k, v in marked.items():
                row[k] = float(v) if v in ("nan", "inf", "-inf") else None
        rows.append(row)
    return rows


# -- the media index ----------------------------------------------------------------

# column -> Arrow type name; docs/format.md "media" documents each one.
MEDIA_INDEX_COLUMNS = {
    "run_id": "dictionary<string>",
    "_step": "int64",
    "_timestamp": "double",
    "key": "string",
    "kind": "string",
    "idx": "int64",
    "path": "string",
    "format": "string",
    "width": "int64",
    "height": "int64",
    "caption": "string",
    "bins": "list<double>",
    "counts": "list<double>",
    "nrows": "int64",
    "columns": "list<string>",
    "chart": "string",
    "spec": "string",
}


def media_index_schema() -> Any:
    """The media index's pyarrow schema (as written in its Parquet parts)."""
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "double": pa.float64(),
        "string": pa.string(),
        "list<double>": pa.list_(pa.float64()),
        "list<string>": pa.list_(pa.string()),
        "dictionary<string>": pa.dictionary(pa.int32(), pa.string()),
    }
    return pa.schema([pa.field(name, types[t]) for name, t in MEDIA_INDEX_COLUMNS.items()])


def media_index_table(records: list[dict[str, Any]], run_id: str) -> Any:
    """Media index records (decoded journal rows) as a pyarrow Table of the index schema;
    raises pyarrow's errors when a record holds a value its column cannot take."""
    import pyarrow as pa

    s = media_index_schema()
    n = len(records)
    arrays = []
    for field in s:
        if field.name == layout.RUN_ID_COLUMN:
            arrays.append(pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([run_id])))
        else:
            arrays.append(pa.array([r.get(field.name) for r in records], field.type))
    return pa.Table.from_arrays(arrays, schema=s)


# -- console log lines ----------------------------------------------------------

_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([OE]) (.*)$", re.DOTALL)


def format_log_time(t: float) -> str:
    ms = int((t % 1.0) * 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{min(ms, 999):03d}Z"


def resolve_cr(text: str) -> str:
    """What a terminal shows of a line: the text after its last carriage return.

    A '\r' that ends the text (as in "50%\r\n") returns the cursor without overwriting
    anything, so it is ignored."""
    body = text.rstrip("\r")
    return body[body.rfind("\r") + 1 :]


def parse_log_line(line: str) -> tuple[str | None, str, str]:
    """(ISO time or None, 'O' or 'E', text) of one output.log line.

    Lines not in the format (a log written by something else, a torn last line) come
    back whole as stdout text with no time, so a reader never has to reject a line.
    """
    if line.endswith("\n"):
        line = line[:-1]
    m = _LINE_RE.match(line)
    if m is None:
        return None, "O", line
    return m.group(1), m.group(2), m.group(3)


# -- times in the JSON sidecars -----------------------------------------------------

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_now(t: float | None = None) -> str:
    """`t` (default: now), seconds since the epoch, as e.g. 2026-11-29T16:38:09.123456Z."""
    t = time.time() if t is None else t
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime(FORMAT)


def parse_iso(value: Any) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (ours, or any with or without a zone,
    taken as UTC when it has none); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.timestamp()


# -- metrics.json -------------------------------------------------------------------------


def definition_for(key: str, definitions: Sequence[tuple[str, str | None]]) -> int | None:
    """Index of the define_metric definition, as (name, step_metric) in the order given,
    that applies to logged `key`, or None.

    The one rule for writers and readers: an exact name wins; else the latest glob
    (`*`, `?`, `[`) that matches, except that a step metric is never governed by the
    glob it is the x-axis of (that would plot it against itself).
    """
    for i, (name, _) in enumerate(definitions):
        if name == key:
            return i
    for i in range(len(definitions) - 1, -1, -1):
        name, step_metric = definitions[i]
        if any(ch in name for ch in "*?[") and fnmatch.fnmatchcase(key, name):
            return None if step_metric == key else i
    return None


def metric_columns(metrics_json: Any) -> dict[str, str]:
    """The `"columns"` map of a metrics.json (logged key -> Parquet column, only where they
    differ, e.g. `Loss` -> `Loss#2`); {} for anything else."""
    columns = metrics_json.get("columns") if isinstance(metrics_json, dict) else None
    if not isinstance(columns, dict):
        return {}
    return {k: c for k, c in columns.items() if isinstance(k, str) and isinstance(c, str) and k and c}


# -- heartbeats (run.json, sweep agents) ---------------------------------------------------------

# Seconds after which a heartbeat written every 5 s counts as stopped (six missed beats).
HEARTBEAT_STALE_S = 30.0
# Process start times come from clock ticks since boot; allow this much disagreement
# with the wall clock the writer read when it started.
_START_SLACK_S = 2.0
_HOSTNAME: str | None = None


def this_host() -> str:
    """The name writers put under "host" and readers compare it with."""
    global _HOSTNAME
    if _HOSTNAME is None:
        # uname's nodename is gethostname() without importing socket.
        _HOSTNAME = os.uname().nodename if hasattr(os, "uname") else __import__("socket").gethostname()
    return _HOSTNAME


def process_alive(pid: int, started_before: float | None) -> bool:
    """True when a live, non-zombie process `pid` exists that started before `started_before`
    (a pid reused by a newer process does not count)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_before is None or proc.create_time() <= started_before + _START_SLACK_S
    except Exception:  # NoSuchProcess, AccessDenied on odd platforms, psutil missing
        return False


def heartbeat_check(
    record: dict[str, Any],
    started_key: str,
    stale_s: float = HEARTBEAT_STALE_S,
    now: float | None = None,
    hostname: str | None = None,
    pid_alive: Callable[[int, float | None], bool] | None = None,
) -> tuple[bool, str]:
    """(gone, why) for the process that keeps `record` beating (`heartbeat_at`, `host`, `pid`,
    and its start time under `started_key`).

    Gone when the heartbeat (or, lacking one, the start time) is older than `stale_s`, or,
    when `host` is this machine, when no process `pid` that started before it is alive.
    """
    now = time.time() if now is None else now
    started = parse_iso(record.get(started_key))
    beat = parse_iso(record.get("heartbeat_at"))
    if beat is None:
        beat = started
    if beat is None:
        return True, "no heartbeat time"
    age = now - beat
    if age > stale_s:
        return True, f"the last heartbeat was {age:.0f} s ago"
    pid = record.get("pid")
    local = hostname if hostname is not None else this_host()
    if record.get("host") == local and isinstance(pid, int) and not isinstance(pid, bool):
        if not (pid_alive or process_alive)(pid, started):
            return True, f"process {pid} on this host is gone"
        return False, f"process {pid} is alive; heartbeat {age:.0f} s ago"
    return False, f"heartbeat {age:.0f} s ago"


def run_state(
    run_json: Any, now: float | None = None, hostname: str | None = None, pid_alive: Any = None
) -> tuple[str, str]:
    """(state, why) of a run from its run.json, for the viewer and recorder.Api alike: as
    written (`crashed` too: `loupe import` writes it for a torn source log), but `running`
    is `crashed` once heartbeat_check finds its process gone, and
    `unknown` for a missing or unreadable run.json or a state this reader does not know."""
    written = run_json.get("state") if isinstance(run_json, dict) else None
    if written in ("finished", "failed", "crashed"):
        return written, f"recorded as {written}"
    if written != "running":
        return "unknown", f"run.json has state {written!r}" if run_json else "run.json is missing or unreadable"
    gone, why = heartbeat_check(run_json, "created_at", HEARTBEAT_STALE_S, now, hostname, pid_alive)
    return ("crashed", f"running, but {why}") if gone else ("running", why)


def sweep_agent_stale_s() -> float:
    """A sweep agent whose heartbeat is older than this is dead (LOUPE_SWEEP_STALE_S, default 30 s)."""
    try:
        return float(os.environ.get("LOUPE_SWEEP_STALE_S", str(HEARTBEAT_STALE_S)))
    except ValueError:
        return HEARTBEAT_STALE_S


def sweep_agent_gone(record: Any, now: float | None = None) -> bool:
    """Whether the sweep agent of heartbeat `record` (agents/<id>.json; None when missing or
    unreadable) is gone: stopped, stale, or its process on this host has exited."""
    if not isinstance(record, dict):
        return True
    if record.get("state") == "stopped":
        return True
    return heartbeat_check(record, "started_at", sweep_agent_stale_s(), now)[0]


# -- JSON files ------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A JSON file's value; raises OSError or ValueError (orjson's error is one)."""
    return orjson.loads(Path(path).read_bytes())


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON file holding an object, or None when it is missing, damaged or not an object."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- user edits (edits.json) -------------------------------------------------------------------


def read_edits(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's edits.json; {} when there is none or it cannot be read."""
    return read_json_object(Path(run_dir) / layout.EDITS_FILE) or {}


def apply_edits(
    run: dict[str, Any], summary: dict[str, Any], edits: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """run.json and summary.json as the user sees them: `edits` over copies of them (the
    same objects when there are no edits: callers never mutate them). A field of the wrong
    type (a hand edit) is ignored; a summary key edited to null is removed."""
    if not edits:
        return run, summary
    run = dict(run)
    if isinstance(edits.get("name"), str) and edits["name"]:
        run["name"] = edits["name"]
    if isinstance(edits.get("tags"), list):
        run["tags"] = [t for t in edits["tags"] if isinstance(t, str)]
    if isinstance(edits.get("notes"), str):
        run["notes"] = edits["notes"]
    changed = edits.get("summary")
    if not isinstance(changed, dict) or not changed:
        return run, summary
    summary = dict(summary)
    for key, value in changed.items():
        if value is None:
            summary.pop(key, None)
        else:
            summary[key] = value
    final = run.get(layout.SUMMARY_FINAL)
    if isinstance(final, list):
        # An edited value is no longer the last one logged.
        run[layout.SUMMARY_FINAL] = [k for k in final if k not in changed]
        if any(k in final for k in changed):
            run[layout.SUMMARY_FINAL_COMPLETE] = False
    return run, summary


# -- artifact records (docs/artifacts.md) ------------------------------------------------------

ARTIFACT_ROLES = ("input", "output")


def read_version_record(collection_dir: Path, version: int) -> dict[str, Any]:
    """One version's record (manifest or registry link); raises OSError or ValueError when
    it is missing or damaged, so a garbage collector never guesses."""
    path = layout.version_file(collection_dir, version)
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return data


def read_aliases(collection_dir: Path) -> dict[str, int]:
    """A collection's custom aliases (alias -> version); {} when none or damaged."""
    data = read_json_object(Path(collection_dir) / layout.ARTIFACT_ALIASES_FILE) or {}
    return {str(k): v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def aliases_by_version(collection_dir: Path, versions: list[int] | None = None) -> dict[int, list[str]]:
    """Version -> its aliases, `latest` (never stored: the highest version) first."""
    versions = layout.listed_versions(collection_dir) if versions is None else versions
    out: dict[int, list[str]] = {v: [] for v in versions}
    if versions:
        out[max(versions)].append(layout.ARTIFACT_LATEST)
    for alias, v in sorted(read_aliases(collection_dir).items()):
        if v in out:
            out[v].append(alias)
    return out


def read_collection(collection_dir: Path, errors: list[str] | None = None) -> list[dict[str, Any]]:
    """Every readable version record of a collection, oldest first, each with `version` and
    `aliases` set; a damaged record is left out and described in `errors` if given."""
    nums = layout.listed_versions(collection_dir)
    aliases = aliases_by_version(collection_dir, nums)
    out = []
    for v in nums:
        try:
            rec = read_version_record(collection_dir, v)
        except (OSError, ValueError) as exc:
            if errors is not None:
                errors.append(f"{layout.version_file(collection_dir, v)}: {exc}")
            continue
        out.append({**rec, "version": v, "aliases": aliases.get(v, [])})
    return out


def read_usage(artifacts_dir: Path) -> list[dict[str, Any]]:
    """usage.jsonl's events `{name, version, role, run_id, run_project, at}`; lines torn by a
    crash or missing a field are skipped."""
    try:
        data = (Path(artifacts_dir) / layout.ARTIFACT_USAGE_FILE).read_bytes()
    except OSError:
        return []
    return [
        ev
        for ev in decode_journal(data)
        if isinstance(ev.get("name"), str)
        and isinstance(ev.get("version"), int)
        and ev.get("role") in ARTIFACT_ROLES
        and isinstance(ev.get("run_id"), str)
    ]


def read_run_artifacts(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """A run's artifacts.json: {"inputs", "outputs", "links"}, each a list of items
    `{project, name, version, type, digest, at}`; empty lists when none or damaged."""
    out: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": [], "links": []}
    data = read_json_object(Path(run_dir) / layout.RUN_ARTIFACTS_FILE) or {}
    for key in out:
        items = data.get(key)
        if isinstance(items, list):
            out[key] = [i for i in items if isinstance(i, dict)]
    return out
