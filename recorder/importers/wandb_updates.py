"""A wandb config or summary from its update/remove records, and summary records read many at a time.

A 100k-step run writes 200k summary records: after every row wandb's own bookkeeping
({_wandb: {runtime}, _runtime}, the same bytes for a second) and the row's values. Read
one by one they cost more than the history. SummaryBatch keeps them back: bookkeeping
is applied from what was prepared for its bytes; the records between are joined and
parsed as one message (wandb_view.py), of which only each key's last text is read.
Applying a record again changes only what its last application sets anyway, so only
the first and last application of each bookkeeping record split the runs. A batch with
a record that needs care (a plain key, a removal, a nested key) is read one by one.
"""

from __future__ import annotations

import json
from itertools import count, pairwise
from operator import itemgetter
from typing import Any

import orjson

from recorder.importers.wandb_view import record_kind

INTERNAL = "_wandb"  # wandb's own bookkeeping in config and summary
# Records kept back before they are applied; bounds memory.
BATCH_RECORDS = 8192
# Records that need care kept by their bytes, to be applied again without a parse.
_KNOWN_RECORDS = 64
_INTERNAL_BYTES = INTERNAL.encode()
Prepared = tuple[list[Any], list[str], list[tuple[str, ...]]]


def loads_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN, Infinity, -Infinity: Python's json writes them


def set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[path[-1]] = value


def item_path(item: Any) -> str | tuple[str, ...]:
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
        self.nested = False  # a nested key was set: the order of updates matters

    def update(self, paths: Any, texts: Any) -> None:
        raw = self._raw
        if not self.nested:
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
            path = item_path(item)
            if _head(path) != INTERNAL:
                paths.append(path)
                texts.append(item.value_json)
        removed = []
        for item in record.remove:
            path = item_path(item)
            removed.append(path if isinstance(path, tuple) else (path,))
        return paths, texts, removed

    def apply_prepared(self, prepared: tuple[list[Any], list[str], list[tuple[str, ...]]]) -> None:
        paths, texts, removed = prepared
        if any(isinstance(p, tuple) for p in paths):
            self.nested = True
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
            value = loads_json(text)
            if isinstance(path, str):
                base[path] = value
            else:
                set_path(base, path, value)
        self._raw = {}
        base.pop(INTERNAL, None)
        return base


def _head(path: str | tuple[str, ...]) -> str:
    return path if isinstance(path, str) else path[0] if path else ""


class SummaryBatch:
    """Summary records for `updates`, applied in order by flush()."""

    def __init__(self, updates: Updates, views: Any, pb: Any) -> None:
        self.updates = updates
        self.views = views
        self.pb = pb
        self.payloads: list[bytes] = []  # records not known to need care
        self.marks: list[tuple[int, Prepared]] = []  # (payloads before it, a known record)
        self.known: dict[bytes, Prepared] = {}  # a record's bytes after num -> its updates
        # Only bookkeeping is known (the common case): other records need no look-up.
        self.look_up_all = False

    def add(self, payload: bytes, body: int) -> None:
        """A summary record's bytes; its summary field starts at `body` (after num)."""
        prepared = None
        if self.look_up_all or _INTERNAL_BYTES in payload:
            key = payload[body:]
            prepared = self.known.get(key)
            if prepared is None and _INTERNAL_BYTES in key:
                # wandb's bookkeeping has a plain key and a nested one, which would send the
                # whole batch one by one; its runtime changes every second, so it is new often.
                prepared = self._prepare(payload, key)
        if prepared is not None:
            self.marks.append((len(self.payloads), prepared))
            if len(self.marks) >= BATCH_RECORDS:
                self.flush()
        else:
            self.payloads.append(payload)
            if len(self.payloads) >= BATCH_RECORDS:
                self.flush()

    def flush(self) -> None:
        payloads, marks = self.payloads, self.marks
        self.payloads, self.marks = [], []
        if payloads and self._merged(payloads, marks):
            return
        j = 0
        for i, payload in enumerate(payloads):
            while j < len(marks) and marks[j][0] == i:
                self.updates.apply_prepared(marks[j][1])
                j += 1
            self.one(payload)
        for _, prepared in marks[j:]:
            self.updates.apply_prepared(prepared)

    def one(self, payload: bytes) -> None:
        """A summary record on its own (one that needs care is remembered by its bytes)."""
        view = self.views.summary.FromString(self.views.record.FromString(payload).summary)
        items = view.update
        keys = items.nested_key
        texts = items.value_json
        # Every item names a nested key or a key, and wandb gives each one JSON value: with
        # no plain key and as many nested keys as values, each item has one of each.
        if not len(items.key) and len(keys) == len(texts) and not len(view.remove):
            self.updates.update(keys, texts)
            return
        kind, body = record_kind(payload)
        self.updates.apply_prepared(self._prepare(payload, payload[body:] if kind else None))

    def _prepare(self, payload: bytes, key: bytes | None) -> Prepared:
        prepared = Updates.prepare(self.pb.Record.FromString(payload).summary)
        if key is not None:
            if len(self.known) >= _KNOWN_RECORDS:
                self.known.clear()  # the bookkeeping of seconds long gone
            self.known[key] = prepared
            self.look_up_all = self.look_up_all or _INTERNAL_BYTES not in key
        return prepared

    def _merged(self, payloads: list[bytes], marks: list[tuple[int, Prepared]]) -> bool:
        """Apply the batch as runs of records joined and parsed as one, split where a known
        record falls between them; False, with nothing applied, when a run needs care."""
        if marks:
            marks = _needed(marks, self.updates)
        bounds = [0, *(position for position, _ in marks), len(payloads)]
        runs = []
        for start, end in pairwise(bounds):
            flat = self.views.flat_summaries(b"".join(payloads[start:end])) if end > start else ((), ())
            if flat is None:
                return False
            runs.append(flat)
        for i, (keys, texts) in enumerate(runs):
            if i:
                self.updates.apply_prepared(marks[i - 1][1])
            self._apply_run(keys, texts)
        return True

    def _apply_run(self, keys: Any, texts: Any) -> None:
        if self.updates.nested:  # every update moves its key to the end: apply them all
            self.updates.update(keys, texts)
            return
        # The keys in the order they first appear, each with the index of its last update:
        # what updating them one by one leaves. Only the texts that last are read.
        last = dict(zip(keys, count()))
        self.updates.update(last.keys(), map(texts.__getitem__, last.values()))


def _needed(marks: list[tuple[int, Prepared]], updates: Updates) -> list[tuple[int, Prepared]]:
    """The marks whose updates can show in the result, in order.

    While no key is nested or removed, applying a record again only sets values that its
    last application sets anyway: the first application of each known record (which
    places its keys) and its last (whose values can last) are enough."""
    applied = list(map(itemgetter(1), marks))
    ids = list(map(id, applied))
    distinct = dict(zip(ids, applied)).values()
    if updates.nested or any(removed or any(isinstance(p, tuple) for p in paths) for paths, _, removed in distinct):
        return marks
    # Index of each known record's last and (read backwards) first application, in C.
    last = dict(zip(ids, range(len(ids))))
    first = dict(zip(reversed(ids), range(len(ids) - 1, -1, -1)))
    return [marks[i] for i in sorted({*first.values(), *last.values()})]
