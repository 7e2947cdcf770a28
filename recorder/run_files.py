"""The files of one run on disk, and the background thread that keeps them current.

Owns the run directory: run.json (identity, state, heartbeat), config.json,
summary.json, metrics.json, the history and system streams, the console log and
saved files. Runs one daemon thread that publishes Parquet parts, rewrites changed
sidecars, beats the heartbeat and refreshes 'live' saved files.
"""

from __future__ import annotations

import datetime as _dt
import glob
import os
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder import layout
from recorder.atomic_json import read_json, write_json
from recorder.journal import iso_now
from recorder.stream_writer import StreamWriter
from recorder.warn import warn, warn_once

if TYPE_CHECKING:  # both are imported only when the run's settings turn them on
    from recorder.console_capture import ConsoleCapture
    from recorder.helper_process import HelperProcess
    from recorder.run_api import Run
    from recorder.system_monitor import SystemMonitor

HEARTBEAT_S = 5.0
TICK_S = 1.0
PUBLISH_EVERY_S = 30.0


class RunFiles:
    def __init__(self, run: Run, run_dir: Path, resume: Any) -> None:
        self.run = run
        self.dir = run_dir
        self.writer_id = layout.new_writer_id()
        self.metrics_dirty = False
        self.error: dict[str, str] | None = None
        self.resumed_config: dict[str, Any] = {}
        self.resumed_summary: dict[str, Any] = {}
        self.resumed_definitions: list[dict[str, Any]] = []
        self.resumed_step: int | None = None
        self._previous: dict[str, Any] = {}
        self._live_patterns: list[tuple[str, Path]] = []
        self._end_patterns: list[tuple[str, Path]] = []
        self._copied: dict[Path, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._meta_thread: threading.Thread | None = None
        self._helper: HelperProcess | None = None
        self._monitor: SystemMonitor | None = None
        self._console: ConsoleCapture | None = None
        self._slow_meta: dict[str, Any] = {}
        self._slow_meta_pending = False
        self._final_summary: list[str] | None = None  # run.json's summary_final, set at finish
        self._final_complete = False
        self._state_lock = threading.Lock()
        self._last_publish = time.monotonic()
        self._last_sync = time.monotonic()

        self._open_dir(resume)
        self.files_dir = run_dir / layout.FILES_DIR
        self.files_dir.mkdir(exist_ok=True)
        # Run.log() holds run._lock around every history append; sharing it spares a second lock.
        self.history = StreamWriter(
            run_dir / layout.HISTORY_DIR,
            run.id,
            self.writer_id,
            text_directory=run_dir / layout.TEXT_DIR,
            lock=run._lock,
        )
        self.history.on_full = self._wake.set
        self.system = StreamWriter(run_dir / layout.SYSTEM_DIR, run.id, self.writer_id)
        # More streams (the media index): sync() with the journals, flush() when history
        # publishes, close() at finish.
        self.extra_streams: list[Any] = []
        from recorder.metadata import collect_static

        self.static_meta = collect_static()

    # -- opening --------------------------------------------------------------------------
    def _open_dir(self, resume: Any) -> None:
        exists = layout.is_run_dir(self.dir)
        mode = "allow" if resume is True else (resume or "never")
        if mode is False:
            mode = "never"
        if exists and mode == "never":
            raise ValueError(
                f"run {self.run.id!r} already exists in {self.dir.parent}; pass resume='allow' to continue it or choose another id"
            )
        if not exists and mode == "must":
            raise ValueError(f"resume='must' but there is no run {self.run.id!r} in {self.dir.parent}")
        self.dir.mkdir(parents=True, exist_ok=True)
        if exists:
            self._load_previous()

    def _load_previous(self) -> None:
        from recorder.resume import last_logged_step

        def load(name: str, default: Any) -> Any:
            try:
                return read_json(self.dir / name)
            except Exception as exc:
                warn(f"resume: could not read {name} of run {self.run.id}: {exc}")
                return default

        self._previous = load(layout.RUN_FILE, {})
        self.resumed_config = load(layout.CONFIG_FILE, {}) if (self.dir / layout.CONFIG_FILE).exists() else {}
        self.resumed_summary = load(layout.SUMMARY_FILE, {}) if (self.dir / layout.SUMMARY_FILE).exists() else {}
        if (self.dir / layout.METRICS_FILE).exists():
            self.resumed_definitions = load(layout.METRICS_FILE, {}).get("definitions", [])
        self.resumed_step = last_logged_step(self.dir)
        run = self.run
        run.name = run.name or self._previous.get("name")
        run.tags = run.tags or tuple(self._previous.get("tags") or ())
        run.notes = run.notes or self._previous.get("notes")
        run.group = run.group or self._previous.get("group")
        run.job_type = run.job_type or self._previous.get("job_type")
        prev_created = self._previous.get("created_at")
        if prev_created:
            try:
                run._start = _dt.datetime.fromisoformat(prev_created).timestamp()
            except ValueError:
                pass

    # -- sidecars -------------------------------------------------------------------------
    def write_run_json(self, state: str, exit_code: int | None = None, fsync: bool = False) -> None:
        run = self.run
        now = time.time()
        data: dict[str, Any] = {
            "format_version": layout.FORMAT_VERSION,
            "id": run.id,
            "name": run.name,
            "project": run.project,
            "group": run.group,
            "job_type": run.job_type,
            "tags": list(run.tags),
            "notes": run.notes,
            "state": state,
            "created_at": iso_now(run.start_time),
            "heartbeat_at": iso_now(now),
            "finished_at": iso_now(now) if state != "running" else None,
            "runtime": now - run.start_time,
            "exit_code": exit_code,
            "resumed": bool(self._previous),
            "writer": self.writer_id,
            **self.static_meta,
            **self._slow_meta,
        }
        if self.error:
            data["error"] = self.error
        losses = self._write_losses()
        if losses:
            data["write_errors"] = losses
        elif state != "running" and self._final_summary is not None:
            # Only when every row reached history and the last summary.json was written:
            # then a reader may answer "final value" from the summary (docs/format.md).
            data[layout.SUMMARY_FINAL] = self._final_summary
            data[layout.SUMMARY_FINAL_COMPLETE] = self._final_complete
        extra = getattr(run, "extra_metadata", None)
        if extra:
            data.update(extra)
        with self._state_lock:
            try:
                write_json(self.dir / layout.RUN_FILE, data, fsync=fsync)
            except OSError as exc:
                warn_once(f"runjson:{self.dir}", f"cannot update {self.dir / layout.RUN_FILE}: {exc}")

    def _write_losses(self) -> dict[str, Any] | None:
        lost = self.history.lost_rows + self.system.lost_rows
        err = self.history.last_error or self.system.last_error
        if not lost and not err:
            return None
        return {"lost_rows": lost, "last_error": err}

    def save_config(self, data: dict[str, Any]) -> None:
        try:
            write_json(self.dir / layout.CONFIG_FILE, data)
        except OSError as exc:
            warn_once(f"config:{self.dir}", f"cannot write config.json: {exc}")

    def write_summary(self) -> bool:
        """Write summary.json if it changed; False when the write failed."""
        state = self.run._summary_state
        if not state.dirty:
            return True
        state.dirty = False
        with self.run._lock:
            snap = state.snapshot()
        try:
            write_json(self.dir / layout.SUMMARY_FILE, snap)
        except OSError as exc:
            state.dirty = True
            warn_once(f"summary:{self.dir}", f"cannot write summary.json: {exc}")
            return False
        return True

    def write_metrics(self) -> None:
        if not self.metrics_dirty:
            return
        self.metrics_dirty = False
        run = self.run
        with run._lock:
            data = {
                "definitions": run._definitions.as_json(),
                "columns": {k: c for k, c in run._builder.columns.items() if k != c},
            }
        try:
            write_json(self.dir / layout.METRICS_FILE, data)
        except OSError as exc:
            self.metrics_dirty = True
            warn_once(f"metrics:{self.dir}", f"cannot write metrics.json: {exc}")

    # -- background -----------------------------------------------------------------------
    def start(self) -> None:
        self.write_run_json("running", fsync=True)
        settings = self.run.settings
        # Started here, on the caller's thread, so it lives as long as the caller does.
        from recorder.helper_process import start_if_useful

        self._helper = start_if_useful()
        self.history.publisher = self.system.publisher = self._helper
        if settings.capture_console:
            from recorder.console_capture import ConsoleCapture

            self._console = ConsoleCapture(self.dir / layout.OUTPUT_LOG)
            self._console.start()
        if settings.system_interval > 0:
            from recorder.system_monitor import SystemMonitor

            start = self.run.start_time

            def sink(row: dict[str, float]) -> None:
                now = time.time()
                self.system.append({layout.TIMESTAMP: now, layout.RUNTIME: now - start, **row})

            self._monitor = SystemMonitor(sink, interval=settings.system_interval)
            self._monitor.start()
        self._thread = threading.Thread(target=self._loop, name="loupe-writer", daemon=True)
        self._thread.start()
        self._meta_thread = threading.Thread(target=self._collect_slow_metadata, name="loupe-metadata", daemon=True)
        self._meta_thread.start()

    def _collect_slow_metadata(self) -> None:
        # Git and the package list can take seconds on a big environment; they run
        # beside the writer so the first Parquet part never waits for them.
        try:
            from recorder.metadata import collect_slow

            self._slow_meta = collect_slow(self.files_dir, self._list_packages, self._git_info) or {}
        except Exception as exc:
            warn_once("metadata", f"could not collect git/package metadata: {exc}")
            return
        # The writer thread puts it in run.json at its next tick; writing it from here
        # could land after finish() and mark a finished run running again.
        self._slow_meta_pending = True
        self._wake.set()

    def _git_info(self, files_dir: Path) -> dict[str, Any]:
        from recorder.helper_process import HelperGone
        from recorder.metadata import git_info

        helper = self._helper
        if helper is not None:
            try:
                return helper.git_info(files_dir)
            except (HelperGone, OSError):
                pass
        return git_info(files_dir)

    def _list_packages(self) -> str:
        from recorder.helper_process import HelperGone
        from recorder.metadata import list_requirements

        helper = self._helper
        if helper is not None:
            try:
                return helper.requirements()
            except (HelperGone, OSError):
                pass
        return list_requirements()

    def _loop(self) -> None:
        last_beat = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._tick()
                if self._slow_meta_pending:
                    self._slow_meta_pending = False
                    self.write_run_json("running")
                elif time.monotonic() - last_beat >= HEARTBEAT_S:
                    last_beat = time.monotonic()
                    self.write_run_json("running")
            except Exception as exc:  # the writer thread must outlive any one failure
                warn_once(f"tick:{type(exc).__name__}", f"background writer error: {exc!r}")

    def _tick(self) -> None:
        now = time.monotonic()
        sync_every = self.run.settings.sync_interval
        if sync_every > 0 and now - self._last_sync >= sync_every:
            self._last_sync = now
            for stream in (self.history, self.system, *self.extra_streams):
                stream.sync()
        due = now - self._last_publish >= PUBLISH_EVERY_S
        if due or self.history.rows_waiting >= self.history.rows_per_part:
            self._last_publish = now
            self.history.flush()
        if due or self.system.rows_waiting >= self.system.rows_per_part:
            self.system.flush()
        if due:
            for stream in list(self.extra_streams):
                stream.flush()
        self.write_summary()
        self.write_metrics()
        self._refresh_live_saves()

    def close(self, exit_code: int) -> None:
        if self._helper is not None:
            self._helper.hurry()  # before waiting on the writer thread's last request
        if self._monitor is not None:
            self._monitor.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._meta_thread is not None:
            # finish() records git and packages when they come in time; a hung git
            # command must not hold the run open.
            self._meta_thread.join(timeout=10)
        for stream in (self.history, self.system):
            stream.close()
        for stream in list(self.extra_streams):
            try:
                stream.close()
            except Exception as exc:
                warn(f"finish(): could not close {type(stream).__name__}: {exc!r}")
        if self._helper is not None:
            self._helper.close()
        self._refresh_live_saves(final=True)
        self.run._summary_state.dirty = True
        if self.write_summary():
            with self.run._lock:
                summary = self.run._summary_state
                self._final_summary = summary.final_keys()
                self._final_complete = not self._previous and summary.final_complete(self._final_summary)
        self.metrics_dirty = True
        self.write_metrics()
        if self._console is not None:
            self._console.stop()
        state = "finished" if exit_code == 0 and self.error is None else "failed"
        self.write_run_json(state, exit_code=exit_code, fsync=True)

    # -- saved files ----------------------------------------------------------------------
    def save(self, pattern: str, base_path: Any, policy: str) -> list[str]:
        base = Path(base_path) if base_path is not None else Path(pattern).parent
        if policy == "end":
            # Matched at finish, so files that do not exist yet are included.
            self._end_patterns.append((pattern, base))
            return []
        saved = self._copy_matches(pattern, base)
        if not saved and policy == "now":
            warn(f"save(): nothing matches {pattern!r}")
        if policy == "live":
            self._live_patterns.append((pattern, base))
        return saved

    def _copy_matches(self, pattern: str, base: Path, only_changed: bool = False) -> list[str]:
        saved = []
        for src in (Path(p) for p in glob.glob(pattern, recursive=True)):
            if not src.is_file():
                continue
            try:
                rel = src.resolve().relative_to(base.resolve())
            except ValueError:
                rel = Path(src.name)
            dest = self.files_dir / rel
            mtime = _mtime(src)
            if only_changed and self._copied.get(src) == mtime:
                continue
            self._copy(src, dest)
            self._copied[src] = mtime
            saved.append(str(dest))
        return saved

    def _refresh_live_saves(self, final: bool = False) -> None:
        for pattern, base in self._live_patterns:
            self._copy_matches(pattern, base, only_changed=True)
        if final:
            for pattern, base in self._end_patterns:
                self._copy_matches(pattern, base)

    def _copy(self, src: Path, dest: Path) -> None:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f"{layout.TMP_PREFIX}{dest.name}")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            warn_once(f"save:{src}", f"save(): could not copy {src}: {exc}")


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return -1.0
