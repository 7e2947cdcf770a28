"""Who produced and who consumed each artifact version.

Two records, both written by the process that logs or uses the artifact:

* `<root>/<project>/_artifacts/usage.jsonl`: one JSON line per event
  `{"name", "version", "role": "input"|"output", "run_id", "run_project", "at"}`, appended
  with one O_APPEND write preceded by a newline (like the history journal: a line torn by
  a crash does not parse and is skipped; the lines around it are intact). The producer is
  also in the version's manifest (`producer`).
* `<run dir>/artifacts.json`: `{"inputs": [...], "outputs": [...], "links": [...]}` for the
  viewer's run detail, each item `{project, name, version, type, digest, at}`; rewritten
  whole (temp file + rename) under a lock, so ranks of one run do not lose each other's.

Both are read with recorder.journal.read_usage / read_run_artifacts (the viewer's too).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from recorder import layout
from recorder.atomic_json import locked, write_json
from recorder.journal import encode_row, read_run_artifacts

_RUN_LOCK = ".artifacts.lock"


def append_usage(artifacts_dir: Path, event: dict[str, Any]) -> None:
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    line = encode_row(event)
    fd = os.open(artifacts_dir / layout.ARTIFACT_USAGE_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)  # one write: concurrent appenders never interleave inside a line
    finally:
        os.close(fd)


def _run_lock(run_dir: Path) -> contextlib.AbstractContextManager[None]:
    return locked(run_dir / _RUN_LOCK)


def record_in_run(run_dir: Path, kind: str, item: dict[str, Any]) -> None:
    """Add `item` to the run's `kind` list ('inputs', 'outputs' or 'links') once."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    key = ("project", "name", "version", "target")
    with _run_lock(run_dir):
        data = read_run_artifacts(run_dir)
        items = data[kind]
        if any(all(i.get(k) == item.get(k) for k in key) for i in items):
            return
        items.append(item)
        write_json(run_dir / layout.RUN_ARTIFACTS_FILE, data, fsync=True)
