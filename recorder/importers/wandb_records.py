"""The records of a wandb run log, in file order, as calls on an ImportedRun.

    run          name, group, job_type, tags, notes, host, git, config
    environment  host, user, python, platform, command, git
    config       config updates and removals
    history      one row: items by (nested) key, values as JSON; _step/_timestamp/_runtime
    summary      summary updates and removals (the final state is imported)
    stats        system metrics (names mapped in wandb_stats.py)
    output_raw   console output, chunk by chunk, per stream
    metric       define_metric
    exit         exit code: finished (0) or failed; no exit record means crashed

Images and histograms in history rows become Loupe media; other media keep their JSON
reference (as text); every file under the run's files/ is copied anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from recorder.importers.imported_run import ImportedRun
from recorder.importers.wandb_history import HistoryBatch
from recorder.importers.wandb_run import seconds
from recorder.importers.wandb_stats import system_row
from recorder.importers.wandb_updates import INTERNAL, SummaryBatch, Updates, item_path, loads_json, set_path
from recorder.importers.wandb_view import type_offset, view_types
from recorder.journal import resolve_cr
from recorder.metric_definitions import MetricDefinition

_SUMMARY_KINDS = ("min", "max", "mean", "best", "last", "none", "first")
# Records whose handling depends on every history row before them (a definition's
# summary counts only the rows after it): the rows kept back are written first.
_AFTER_ROWS = ("history", "metric")


class RecordReader:
    def __init__(self, run: ImportedRun, files: Path, pb: Any) -> None:
        self.run = run
        self.files = files
        self.pb = pb
        self.views = view_types(pb)
        self.summary = Updates()
        self.config = Updates(run.config)
        self.exited: Any = None
        self.pending: dict[int, str] = {}  # console stream -> partial line
        self.pending_time: dict[int, float] = {}
        self.last_time = run.start_time
        self.batch = HistoryBatch(run, self.views, lambda p: self.history(self.views.record.FromString(p), p))
        self.summaries = SummaryBatch(self.summary, self.views, pb)
        self.handlers: dict[str, Callable[[Any], None]] = {
            "config": lambda r: self.config.apply(r.config),
            "run": self.run_record,
            "environment": self.environment,
            "stats": self.stats,
            "output_raw": lambda r: self.output(r.output_raw),
            "output": lambda r: self.output(r.output),
            "metric": self.metric,
            "exit": self.exit,
        }

    def read(self, payloads: Iterable[bytes], tick: Callable[[], None], every: int) -> None:
        """Every record's bytes in order (tick() every `every` records, for progress).

        History and summary records are kept back and read in batches, their type told by
        the tag after num (wandb_view.record_kind without its call and tuple: a 100k-step
        run has 300k records)."""
        history_tag = (self.views.record_fields["history"] << 3) | 2
        summary_tag = (self.views.record_fields["summary"] << 3) | 2
        add_history, add_summary = self.batch.add, self.summaries.add
        parse = self.views.record.FromString
        for i, payload in enumerate(payloads):
            try:
                offset = type_offset(payload)
                tag = payload[offset]
            except IndexError:
                offset = tag = 0
            if tag == history_tag:
                add_history(payload)
            elif tag == summary_tag:
                add_summary(payload, offset)
            else:
                self.handle(parse(payload), payload)
            if not i % every:
                tick()
        self.flush()

    def handle(self, view: Any, payload: bytes) -> None:
        kind = view.WhichOneof("record_type")
        if kind in _AFTER_ROWS:
            self.batch.flush()
        if kind == "history":
            self.history(view, payload)
        elif kind == "summary":
            self.summaries.flush()
            self.summaries.one(payload)
        else:
            handler = self.handlers.get(kind)
            if handler is not None:
                handler(self.pb.Record.FromString(payload))

    # -- identity and config ---------------------------------------------------------
    def run_record(self, record: Any) -> None:
        r = record.run
        meta = self.run.meta
        for key, value in (
            ("name", r.display_name),
            ("group", r.run_group),
            ("job_type", r.job_type),
            ("notes", r.notes),
            ("host", r.host),
            ("sweep_id", r.sweep_id),
        ):
            if value:
                meta[key] = value
        if len(r.tags):
            meta["tags"] = list(r.tags)
        if r.HasField("git") and (r.git.remote_url or r.git.commit):
            meta["git"] = {"commit": r.git.commit or None, "remote": r.git.remote_url or None}
        self.config.apply(r.config)

    def environment(self, record: Any) -> None:
        e = record.environment
        meta = self.run.meta
        for key, value in (
            ("host", e.host),
            ("user", e.username),
            ("python", e.python),
            ("python_executable", e.executable),
            ("platform", e.os),
            ("cwd", e.root),
        ):
            if value:
                meta.setdefault(key, value)
        if e.program or len(e.args):
            meta.setdefault("argv", [e.program or e.code_path, *e.args])
        if e.HasField("git") and (e.git.remote_url or e.git.commit):
            meta.setdefault("git", {"commit": e.git.commit or None, "remote": e.git.remote_url or None})

    def metric(self, record: Any) -> None:
        m = record.metric
        name = m.name or m.glob_name
        if not name or m.expanded_from_glob:
            return
        kinds = [k for k in _SUMMARY_KINDS if m.HasField("summary") and getattr(m.summary, k)]
        self.run.define_metric(
            MetricDefinition(
                name=name,
                step_metric=m.step_metric or None,
                summary=kinds,
                goal={1: "minimize", 2: "maximize"}.get(m.goal),
                hidden=m.HasField("options") and m.options.hidden,
            )
        )

    # -- history and summary ---------------------------------------------------------
    def history(self, view: Any, payload: bytes) -> None:
        values: dict[str, Any] | None = None
        # No '{' or '[' anywhere: no media, nested dict or list value, the common case.
        if b"{" not in payload and b"[" not in payload:
            flat = self.views.flat_items(view.history.item)
            if flat is not None and self.run.log_json_row(*flat):
                return  # numbers only: written as wandb encoded them
            if flat is not None:
                try:
                    values = dict(zip(flat[0], map(orjson.loads, flat[1])))
                except orjson.JSONDecodeError:  # NaN or +-Infinity, which orjson refuses
                    values = None
        plain = values is not None
        if values is None:
            record = self.pb.Record.FromString(payload).history
            values = self._history_values(record)
            if "_step" not in values:
                values["_step"] = record.step.num
        step = int(values.pop("_step", None) or 0)
        ts = values.pop("_timestamp", None)
        rt = values.pop("_runtime", None)
        if not plain:
            values.pop(INTERNAL, None)
            for key, value in values.items():
                if isinstance(value, (dict, list)):
                    values[key] = self._convert(key, step, value, ts)
        self.run.log_row(step, values, ts, rt)
        if ts is not None and ts > self.last_time:
            self.last_time = ts

    @staticmethod
    def _history_values(record: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for item in record.item:
            path = item_path(item)
            kind = None if item.value_json else item.WhichOneof("value")
            if kind is None:
                value = loads_json(item.value_json) if item.value_json else None
            else:
                value = None if kind == "none" else loads_json(item.json) if kind == "json" else getattr(item, kind)
            if isinstance(path, str):
                values[path] = value
            else:
                set_path(values, path, value)
        return values

    def _convert(self, key: str, step: int, value: Any, ts: float | None) -> Any:
        """Media become Loupe media (a JSON reference as text); lists become JSON text."""
        if isinstance(value, dict):
            if value.get("_type") is None:
                return {k: self._convert(f"{key}.{k}", step, v, ts) for k, v in value.items()}
            from recorder.importers.wandb_media import media_items

            items = media_items(value, self.files)
            ref = self.run.media_value(key, step, items, ts) if items else None
            return ref if ref is not None else orjson.dumps(value).decode()
        if isinstance(value, list):
            return orjson.dumps(value).decode()
        return value

    # -- system metrics and console --------------------------------------------------
    def stats(self, record: Any) -> None:
        s = record.stats
        sample: dict[str, float] = {}
        for item in s.item:
            try:
                v = loads_json(item.value_json)
            except ValueError:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sample[item.key] = float(v)
        if sample:
            t = seconds(s.timestamp)
            self.run.log_system(t, system_row(sample))
            self.last_time = max(self.last_time, t)

    def output(self, out: Any) -> None:
        stream = out.output_type  # STDERR = 0, STDOUT = 1
        t = seconds(out.timestamp)
        self.last_time = max(self.last_time, t)
        text = self.pending.pop(stream, "") + out.line
        start = self.pending_time.pop(stream, t)
        *complete, rest = text.split("\n")
        letter = "O" if stream == 1 else "E"
        for line in complete:
            self.run.console_line(start, letter, resolve_cr(line))
            start = t
        if rest:
            self.pending[stream] = rest
            self.pending_time[stream] = start

    def exit(self, record: Any) -> None:
        self.exited = record.exit

    # -- end -------------------------------------------------------------------------
    def flush(self) -> None:
        """Apply the records kept back (before the end, or a record that must follow them)."""
        self.batch.flush()
        self.summaries.flush()

    def finish(self, torn: bool) -> None:
        self.flush()
        run = self.run
        for stream, rest in sorted(self.pending.items()):
            run.console_line(self.pending_time[stream], "O" if stream == 1 else "E", resolve_cr(rest))
        run.source_summary = self.summary.value()
        self.config.value()
        run.last_time = max(run.last_time, self.last_time)
        if self.exited is None or torn:
            run.state = "crashed"
        else:
            run.exit_code = int(self.exited.exit_code)
            run.state = "finished" if run.exit_code == 0 else "failed"
            run.end_time = max(run.last_time, run.start_time + float(self.exited.runtime))
