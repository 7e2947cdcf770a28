"""Import a batch of source runs one by one: a bad one is reported and skipped, the rest go on.

Every importer hands this module a list of SourceRun objects (one per source run found)
and the failures its discovery already met (a missing path, a folder with no runs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from recorder import layout
from recorder.atomic_json import read_json
from recorder.importers.import_report import (
    FAILED,
    IMPORTED,
    UNCHANGED,
    UPDATED,
    ImportReport,
    Outcome,
    SourceError,
)
from recorder.importers.imported_run import ImportedRun, SourceInfo, import_run_id, source_hash

# progress(bytes_done, bytes_total, what): called as sources are read.
Progress = Callable[[int, int, str], None]
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{12})$")


class SourceRun(Protocol):
    path: str  # named in error lines
    size: int  # bytes to read, for progress

    def describe(self) -> SourceInfo: ...

    def write(self, run: ImportedRun, advance: Callable[[int], None]) -> None: ...


def check_project(project: str) -> str:
    """A source's project name made into a valid Loupe project name."""
    clean = re.sub(r"[^A-Za-z0-9_.\-]", "-", project).strip("-._")[:128]
    return clean or "default"


class _ExistingRuns:
    """Runs under the root by the hash suffix of their id (imported runs end in their source's hash)."""

    def __init__(self, root: Path) -> None:
        self.by_hash: dict[str, list[Path]] = {}
        for project in layout.listed_names(root, lambda n: layout.check_name(n, "project")):
            for name in layout.listed_names(root / project, lambda n: layout.check_name(n, "run id")):
                m = _HASH_SUFFIX.search(name)
                if m:
                    self.by_hash.setdefault(m.group(1), []).append(root / project / name)

    def find(self, info: SourceInfo) -> list[Path]:
        out = []
        for path in self.by_hash.get(source_hash(info), []):
            source = _source_of(path)
            if source.get("tool") == info.tool and source.get("key") == info.key:
                out.append(path)
        return out


def _source_of(run_dir: Path) -> dict[str, Any]:
    try:
        data = read_json(run_dir / layout.RUN_FILE)
    except Exception:
        return {}
    source = data.get("source") if isinstance(data, dict) else None
    return source if isinstance(source, dict) else {}


def run_batch(
    tool: str,
    sources: list[SourceRun],
    failures: list[Outcome],
    root: str | os.PathLike[str],
    project: str | None,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    report = ImportReport(tool, list(failures))
    root_path = Path(root)
    if project is not None:
        layout.check_name(project, "project name")
    root_path.mkdir(parents=True, exist_ok=True)
    existing = _ExistingRuns(root_path)
    total = sum(s.size for s in sources)
    done = 0
    current = ""

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(min(done, total), total, current)

    for source in sources:
        current = source.path
        before = done
        report.outcomes.append(_import_one(source, root_path, project, force, existing, advance))
        # A source that stopped early (unchanged, failed) still counts as read.
        advance(before + source.size - done)
    return report


def _import_one(
    source: SourceRun,
    root: Path,
    project: str | None,
    force: bool,
    existing: _ExistingRuns,
    advance: Callable[[int], None],
) -> Outcome:
    run: ImportedRun | None = None
    try:
        info = source.describe()
        target_project = project or check_project(info.project or info.tool)
        earlier = existing.find(info)
        same_project = [p for p in earlier if p.parent.name == target_project]
        target = same_project[0] if same_project else root / target_project / import_run_id(info)
        if same_project and not force and _source_of(target).get("fingerprint") == info.fingerprint:
            return Outcome(
                source.path, UNCHANGED, target, reason="unchanged since the last import (--force imports it again)"
            )
        run = ImportedRun(target, info, replaces=earlier)
        source.write(run, advance)
        run.commit()
        return Outcome(source.path, UPDATED if earlier else IMPORTED, target, steps=run.steps, state=run.state)
    except SourceError as exc:
        reason = str(exc)
    except OSError as exc:
        reason = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    except Exception as exc:  # a reader bug or a malformed file must not stop the batch
        reason = f"{type(exc).__name__}: {exc}"
    if run is not None:
        run.abort()
    first = reason.strip().splitlines()[0] if reason.strip() else "failed"
    return Outcome(source.path, FAILED, reason=first)
