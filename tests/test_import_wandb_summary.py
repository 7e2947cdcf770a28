"""wandb summary records applied in batches give the summary that applying them one by one gives."""

from __future__ import annotations

from typing import Any, cast

import pytest

pytest.importorskip("wandb")

from wandb.proto import wandb_internal_pb2

pb = cast(Any, wandb_internal_pb2)  # generated code: no stubs

from recorder.importers.wandb_updates import BATCH_RECORDS, SummaryBatch, Updates
from recorder.importers.wandb_view import record_kind, view_types


def record(num: int, *updates: tuple[Any, str], removes: tuple[Any, ...] = ()) -> bytes:
    """A summary Record; a path is a str (one nested key), ("key", name) or a tuple of nested keys."""
    r: Any = pb.Record(num=num)
    for path, text in updates:
        item = r.summary.update.add(value_json=text)
        if isinstance(path, str):
            item.nested_key.append(path)
        elif path[0] == "key":
            item.key = path[1]
        else:
            item.nested_key.extend(path)
    for path in removes:
        r.summary.remove.add().nested_key.append(path)
    return r.SerializeToString()


def bookkeeping(num: int, second: int) -> bytes:
    # What wandb writes after every row: the same bytes until the runtime's second changes.
    return record(num, (("_wandb", "runtime"), str(second)), (("key", "_runtime"), str(second)))


def batched(payloads: list[bytes]) -> list[tuple[str, Any]]:
    updates = Updates()
    batch = SummaryBatch(updates, view_types(pb), pb)
    for p in payloads:
        batch.add(p, record_kind(p)[1])
    batch.flush()
    return list(updates.value().items())


def one_by_one(payloads: list[bytes]) -> list[tuple[str, Any]]:
    updates = Updates()
    for p in payloads:
        updates.apply(pb.Record.FromString(p).summary)
    return list(updates.value().items())


def rows(n: int, first_num: int = 0) -> list[bytes]:
    out = []
    for i in range(n):
        num = first_num + 2 * i
        out.append(bookkeeping(num, i // 700))
        out.append(record(num + 1, (f"m{i % 3}", str(i * 0.5)), ("_runtime", f"{i}.25"), ("_step", str(i))))
    return out


def test_rows_and_bookkeeping_across_batches():
    payloads = rows(BATCH_RECORDS + 1000)
    assert len(payloads) > 2 * BATCH_RECORDS
    assert batched(payloads) == one_by_one(payloads)
    # Bookkeeping last, the same bytes as before the last row: its plain _runtime key wins.
    second = (BATCH_RECORDS + 999) // 700
    ending = [*payloads, bookkeeping(10**6, second)]
    assert dict(batched(ending))["_runtime"] == second and batched(ending) == one_by_one(ending)


def test_keys_removed_nested_and_set_again():
    payloads = [
        *rows(50),
        record(1000, ("extra", "1")),
        record(1001, removes=("m1",)),
        *rows(50, first_num=2000),
        record(3000, (("opt", "lr"), "0.1"), ("opt_name", '"adam"')),
        record(3001, ("opt", '{"lr": 0.2, "beta": 0.9}')),
        *rows(20, first_num=4000),
        record(5000, (("opt", "beta"), "0.95"), removes=("extra",)),
        record(5001, (("key", "plain"), "7")),  # needs care, not bookkeeping: known by its bytes
        *rows(BATCH_RECORDS, first_num=6000),  # batches read whole after a nested key
        record(10**6 - 1, (("key", "plain"), "7")),
        record(10**6, ("n1", "1"), ("n2", "2")),
        record(10**6 + 1, ("n1", "3")),  # after a nested key, an update moves its key last
        record(10**6 + 2, ("opt", '{"lr": 0.3}')),
    ]
    got = batched(payloads)
    assert got == one_by_one(payloads)
    assert dict(got)["opt"] == {"lr": 0.3} and "extra" not in dict(got)
    assert [k for k, _ in got if k in ("n1", "n2")] == ["n2", "n1"] and dict(got)["plain"] == 7
