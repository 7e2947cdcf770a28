"""TensorBoard event-file folders as Loupe runs, read with the `tensorboard` package.

Every folder under PATH that holds `events.out.tfevents.*` files becomes a run (as
TensorBoard itself shows them), read with TensorBoard's own loader
(`plugin_event_accumulator`, which also turns old-style summaries into tensors and
drops the data of an abandoned restart), keeping every event:

    scalars      history columns at their step; the row's time is the step's first event
    histograms   Loupe histograms as TensorBoard's reader gives them (over 512 buckets merged)
    images       Loupe images (each image of an event)
    text         text values in history
    hparams      config; the metric values of an hparams session go to summary

`SummaryWriter.add_hparams` (torch, tensorboardX) writes the hparams into a child
folder of the run; such a folder, holding only hparams and their metrics, is merged into
its parent's run instead of becoming a run of its own. TensorBoard records no run state:
imported runs are `finished`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.importers.import_report import FAILED, Outcome, SourceError
from recorder.importers.imported_run import ImportedRun, SourceInfo, fingerprint

EXTRA_HINT = "pip install 'loupe[tensorboard]'"
_EVENT_PREFIX = "events.out.tfevents"
_HPARAMS = "hparams"
_VERSIONS = ("brain.Event:1", "brain.Event:2")


def reader_module() -> Any:
    """TensorBoard's event accumulator, or one ImportError saying how to get it."""
    try:
        from tensorboard.backend.event_processing import plugin_event_accumulator
    except ImportError:
        raise ImportError(f"importing TensorBoard logs needs the tensorboard package: {EXTRA_HINT}") from None
    return plugin_event_accumulator


def _event_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.name.startswith(_EVENT_PREFIX) and p.is_file())
    except OSError:
        return []


def _load(directory: Path) -> Any:
    pea = reader_module()
    keep_all = {pea.TENSORS: 0, pea.GRAPH: 0, pea.META_GRAPH: 0, pea.RUN_METADATA: 0}
    acc = pea.EventAccumulator(str(directory), size_guidance=keep_all)
    try:
        acc.Reload()
    except Exception as exc:
        raise SourceError(f"unreadable event file: {exc}") from None
    return acc


def _only_hparams(acc: Any) -> bool:
    plugins = set(acc.ActivePlugins())
    return _HPARAMS in plugins and plugins <= {_HPARAMS, "scalars"}


def find_runs(paths: list[str | os.PathLike[str]]) -> tuple[list[TensorBoardSource], list[Outcome]]:
    sources: list[TensorBoardSource] = []
    failures: list[Outcome] = []
    seen: set[str] = set()
    for given in paths:
        top = Path(given)
        if top.is_file() and top.name.startswith(_EVENT_PREFIX):
            top = top.parent
        if not top.is_dir():
            failures.append(Outcome(str(given), FAILED, reason="no such folder"))
            continue
        dirs = [Path(d) for d, _, files in os.walk(top) if any(f.startswith(_EVENT_PREFIX) for f in files)]
        if not dirs:
            failures.append(
                Outcome(str(given), FAILED, reason="no TensorBoard event files here (events.out.tfevents.*)")
            )
            continue
        in_batch = {os.path.realpath(d) for d in dirs}
        children: dict[str, list[Path]] = {}
        runs = []
        for d in sorted(dirs):
            parent = os.path.realpath(d.parent)
            if parent in in_batch and d != top:
                try:
                    if _only_hparams(_load(d)):
                        children.setdefault(parent, []).append(d)
                        continue
                except SourceError:
                    pass  # reported when it is imported as a run of its own
            runs.append(d)
        for d in runs:
            real = os.path.realpath(d)
            if real in seen:
                continue
            seen.add(real)
            name = d.relative_to(top).as_posix() if d != top else d.resolve().name
            sources.append(TensorBoardSource(d, name, children.get(real, [])))
    return sources, failures


class TensorBoardSource:
    tool = "tensorboard"

    def __init__(self, directory: Path, name: str, hparam_dirs: list[Path]) -> None:
        self.dir = directory
        self.path = str(directory)
        self.name = name
        self.hparam_dirs = hparam_dirs
        self.files = _event_files(directory) + [f for d in hparam_dirs for f in _event_files(d)]
        self.size = sum(f.stat().st_size for f in self.files)
        self._acc: Any = None

    def _check_files(self) -> None:
        """Each non-empty event file must start with a readable record naming a known version."""
        from tensorboard.backend.event_processing import event_file_loader

        for f in self.files:
            if f.stat().st_size == 0:
                continue  # a writer that never wrote
            first = next(iter(event_file_loader.EventFileLoader(str(f)).Load()), None)
            if first is None:
                raise SourceError(f"corrupt event file {f.name}: no readable record")
            version = first.file_version if first.HasField("file_version") else None
            if version is not None and version not in _VERSIONS:
                raise SourceError(f"unknown event file version {version!r} in {f.name}")

    def describe(self) -> SourceInfo:
        self._check_files()
        self._acc = _load(self.dir)
        try:
            start = float(self._acc.FirstEventTimestamp())
        except ValueError:
            raise SourceError("no events in the event files (empty)") from None
        stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in self.files]
        real = os.path.realpath(self.dir)
        return SourceInfo(
            tool=self.tool,
            key=real,
            source_id=self.name,
            path=self.path,
            fingerprint=fingerprint(stats),
            start_time=start,
            project=None,
            name=self.name,
        )

    def write(self, run: ImportedRun, advance: Callable[[int], None]) -> None:
        from recorder.importers.tensorboard_tags import TagReader

        reader = TagReader(run)
        reader.read(self._acc)
        for d in self.hparam_dirs:
            reader.read_hparams_session(_load(d))
        reader.finish()
        run.state = "finished"
        advance(self.size)
