"""viewer.data.log_tail: tail from the end, page back, follow through truncation and rotation."""

from __future__ import annotations

import os
import time
import tracemalloc

from viewer.data.log_tail import LogFollower, page_before, parse_line, tail


def _write(path, lines, mode="w"):
    with open(path, mode, encoding="utf-8") as f:
        for ln in lines:
            f.write(ln + "\n")


def _line(i, stream="O"):
    return f"2026-11-29T14:08:{i % 60:02d}.123Z {stream} line {i}"


def test_tail_returns_the_last_lines_parsed(tmp_path):
    p = tmp_path / "output.log"
    _write(p, [_line(i) for i in range(1000)] + ["2026-11-29T14:09:00.000Z E oops \x1b]0;title\x07done"])
    page = tail(p, max_lines=5)
    assert [ln.text for ln in page.lines[:4]] == [f"line {i}" for i in range(996, 1000)]
    last = page.lines[-1]
    assert last.stream == "E" and last.time == "2026-11-29T14:09:00.000Z"
    assert last.text == "oops done" and "\x1b" in last.raw
    assert not page.at_start and page.end == p.stat().st_size


def test_paging_backwards_reaches_the_start_without_gaps(tmp_path):
    p = tmp_path / "output.log"
    _write(p, [_line(i) for i in range(500)])
    seen = []
    page = tail(p, max_lines=64, max_bytes=4096)
    while True:
        seen = [ln.text for ln in page.lines] + seen
        if page.at_start:
            break
        page = page_before(p, page.start, max_lines=64, max_bytes=4096)
    assert seen == [f"line {i}" for i in range(500)]


def test_unformatted_lines_and_missing_file(tmp_path):
    p = tmp_path / "output.log"
    p.write_bytes(b"no timestamp here\nbad utf8 \xff\xfe\n")
    page = tail(p)
    assert page.lines[0].time is None and page.lines[0].stream == "O" and page.lines[0].text == "no timestamp here"
    assert "\ufffd" in page.lines[1].text
    assert tail(tmp_path / "missing.log").lines == []
    assert parse_line(b"2026-11-29T14:08:12.123Z E x").stream == "E"


def test_a_2gb_file_without_newlines_tails_fast_with_bounded_memory(tmp_path):
    p = tmp_path / "output.log"
    with open(p, "wb") as f:  # sparse: 2 GiB, no newline anywhere
        f.truncate(2 << 30)
        f.seek((2 << 30) - 10)
        f.write(b"end marker")
    tail(p)  # warm the page cache path once
    tracemalloc.start()
    t0 = time.perf_counter()
    page = tail(p)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.05, elapsed
    assert peak < 5 << 20, peak
    assert len(page.lines) == 1 and page.lines[0].truncated and page.lines[0].text.endswith("end marker")


def test_follow_sees_growth_partial_lines_truncation_and_rotation(tmp_path):
    p = tmp_path / "output.log"
    _write(p, [_line(0)])
    f = LogFollower(p)
    assert f.poll().lines == []
    _write(p, [_line(1), _line(2)], "a")
    assert [ln.text for ln in f.poll().lines] == ["line 1", "line 2"]
    with open(p, "a") as fh:
        fh.write("2026-11-29T14:08:03.123Z O par")
    assert f.poll().lines == []
    with open(p, "a") as fh:
        fh.write("tial\n")
    assert [ln.text for ln in f.poll().lines] == ["partial"]
    # truncation (copytruncate-style)
    with open(p, "w") as fh:
        fh.write(_line(7) + "\n")
    upd = f.poll()
    assert upd.reset and [ln.text for ln in upd.lines] == ["line 7"]
    # rotation: rename away, a new file appears at the path
    os.rename(p, tmp_path / "output.log.1")
    upd = f.poll()
    assert upd.missing and upd.reset
    _write(p, [_line(8)])
    upd = f.poll()
    assert [ln.text for ln in upd.lines] == ["line 8"]
    # replaced by a different inode of the same size
    tmp = tmp_path / "new.log"
    _write(tmp, [_line(9)])
    os.replace(tmp, p)
    upd = f.poll()
    assert upd.reset and [ln.text for ln in upd.lines] == ["line 9"]


def test_follow_caps_a_burst_and_reports_skipped_bytes(tmp_path):
    p = tmp_path / "output.log"
    p.write_text("")
    f = LogFollower(p, max_bytes=1000)
    _write(p, [_line(i) for i in range(200)], "a")
    upd = f.poll()
    assert upd.skipped_bytes > 0
    assert upd.lines[-1].text == "line 199"
    assert sum(len(ln.raw) + 1 for ln in upd.lines) <= 1000


def test_follow_file_created_later(tmp_path):
    p = tmp_path / "output.log"
    f = LogFollower(p, start="beginning")
    assert f.poll().missing
    _write(p, [_line(1)])
    assert [ln.text for ln in f.poll().lines] == ["line 1"]
