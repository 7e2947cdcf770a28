"""Whole-file log search (n / N past the loaded lines): the read layer, then in the pane."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_logs import make_run, open_logs, stamp, write_log
from tui_helpers import settle

from viewer.data import log_search
from viewer.data.log_search import find_line
from viewer.tui.app import LoupeApp
from viewer.tui.log_view import LogView
from viewer.tui.logs_pane import LogsPane


def offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    out, pos = [], 0
    for line in data.split(b"\n")[:-1]:
        out.append(pos)
        pos += len(line) + 1
    return out


@pytest.fixture
def small_chunks(monkeypatch):
    # Chunks smaller than a line or two: every boundary case is hit in a small file.
    monkeypatch.setattr(log_search, "CHUNK_BYTES", 37)


@pytest.mark.parametrize("chunked", [False, True])
def test_find_line_forward_and_backward(tmp_path, request, chunked):
    if chunked:
        request.getfixturevalue("small_chunks")
    log = tmp_path / "output.log"
    write_log(log, 200, 1_700_000_000.0)
    at = offsets(log)
    assert find_line(log, "LINE 150", 0, forward=True) == at[150]
    assert find_line(log, "line 15", at[16], forward=True) == at[150]  # 15 itself is behind
    assert find_line(log, "line 15", at[16], forward=False) == at[15]
    assert find_line(log, "line 150", at[151], forward=False) == at[150]
    assert find_line(log, "line 150", at[150], forward=False) is None  # strictly before
    assert find_line(log, "line 150", at[151], forward=True) is None
    assert find_line(log, "nowhere", 0, forward=True) is None
    assert find_line(log, "", 0, forward=True) is None


def test_matches_inside_escapes_or_timestamps_do_not_count(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"2026-01-01T00:00:00.000Z O \x1b[31mred\x1b[0m text\n2026-01-01T00:00:01.000Z O plain 31m here\n")
    at = offsets(log)
    # "31m" is inside the colour code of line 0: only line 1 shows it.
    assert find_line(log, "31m", 0, forward=True) == at[1]
    assert find_line(log, "2026-01-01", 0, forward=True) is None
    assert find_line(log, "red text", 0, forward=True) == at[0]


def test_long_lines_a_partial_last_line_and_stop(tmp_path, small_chunks):
    log = tmp_path / "output.log"
    long_line = "x" * 500
    log.write_text(
        f"{stamp(1.0)} O {long_line}\n{stamp(2.0)} O needle one\n{stamp(3.0)} O {long_line}\n"
        f"{stamp(4.0)} O needle being written"
    )
    at = offsets(log)
    assert find_line(log, "needle", 0, forward=True) == at[1]
    assert find_line(log, "needle", at[2], forward=True) is None  # the unfinished line is the follower's
    partial_start = log.read_bytes().rfind(b"\n") + 1
    assert find_line(log, "needle", partial_start, forward=False) == at[1]  # back past a long line
    assert find_line(log, "needle", 0, forward=True, stop=lambda: True) is None


async def test_n_past_the_loaded_lines_searches_the_whole_log(tmp_path):
    run = make_run(tmp_path, name="big")
    run.finish()
    log = Path(run.dir) / "output.log"
    write_log(log, 20_000, 1_700_000_000.0)
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await open_logs(app, pilot)
        assert view.lines[0].text == "line 19000"  # only the last 1,000 lines are loaded
        pane.search_for("line 123")  # 123 and 1230-1239 and 12300-12399: none loaded
        await settle(pilot)  # none in the window: the file is searched, back from it
        assert view.lines[view.cursor].text == "line 12399"
        assert "found /line 123" in str(pane.query_one("#logs-status").render())
        await pilot.press("N")
        await settle(pilot)
        assert view.lines[view.cursor].text == "line 12398"  # within the new window
        await pilot.press("n", "n")
        await settle(pilot)
        assert view.lines[view.cursor].text == "line 12399"
        await pilot.press("n")  # nothing after 12399 in the whole file
        await settle(pilot)
        assert view.lines[view.cursor].text == "line 12399"
        assert "no later match in the log" in str(pane.query_one("#logs-status").render())
        pane.search_for("line 7")
        view.cursor = 0
        await pilot.press("N")
        await settle(pilot)
        assert view.lines[view.cursor].text.startswith("line 7")
        assert isinstance(app.focused, LogView) and isinstance(pane, LogsPane)
