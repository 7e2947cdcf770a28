"""Rows waiting for publication live in the journal on disk, not in the training process:
memory stays flat however far the helper falls behind, and every row is still published
once, whole, even when the journal took only part of a line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from conftest import make_run
from run_reading import read_stream

from recorder import layout, stream_writer

ROWS = 20_000


def test_rows_waiting_for_publication_take_no_memory(runs_root):
    run = make_run(runs_root)
    history = run._files.history
    # Publication that has fallen far behind: nothing is published while the loop runs.
    history.rows_per_part = 10**9
    history.on_full = None
    rows = [{f"train/m{k}": round(1.0 / (s + k + 1), 4) for k in range(10)} for s in range(256)]
    run.log(dict(rows[0]))  # the journal open, the columns known
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for s in range(1, ROWS):
            run.log(dict(rows[s & 255]))
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert history.rows_waiting == ROWS
    # Held in memory, 20,000 encoded rows of 10 metrics take ~4 MB.
    assert after - before < 256 * 1024, f"{(after - before) / 1024:.0f} KiB held for {ROWS} waiting rows"
    run.finish()
    got = read_stream(Path(run.dir))
    assert [r[layout.STEP] for r in got] == list(range(ROWS))
    assert [r["train/m3"] for r in got[:256]] == [r["train/m3"] for r in rows]
    assert not list((Path(run.dir) / layout.HISTORY_DIR).glob("journal-*")), "published and removed"


def test_a_row_the_journal_took_only_part_of_is_published_whole(runs_root, monkeypatch):
    run = make_run(runs_root)
    real_write = stream_writer._write
    torn = []

    def write(fd: int, data: bytes) -> int:
        if not torn and b'"x":3.0' in data:
            torn.append(data)
            return real_write(fd, data[: len(data) // 2])  # the disk filled mid-line
        return real_write(fd, data)

    monkeypatch.setattr(stream_writer, "_write", write)
    for i in range(10):
        run.log({"x": float(i)})
    run._files.history.flush()
    for i in range(10, 20):
        run.log({"x": float(i)})
    run.finish()
    assert torn, "the short write happened"
    got = read_stream(Path(run.dir))
    assert [r["x"] for r in got] == [float(i) for i in range(20)]
    assert [r[layout.STEP] for r in got] == list(range(20))
