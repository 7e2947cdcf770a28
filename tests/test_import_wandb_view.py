"""A wandb Record's type told from its first bytes, whatever its number (records are routed by it)."""

from __future__ import annotations

from typing import Any, cast

import pytest

pytest.importorskip("wandb")

from wandb.proto import wandb_internal_pb2

from recorder.importers.wandb_view import record_kind

pb = cast(Any, wandb_internal_pb2)  # generated code: no stubs


@pytest.mark.parametrize("num", [0, 1, 127, 128, 2**14, 2**21 - 1, 2**21, 2**35])
def test_record_kind_after_any_num(num):
    history = pb.Record(num=num, history=pb.HistoryRecord(item=[pb.HistoryItem(key="a", value_json="1")]))
    summary = pb.Record(num=num, summary=pb.SummaryRecord(update=[pb.SummaryItem(key="a", value_json="1")]))
    run = pb.Record(num=num, run=pb.RunRecord(run_id="x"))
    for record, field in ((history, 2), (summary, 3), (run, 0)):  # run is field 17: a two-byte tag
        data = record.SerializeToString()
        kind, offset = record_kind(data)
        assert kind == field
        if field:
            assert pb.Record.FromString(data[offset:]) == pb.Record(
                **{record.WhichOneof("record_type"): getattr(record, record.WhichOneof("record_type"))}
            )


def test_record_kind_of_bytes_too_short():
    assert record_kind(b"") == (0, 0) and record_kind(b"\x08") == (0, 0) and record_kind(b"\x08\x85") == (0, 0)
