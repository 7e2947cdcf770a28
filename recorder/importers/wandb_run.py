"""wandb runs (0.31 offline `offline-run-*` and synced `run-*` folders) as Loupe runs.

A run folder holds `run-<id>.wandb`, a transaction log (framing in wandb_log.py) whose
records are protobuf `Record`s from wandb's own definitions (`wandb.proto.
wandb_internal_pb2`, the `loupe[wandb]` extra), read through wandb_view.py's fast view
and handled in wandb_records.py; and `files/` (requirements, console log, media), copied
to the Loupe run's files/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

from recorder.importers.import_report import FAILED, Outcome, SourceError
from recorder.importers.imported_run import ImportedRun, SourceInfo, fingerprint
from recorder.importers.wandb_log import WandbLog

EXTRA_HINT = "pip install 'loupe[wandb]'"
# Progress is reported every so many records.
_PROGRESS_EVERY = 4096


def protobuf_module() -> Any:
    """wandb's message definitions, or one ImportError saying how to get them."""
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise ImportError(f"importing wandb runs needs wandb's message definitions: {EXTRA_HINT}") from None
    return wandb_internal_pb2


def find_runs(paths: list[str | os.PathLike[str]]) -> tuple[list[WandbSource], list[Outcome]]:
    """Every `.wandb` log under the given files/folders (each once), and the paths with none."""
    sources: list[WandbSource] = []
    failures: list[Outcome] = []
    seen: set[str] = set()
    for given in paths:
        p = Path(given)
        if p.is_file():
            found = [p]
        elif p.is_dir():
            found = sorted(
                Path(d) / f
                for d, _, files in os.walk(p)  # symlinked folders (latest-run) are not entered
                for f in files
                if f.endswith(".wandb")
            )
            if not found:
                failures.append(Outcome(str(p), FAILED, reason="no wandb runs here (no run-*.wandb file)"))
        else:
            failures.append(Outcome(str(p), FAILED, reason="no such file or folder"))
            continue
        for f in found:
            real = os.path.realpath(f)
            if real not in seen:
                seen.add(real)
                sources.append(WandbSource(Path(real)))
    return sources, failures


def seconds(ts: Any) -> float:
    return ts.seconds + ts.nanos / 1e9


class WandbSource:
    tool = "wandb"

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.file = path
        self.size = path.stat().st_size
        self._log: WandbLog | None = None
        self._payloads: Iterator[bytes] | None = None
        self._head: list[bytes] = []

    def describe(self) -> SourceInfo:
        pb = protobuf_module()
        from recorder.importers.wandb_view import view_types

        st = self.file.stat()
        self._log = WandbLog(self.file.read_bytes())
        self._payloads = iter(self._log)
        view_type = view_types(pb).record
        run = None
        with self._decoding():
            for payload in self._payloads:
                self._head.append(payload)
                view = view_type.FromString(payload)
                if view.WhichOneof("record_type") == "run":
                    run = pb.RunRecord.FromString(view.run)
                    break
        if run is None:
            raise SourceError("no run record: the log ends before the run started")
        start = seconds(run.start_time) if run.HasField("start_time") else st.st_mtime
        return SourceInfo(
            tool=self.tool,
            # The run folder (offline-run-<time>-<id>) tells a resumed run's sessions apart.
            key=f"{run.run_id}/{self.file.parent.name}",
            source_id=run.run_id,
            path=self.path,
            fingerprint=fingerprint([st.st_size, st.st_mtime_ns]),
            start_time=start,
            project=run.project or None,
            name=run.display_name or None,
            extra={"entity": run.entity} if run.entity else {},
        )

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        from google.protobuf.message import DecodeError

        try:
            yield
        except DecodeError:
            offset = self._log.offset if self._log is not None else 0
            raise SourceError(f"corrupt record before byte {offset} (not a wandb Record)") from None

    def write(self, run: ImportedRun, advance: Callable[[int], None]) -> None:
        from recorder.importers.wandb_records import RecordReader

        assert self._payloads is not None and self._log is not None
        log = self._log
        files = self.file.parent / "files"
        reader = RecordReader(run, files, protobuf_module())
        reported = 0

        def tick() -> None:
            nonlocal reported
            advance(log.offset - reported)
            reported = log.offset

        with self._decoding():
            reader.read(chain(self._head, self._payloads), tick, _PROGRESS_EVERY)
        self._head = []
        advance(log.offset - reported)
        reader.finish(torn=log.torn)
        if files.is_dir():
            run.copy_tree(files)
