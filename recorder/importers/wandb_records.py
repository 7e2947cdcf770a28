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

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from recorder.importers.imported_run import ImportedRun
from recorder.importers.wandb_history import HistoryBatch
from recorder.importers.wandb_run import seconds
from recorder.importers.wandb_stats import system_row
from recorder.importers.wandb_view import record_field, view_types
from recorder.journal import resolve_cr
from recorder.metric_definitions import MetricDefinition

_SUMMARY_KINDS = ("min", "max", "mean", "best", "last", "none", "first")
_INTERNAL = "_wandb"  # wandb's own bookkeeping in config and summary


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN, Infinity, -Infinity: Python's json writes them


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[path[-1]] = value


def _path(item: Any) -> str | tuple[str, ...]:
    nested = item.nested_key
    return nested[0] if len(nested) == 1 else tuple(nested) if len(nested) else item.key


class Updates:
    """A config or summary built from update/remove records, in order.

    A 100k-step run carries 200k summary records, nearly all overwriting the same keys:
    updates are kept as their JSON text by key and decoded once, at the end. A key is
    re-inserted on update so that replaying the texts in order gives the final state
    even where a nested key and its parent were both set."""

    def __init__(self, base: dict[str, Any] | None = None) -> None:
        self.base: dict[str, Any] = {} if base is None else base
        self._raw: dict[str | tuple[str, ...], str] = {}
        self._nested = False  # a nested key was set: the order of updates matters

    def update(self, paths: Any, texts: Any) -> None:
        raw = self._raw
        if not self._nested:
            raw.update(zip(paths, texts))
            return
        for path, text in zip(paths, texts):
            raw.pop(path, None)
            raw[path] = text

    def apply(self, record: Any) -> None:
        """An update/remove record read with wandb's own types."""
        self.apply_prepared(self.prepare(record))

    @staticmethod
    def prepare(record: Any) -> tuple[list[Any], list[str], list[tuple[str, ...]]]:
        """(paths, JSON texts, removed paths) of a record, wandb's own bookkeeping left out."""
        paths, texts = [], []
        for item in record.update:
            path = _path(item)
            if _head(path) != _INTERNAL:
                paths.append(path)
                texts.append(item.value_json)
        removed = []
        for item in record.remove:
            path = _path(item)
            removed.append(path if isinstance(path, tuple) else (path,))
        return paths, texts, removed

    def apply_prepared(self, prepared: tuple[list[Any], list[str], list[tuple[str, ...]]]) -> None:
        paths, texts, removed = prepared
        if any(isinstance(p, tuple) for p in paths):
            self._nested = True
        self.update(paths, texts)
        if removed:
            self.value()
            for path in removed:
                target: Any = self.base
                for part in path[:-1]:
                    target = target.get(part) if isinstance(target, dict) else None
                if isinstance(target, dict):
                    target.pop(path[-1], None)

    def value(self) -> dict[str, Any]:
        base = self.base
        for path, text in self._raw.items():
            value = _loads(text)
            if isinstance(path, str):
                base[path] = value
            else:
                _set_path(base, path, value)
        self._raw = {}
        base.pop(_INTERNAL, None)
        return base


def _head(path: str | tuple[str, ...]) -> str:
    return path if isinstance(path, str) else path[0] if path else ""


class RecordReader:
    def __init__(self, run: ImportedRun, files: Path, pb: Any) -> None:
        self.run = run
        self.files = files
        self.pb = pb
        self.views = view_types(pb)
        self.summary = Updates()
        self.config = Updates(run.config)
        # wandb repeats the same internal record ({_wandb: {runtime}}) after every row.
        self._slow_summaries: dict[bytes, tuple[list[Any], list[str], list[tuple[str, ...]]]] = {}
        self.exited: Any = None
        self.pending: dict[int, str] = {}  # console stream -> partial line
        self.pending_time: dict[int, float] = {}
        self.last_time = run.start_time
        self.history_field = self.views.record_fields["history"]
        self.summary_field = self.views.record_fields["summary"]
        self.batch = HistoryBatch(run, self.views, lambda p: self.history(self.views.record.FromString(p), p))
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

    def handle_payload(self, payload: bytes) -> None:
        """One record's bytes: history is batched, summary read from its own bytes, the rest parsed."""
        field, start, end = record_field(payload)
        if field == self.history_field:
            self.batch.add(payload)
        elif field == self.summary_field and end == len(payload):
            self.summary_record(payload[start:end], payload)
        else:
            self.batch.flush()
            self.handle(self.views.record.FromString(payload), payload)

    def handle(self, view: Any, payload: bytes) -> None:
        kind = view.WhichOneof("record_type")
        if kind == "history":
            self.history(view, payload)
        elif kind == "summary":
            self.summary_record(view.summary, payload)
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
            values.pop(_INTERNAL, None)
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
            path = _path(item)
            kind = None if item.value_json else item.WhichOneof("value")
            if kind is None:
                value = _loads(item.value_json) if item.value_json else None
            else:
                value = None if kind == "none" else _loads(item.json) if kind == "json" else getattr(item, kind)
            if isinstance(path, str):
                values[path] = value
            else:
                _set_path(values, path, value)
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

    def summary_record(self, summary: bytes, payload: bytes) -> None:
        prepared = self._slow_summaries.get(summary)
        if prepared is not None:  # seen before, byte for byte
            self.summary.apply_prepared(prepared)
            return
        view = self.views.summary.FromString(summary)
        items = view.update
        keys = items.nested_key
        texts = items.value_json
        # Every item names a nested key or a key, and wandb gives each one JSON value: with
        # no plain key and as many nested keys as values, each item has one of each.
        if not len(items.key) and len(keys) == len(texts) and not len(view.remove):
            self.summary.update(keys, texts)
            return
        prepared = Updates.prepare(self.pb.Record.FromString(payload).summary)
        if len(self._slow_summaries) < 64:
            self._slow_summaries[summary] = prepared
        self.summary.apply_prepared(prepared)

    # -- system metrics and console --------------------------------------------------
    def stats(self, record: Any) -> None:
        s = record.stats
        sample: dict[str, float] = {}
        for item in s.item:
            try:
                v = _loads(item.value_json)
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
        """Write the history rows kept back (before the end, or a record that must follow them)."""
        self.batch.flush()

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
