"""MLflow file stores (`mlruns/`) as Loupe runs, read with MLflow's own FileStore.

    experiment          -> project (unless --project is given)
    run name, run id    -> name; the run id identifies the source run
    params              -> config (numbers written as numbers: MLflow keeps every param as text)
    metrics             -> history by step (a key logged twice at one step: the later value);
                           MLflow's system metrics (`system/...`) -> the system stream
    tags                -> user tags as `key=value` tags, mlflow.note.content -> notes,
                           mlflow.user / mlflow.source.name / mlflow.source.git.commit -> run.json,
                           mlflow.parentRunId -> group (nested runs group under their parent)
    status              -> FINISHED: finished; FAILED, KILLED: failed; RUNNING, SCHEDULED: crashed
    artifacts           -> files/ (only when asked: artifacts=True / --artifacts)

Deleted experiments and runs are left out. MLflow 3 keeps its file store in maintenance
mode behind MLFLOW_ALLOW_FILE_STORE; it is set only while the store is opened. Opening a
store that has no `.trash/` folder makes MLflow create an empty one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recorder.importers.import_report import FAILED, Outcome, SourceError
from recorder.importers.imported_run import ImportedRun, SourceInfo, fingerprint

EXTRA_HINT = "pip install 'loupe[mlflow]'"
_ALLOW = "MLFLOW_ALLOW_FILE_STORE"
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_STATES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "failed"}
_SYSTEM_PREFIX = "system/"
_SYSTEM_NAMES = {
    "cpu_utilization_percentage": "cpu.percent",
    "system_memory_usage_percentage": "memory.percent",
    "system_memory_usage_megabytes": "memory.used_mb",
    "network_receive_megabytes": "network.recv_mb",
    "network_transmit_megabytes": "network.sent_mb",
}
_SYSTEM_GPU = re.compile(
    r"^gpu_(\d+)_(utilization_percentage|memory_usage_percentage|memory_usage_megabytes|power_usage_watts)$"
)
_GPU_NAMES = {
    "utilization_percentage": "util_percent",
    "memory_usage_percentage": "memory_percent",
    "memory_usage_megabytes": "memory_used_mb",
    "power_usage_watts": "power_w",
}


def store_module() -> Any:
    """MLflow's file store, or one ImportError saying how to get it."""
    try:
        from mlflow.store.tracking import file_store
    except ImportError:
        raise ImportError(f"importing MLflow runs needs MLflow: {EXTRA_HINT}") from None
    return file_store


@contextmanager
def _file_store_allowed() -> Iterator[None]:
    old = os.environ.get(_ALLOW)
    os.environ[_ALLOW] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_ALLOW, None)
        else:
            os.environ[_ALLOW] = old


def _is_store(path: Path) -> bool:
    # A store's experiments are folders with a meta.yaml; never let MLflow create a store.
    try:
        return any((d / "meta.yaml").is_file() for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError:
        return False


def find_runs(paths: list[str | os.PathLike[str]], artifacts: bool = False) -> tuple[list[MlflowSource], list[Outcome]]:
    from mlflow.entities import ViewType

    sources: list[MlflowSource] = []
    failures: list[Outcome] = []
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            failures.append(Outcome(str(given), FAILED, reason="no such folder"))
            continue
        if not _is_store(root):
            failures.append(
                Outcome(str(given), FAILED, reason="not an MLflow file store (no experiment with a meta.yaml)")
            )
            continue
        try:
            with _file_store_allowed():
                store = store_module().FileStore(str(root.resolve()))
            experiments = {e.experiment_id: e.name for e in store.search_experiments(view_type=ViewType.ACTIVE_ONLY)}
            found = 0
            token = None
            while True:
                page = store.search_runs(
                    list(experiments), None, ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
                )
                for run in page:
                    run_dir = root / run.info.experiment_id / run.info.run_id
                    sources.append(
                        MlflowSource(store, run, experiments.get(run.info.experiment_id), run_dir, artifacts)
                    )
                    found += 1
                token = page.token
                if not token:
                    break
        except Exception as exc:
            failures.append(Outcome(str(given), FAILED, reason=f"cannot read the MLflow store: {exc}".splitlines()[0]))
            continue
        if not found:
            failures.append(Outcome(str(given), FAILED, reason="no runs in this MLflow store"))
    return sources, failures


def param_value(text: str) -> Any:
    """A param as logged: numbers back to numbers, everything else the text MLflow kept."""
    if _NUMBER.match(text):
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    return text


def _system_name(key: str) -> str:
    name = key[len(_SYSTEM_PREFIX) :]
    gpu = _SYSTEM_GPU.match(name)
    if gpu:
        return f"gpu.{gpu.group(1)}.{_GPU_NAMES[gpu.group(2)]}"
    return _SYSTEM_NAMES.get(name, name)


def _files_under(directory: Path) -> list[list[Any]]:
    out = []
    for d, _, files in os.walk(directory):
        for f in files:
            p = Path(d) / f
            try:
                st = p.stat()
            except OSError:
                continue
            out.append([str(p.relative_to(directory)), st.st_size, st.st_mtime_ns])
    return sorted(out)


class MlflowSource:
    tool = "mlflow"

    def __init__(self, store: Any, run: Any, experiment: str | None, run_dir: Path, artifacts: bool) -> None:
        self.store = store
        self.run = run
        self.experiment = experiment
        self.dir = run_dir
        self.path = str(run_dir)
        self.artifacts = artifacts
        metrics = run_dir / "metrics"
        self.size = sum(f[1] for f in _files_under(metrics)) if metrics.is_dir() else 0

    def describe(self) -> SourceInfo:
        info = self.run.info
        files = [f for f in _files_under(self.dir) if self.artifacts or not f[0].startswith("artifacts" + os.sep)]
        return SourceInfo(
            tool=self.tool,
            key=info.run_id,
            source_id=info.run_id,
            path=self.path,
            fingerprint=fingerprint([self.artifacts, files]),
            start_time=(info.start_time or 0) / 1000.0,
            project=self.experiment,
            name=info.run_name or None,
            extra={"experiment_id": info.experiment_id, "tags": dict(self.run.data.tags)},
        )

    def write(self, run: ImportedRun, advance: Callable[[int], None]) -> None:
        info = self.run.info
        data = self.run.data
        run.config.update({k: param_value(v) for k, v in data.params.items()})
        self._tags(run, data.tags)
        rows: dict[int, dict[str, Any]] = {}
        times: dict[int, float] = {}
        system: dict[float, dict[str, float]] = {}
        for key in sorted(data.metrics):
            history = sorted(self.store.get_metric_history(info.run_id, key), key=lambda m: (m.step, m.timestamp))
            for m in history:
                t = m.timestamp / 1000.0
                if key.startswith(_SYSTEM_PREFIX):
                    system.setdefault(t, {})[_system_name(key)] = float(m.value)
                    continue
                rows.setdefault(m.step, {})[key] = float(m.value)
                times[m.step] = min(times.get(m.step, t), t)
        for step in sorted(rows):
            run.log_row(step, rows[step], times[step])
        for t in sorted(system):
            run.log_system(t, system[t])
        run.state = _STATES.get(info.status, "crashed")
        if run.state != "crashed":
            run.exit_code = 0 if run.state == "finished" else 1
            if info.end_time:
                run.end_time = info.end_time / 1000.0
        advance(self.size)
        if self.artifacts:
            self._copy_artifacts(run, info.artifact_uri)

    def _tags(self, run: ImportedRun, tags: dict[str, str]) -> None:
        meta = run.meta
        for tag, field in (("mlflow.note.content", "notes"), ("mlflow.user", "user"), ("mlflow.runName", "name")):
            if tags.get(tag):
                meta[field] = tags[tag]
        if tags.get("mlflow.source.name"):
            meta["argv"] = [tags["mlflow.source.name"]]
        if tags.get("mlflow.source.git.commit"):
            meta["git"] = {"commit": tags["mlflow.source.git.commit"], "remote": tags.get("mlflow.source.git.repoURL")}
        if tags.get("mlflow.parentRunId"):
            meta["group"] = tags["mlflow.parentRunId"]
        meta["tags"] = [f"{k}={v}" if v else k for k, v in sorted(tags.items()) if not k.startswith("mlflow.")]

    def _copy_artifacts(self, run: ImportedRun, uri: str | None) -> None:
        from urllib.parse import unquote, urlparse

        parsed = urlparse(uri or "")
        if parsed.scheme not in ("", "file"):
            raise SourceError(f"artifacts are at {uri!r}, not on this machine's disk; import without --artifacts")
        local = Path(unquote(parsed.path)) if parsed.scheme else Path(uri or "")
        if local.is_dir():
            run.copy_tree(local)
