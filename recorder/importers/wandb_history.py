"""wandb history records kept back and read many at a time.

A 100k-step run is 100k history records; read one by one, each costs a parse and a
dozen Python strings made and handled. Consecutive history records are joined and
parsed as one message instead (wandb_view.py: the items of every row in two lists, and
how many items each row has), and each batch's rows go to ImportedRun.log_json_rows()
as one table. A batch with any row that needs care (text, NaN, media, nested keys, a
define_metric summary) is handed back record by record to the reader's per-record
path, so what is imported does not depend on the batching.

The reader flushes the batch before a record that depends on the rows before it (a
metric definition, a history record read on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recorder.importers.imported_run import ROWS_PER_PART, ImportedRun

# Rows parsed together: the Python strings of their keys and values are the import's
# largest memory (ImportedRun gathers the batches' tables into parts of ROWS_PER_PART).
BATCH_ROWS = 16_384
# After a batch that had to be read one by one, the next is this small: a run whose rows
# all need care (a text in every row) pays for a batch it cannot use once per part.
_PROBE_ROWS = 256


class HistoryBatch:
    def __init__(self, run: ImportedRun, views: Any, one_by_one: Callable[[bytes], None]) -> None:
        self.run = run
        self.views = views
        self.one_by_one = one_by_one
        self.payloads: list[bytes] = []
        self.limit = BATCH_ROWS  # rows kept back before they are read
        self.skip = 0  # rows to read one by one, without trying a batch

    def add(self, payload: bytes) -> None:
        """A history record's bytes (a Record whose first field after num is its history)."""
        if self.skip:
            self.skip -= 1
            self.one_by_one(payload)
            return
        self.payloads.append(payload)
        if len(self.payloads) >= self.limit:
            self.flush()

    def flush(self) -> None:
        payloads, self.payloads = self.payloads, []
        if not payloads:
            return
        if self._as_table(payloads):
            self.limit = BATCH_ROWS
            return
        if self.limit == _PROBE_ROWS:
            self.skip = ROWS_PER_PART - _PROBE_ROWS
        self.limit = _PROBE_ROWS
        for payload in payloads:
            self.one_by_one(payload)

    def _as_table(self, payloads: list[bytes]) -> bool:
        from google.protobuf.message import DecodeError

        from recorder.importers.json_rows_table import JsonRows

        joined = b"".join(payloads)
        try:
            flat = self.views.flat_items(self.views.record.FromString(joined).history.item, lists=False)
            if flat is None:
                return False
            counts = self.views.item_counts(joined)
        except DecodeError:
            return False  # read one by one, the bad record is named
        if len(counts) != len(payloads):
            return False
        return self.run.log_json_rows(JsonRows(flat[0], flat[1], counts))
