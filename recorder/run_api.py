"""Run: the object init() returns, with wandb's log/config/summary/define_metric/save/finish.

Everything on the training thread is kept cheap: log() converts values, appends one
journal line and updates the summary in memory. Parquet, JSON sidecars, heartbeat,
system metrics and saved files are handled by one background thread (RunFiles).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Literal

from recorder import layout
from recorder.metric_definitions import MetricDefinition, MetricDefinitions, parse_goal, parse_summary
from recorder.run_config import Config
from recorder.run_files import RunFiles
from recorder.run_summary import Summary, SummaryState
from recorder.settings import Settings
from recorder.step_metrics import StepMetricFill
from recorder.values import RowBuilder
from recorder.warn import warn, warn_once

# Bound once: log() names them on every call.
_STEP, _TIMESTAMP, _RUNTIME = layout.STEP, layout.TIMESTAMP, layout.RUNTIME


class Run:
    def __init__(
        self,
        settings: Settings,
        *,
        name: str | None = None,
        config: Any = None,
        tags: Any = None,
        notes: str | None = None,
        group: str | None = None,
        job_type: str | None = None,
        id: str | None = None,
        resume: Any = None,
    ) -> None:
        self.settings = settings
        self.disabled = settings.mode == "disabled"
        self.project = layout.check_name(settings.project, "project name")
        self.id = layout.check_name(id, "run id") if id else layout.new_run_id()
        self.name = name
        self.tags = tuple(tags or ())
        self.notes = notes
        self.group = group
        self.job_type = job_type
        self._start = time.time()
        self._step = 0
        self._pending_nums: dict[str, Any] = {}
        self._pending_texts: dict[str, str] = {}
        self._finished = False
        self._plain_ok = False  # see _refresh_plain_ok; set once the run can write
        self._lock = threading.RLock()
        self._builder = RowBuilder()
        self._definitions = MetricDefinitions()
        self._summary_state = SummaryState(self._definitions, self._builder.columns)
        self._step_fill = StepMetricFill(self._definitions, self._builder.columns)
        self.summary = Summary(self._summary_state)
        self.config = Config(config)
        self._files: RunFiles | None = None
        if self.disabled:
            self.dir = ""
            return
        run_dir = settings.root / self.project / self.id
        self.dir = str(run_dir)
        self._files = RunFiles(self, run_dir, resume)
        self.name = self.name or layout.default_run_name(self.id)
        self._builder.on_new_column = self._on_new_column
        # Called under self._lock only, which RunFiles made the history writer's lock too.
        self._history_append_locked = self._files.history.append_locked
        self._builder.media_handler = self._media_handler
        Config.__init__(self.config, {**self._files.resumed_config, **self.config.as_dict()}, self._files.save_config)
        self._files.save_config(self.config.as_dict())
        if self._files.resumed_summary:
            self._summary_state.load(self._files.resumed_summary)
        for d in self._files.resumed_definitions:
            self._definitions.add(MetricDefinition(**d))
        if self._files.resumed_step is not None:
            self._step = self._files.resumed_step + 1
        self._refresh_plain_ok()
        self._files.start()

    # -- identity -----------------------------------------------------------------------
    @property
    def path(self) -> str:
        return f"{self.project}/{self.id}"

    @property
    def url(self) -> str:
        return Path(self.dir).resolve().as_uri() if self.dir else ""

    @property
    def step(self) -> int:
        return self._step

    @property
    def start_time(self) -> float:
        return self._start

    # -- logging ------------------------------------------------------------------------
    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Record metrics: a new step per call unless commit=False; never raises."""
        if self.disabled:
            return
        try:
            with self._lock:
                # The common call, a new step of numbers under known keys, in one
                # stretch: one copy of the dict, one encode, one write, under the one
                # lock the history writer shares. The same as _log_general + _commit
                # for such a row, without the value-by-value work.
                if self._plain_ok and step is None and commit is None:
                    row = self._builder.plain_row(data)
                    if row is not None:
                        summary = self._summary_state
                        if self._definitions.items:
                            self._step_fill.fill(row, summary.last)
                        now = time.time()
                        row[_STEP] = self._step
                        row[_TIMESTAMP] = now
                        row[_RUNTIME] = now - self._start
                        if summary.agg_kinds or summary.text_last:
                            summary.update(row, None)
                        else:
                            summary.last.update(row)
                            summary.dirty = True
                        self._history_append_locked(row)
                        self._step += 1
                        return
                try:
                    self._log_general(data, step, commit)
                finally:
                    self._refresh_plain_ok()
        except Exception as exc:  # training must go on whatever was passed in
            warn_once(f"log:{type(exc).__name__}", f"log() failed and skipped a row: {exc!r}")

    def _refresh_plain_ok(self) -> None:
        # Whether log()'s plain stretch may run: no step pending, not finished.
        # Recomputed under the lock wherever either can change.
        self._plain_ok = not (self._finished or self._pending_nums or self._pending_texts)

    def _log_general(self, data: Any, step: int | None, commit: bool | None) -> None:
        if self._finished:
            warn_once(f"finished:{self.id}", f"log() after finish() on run {self.id} is ignored")
            return
        if step is not None:
            step = int(step)
            if step < self._step:
                warn(
                    f"tried to log to step {step}, which is less than the current step {self._step}; "
                    "steps must increase, so this data is ignored"
                )
                return
            if step > self._step:
                self._commit()
                self._step = step
            if commit is None:
                commit = False
        elif commit is None:
            commit = True
        if data:
            self._builder.add(data, self._pending_nums, self._pending_texts)
        if commit:
            self._commit()

    def _commit(self) -> None:
        nums = self._pending_nums
        texts = self._pending_texts
        if not nums and not texts:
            return
        self._pending_nums = {}
        self._pending_texts = {}
        if self._definitions.items:
            self._step_fill.fill(nums, self._summary_state.last)
        now = time.time()
        nums[_STEP] = self._step
        nums[_TIMESTAMP] = now
        nums[_RUNTIME] = now - self._start
        summary = self._summary_state
        if texts or summary.agg_kinds or summary.text_last:
            summary.update(nums, texts)
            if texts:
                nums[layout.JOURNAL_TEXT_KEY] = texts
        else:
            summary.last.update(nums)
            summary.dirty = True
        self._history_append_locked(nums)
        self._step += 1

    def _on_new_column(self, key: str, col: str) -> None:
        self._summary_state.on_new_column(key, col)
        self._step_fill.forget()  # a step metric's column may be this one
        if key != col and self._files is not None:
            self._files.metrics_dirty = True

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> MetricDefinition:
        """Customise how a metric (or a glob of them) is plotted and summarised."""
        d = MetricDefinition(
            name=name,
            step_metric=step_metric,
            summary=parse_summary(summary),
            goal=parse_goal(goal),
            hidden=bool(hidden),
        )
        if self._files is None:  # disabled
            return d
        with self._lock:
            self._definitions.add(d)
            self._step_fill.forget()
            self._summary_state.refresh_definitions()
            self._files.metrics_dirty = True
        return d

    def _media_handler(self, key: str, value: Any) -> dict[str, Any] | None:
        # Media objects (Image, Histogram, Table, plots) mark themselves with _loupe_media;
        # their module is imported only when a script logs one.
        first = value[0] if isinstance(value, (list, tuple)) and value else value
        if not getattr(first, "_loupe_media", False):
            return None
        from recorder.media.logging import to_row_values

        return to_row_values(self, key, value, self._step)

    # -- artifacts, models and model watching (their modules load on first use) ----------
    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        from recorder.artifacts.run_artifacts import log_artifact

        return log_artifact(self, artifact_or_path, name=name, type=type, aliases=aliases)

    def use_artifact(self, artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None) -> Any:
        from recorder.artifacts.run_artifacts import use_artifact

        return use_artifact(self, artifact_or_name, type=type, aliases=aliases)

    def link_artifact(self, artifact: Any, target_path: str, aliases: list[str] | None = None) -> Any:
        from recorder.artifacts.run_artifacts import link_artifact

        return link_artifact(self, artifact, target_path, aliases=aliases)

    def log_model(self, path: Any, name: str | None = None, aliases: list[str] | None = None) -> Any:
        from recorder.artifacts.model_shortcuts import log_model

        return log_model(self, path, name=name, aliases=aliases)

    def use_model(self, name: str) -> str:
        from recorder.artifacts.model_shortcuts import use_model

        return use_model(self, name)

    def link_model(
        self, path: Any, registered_model_name: str, name: str | None = None, aliases: list[str] | None = None
    ) -> Any:
        from recorder.artifacts.model_shortcuts import link_model

        return link_model(self, path, registered_model_name, name=name, aliases=aliases)

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 100,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        from recorder.media.watch import watch

        watch(self, models, log=log, log_freq=log_freq)

    def unwatch(self, models: Any = None) -> None:
        from recorder.media.watch import unwatch

        unwatch(self, models)

    # -- files --------------------------------------------------------------------------
    def save(self, glob_str: str | Path, base_path: str | Path | None = None, policy: str = "live") -> list[str]:
        """Copy files into the run's files/ folder; 'end' waits for finish, 'live' keeps them fresh."""
        if self._files is None:  # disabled
            return []
        if policy not in ("now", "end", "live"):
            raise ValueError(f"save policy {policy!r} must be 'now', 'end' or 'live'")
        return self._files.save(str(glob_str), base_path, policy)

    def log_code(self, root: str = ".", name: str | None = None, include_fn: Any = None) -> None:
        warn_once("log_code", "log_code(): use run.save('*.py') to keep source files with a run")

    # -- end ----------------------------------------------------------------------------
    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Publish everything, compact history, and mark the run finished (or failed)."""
        from recorder import _active

        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._plain_ok = False
            if not self.disabled:
                try:
                    self._commit()
                except Exception as exc:
                    warn(f"finish(): the last row could not be recorded: {exc!r}")
        if self._files is not None:  # not disabled
            self._files.close(exit_code if exit_code is not None else 0)
        _active.forget(self)

    def _record_exception(self, exc: BaseException) -> None:
        if self._files is not None:
            self._files.error = {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            }

    def mark_preempting(self) -> None:
        """Kept for wandb compatibility; a preempted run simply shows as crashed."""

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            self._record_exception(exc)
            self.finish(exit_code=1)
        elif exc is not None:
            self._record_exception(exc)
            self.finish(exit_code=255)
        else:
            self.finish()
        return False

    def __repr__(self) -> str:
        return f"<Run {self.path} dir={self.dir!r}>"

    # wandb's Run exposes these too; keep scripts that touch them running.
    def alert(self, *args: Any, **kwargs: Any) -> None:
        warn_once("alert", "alert(): Loupe never sends anything over the network; the alert is logged only")
        print(f"loupe alert: {args} {kwargs}", file=sys.stderr)
