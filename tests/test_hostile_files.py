"""Hostile run files at the query layer that test_store_*.py leaves out: huge-footer parts,
journal lines that are valid JSON of the wrong types, and parts whose footer reads but
whose pages are corrupt (found on the first failing query, then skipped)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from store_helpers import fake_run_dir, real_run

from viewer.data.store import Store


@pytest.mark.parametrize("claim", [0xFFFFFFF0, 2**31, 10**9])
def test_huge_footer_length_is_skipped_with_one_warning_and_no_allocation(runs_root, claim):
    run = real_run(runs_root, steps=4)
    good = next((Path(run.dir) / "history").glob("part-*.parquet")).read_bytes()
    bad = Path(run.dir) / "history" / "part-f0000000-00000000-00000000.parquet"
    bad.write_bytes(good[:-8] + struct.pack("<I", claim) + b"PAR1")  # a real file, footer length lied
    warnings: list[str] = []
    store = Store([runs_root], on_warning=warnings.append)
    assert store.history(run.id).num_rows == 4
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == 4
    store.refresh()
    store.history(run.id)
    assert len(warnings) == 1 and str(bad) in warnings[0] and "skipping" in warnings[0]


def test_journal_lines_of_the_wrong_types_are_read_as_far_as_they_make_sense(runs_root):
    d = fake_run_dir(runs_root, "p", "r1", state="running", heartbeat_age=3600, history={"loss": [1.0, 2.0]})
    lines = [
        b'{"_step":"abc","loss":1}',  # step not an int: row kept, step NULL
        b'{"_step":5,"loss":[1,2]}',  # value not a number: NULL
        b'{"_step":6,"loss":{"a":1},"acc":0.5}',
        b'{"_step":7,"_nf":"zz","loss":7}',  # a bad non-finite mark is ignored
        b'{"_step":8,"_nf":{"loss":"nan","acc":5}}',
        b'{"_step":99999999999999999999999,"loss":1}',  # beyond int64
        b'{"_step":true,"loss":1}',  # a bool is not a step
        b'{"_step":9,"_text":"not a dict","loss":9}',
        b'{"_step":10,"_text":{"note":1,"k":"v"},"loss":10}',
        b"[1,2,3]",
        b"null",
        b"\xff\xfe" * 40,
        b'{"_step":11,"loss":1e400}',
    ]
    for sub in ("history", "text"):
        (d / sub).mkdir(exist_ok=True)
        (d / sub / "journal-abcdef01-00000000.jsonl").write_bytes(b"\n" + b"\n".join(lines))
    warnings: list[str] = []
    store = Store([runs_root], on_warning=warnings.append)
    h = store.history("r1").to_pylist()
    by_step = {r["_step"]: r for r in h if r["_step"] is not None}
    assert by_step[0]["loss"] == 1.0 and by_step[1]["loss"] == 2.0  # the part's rows
    assert by_step[5]["loss"] is None and by_step[6]["loss"] is None and by_step[6]["acc"] == 0.5
    assert by_step[7]["loss"] == 7.0 and math.isnan(by_step[8]["loss"])
    assert by_step[9]["loss"] == 9.0 and by_step[10]["loss"] == 10.0
    assert sum(r["_step"] is None for r in h) == 3
    texts = store.text("r1").to_pylist()
    assert sorted((t["_step"], t["key"], t["value"]) for t in texts) == [(10, "k", "v"), (10, "note", "1")]
    assert store.downsampled("r1", ["loss", "acc"]).num_rows > 0
    assert store.query("SELECT count(*) AS n FROM history").column("n")[0].as_py() == len(h)
    assert store.metric_names() == ["acc", "loss"]
    assert warnings == []


def corrupt_pages(part: Path, column: str) -> None:
    md = pq.read_metadata(part)
    rg = md.row_group(0)
    col = next(rg.column(i) for i in range(md.num_columns) if rg.column(i).path_in_schema == column)
    data = bytearray(part.read_bytes())
    for i in range(col.data_page_offset + 20, col.data_page_offset + 60):
        data[i] ^= 0xFF
    part.write_bytes(bytes(data))


def test_corrupt_pages_behind_a_good_footer_cost_one_warning_not_the_query(runs_root):
    bad = real_run(runs_root, steps=400, name="bad")
    good = real_run(runs_root, steps=4, name="good")
    part = next((Path(bad.dir) / "history").glob("part-*.parquet"))
    corrupt_pages(part, "loss")
    warnings: list[str] = []
    store = Store([runs_root], on_warning=warnings.append)
    # The other run's rows must come back whatever one bad file holds.
    assert store.history([bad.id, good.id], ["loss"]).num_rows >= 4
    assert len(warnings) == 1 and str(part) in warnings[0]


def test_a_part_with_a_nul_in_a_column_name_is_queried_with_the_others(runs_root):
    # Column names are the file's text, not ours: a hand-made part may hold any character.
    import pyarrow as pa

    plain = real_run(runs_root, steps=3, name="plain")
    odd = real_run(runs_root, steps=3, name="odd")
    part = next((Path(odd.dir) / "history").glob("part-*.parquet"))
    table = pq.read_table(part)
    odd_name = "bad\x00name"
    table = table.append_column(odd_name, pa.array([1.0, 2.0, 3.0]))
    pq.write_table(table, part)
    warnings: list[str] = []
    store = Store([runs_root], on_warning=warnings.append)
    counts = store.query("SELECT run_id, count(*) AS n FROM history GROUP BY run_id ORDER BY run_id").to_pylist()
    assert sorted(r["n"] for r in counts) == [3, 3]
    assert {r["run_id"] for r in counts} == {plain.id, odd.id}
    assert store.history(plain.id, ["loss"]).column("loss").to_pylist() == [1.0, 0.5, 1 / 3]
