"""Logs pane: tail of a big log, paging, follow (append, truncation), search, jump to a step, injection."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from textual.widgets import Input
from tui_helpers import focus, focus_in, settle, stays_true, wait_until

import recorder
from viewer.data.log_seek import offset_at_time, page_after, parse_log_time
from viewer.tui.app import LoupeApp
from viewer.tui.log_view import LogView
from viewer.tui.logs_pane import FOLLOW_S, LogsPane

HOSTILE = (
    "[@click=app.quit]click [link=file:///etc/passwd]pw[/link] [/bold] "
    "\x1b]0;TITLE\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x1b]8;;http://x\x07l2\x1b]8;;\x07"
    " \x1b[2J\x1b[6n \x1b[31mred\x1b[0m end"
)


def stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_run(root, finish=True, **kw):
    run = recorder.init(dir=root, project="p", system_interval=0, capture_console=False, reinit="create_new", **kw)
    return run


def write_log(path, n, t0, start=0, extra=""):
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(f"{stamp(t0 + i)} {'OE'[i % 2]} line {i}{extra}\n")


async def open_logs(app, pilot):
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    pane = app.query_one(LogsPane)
    await focus_in(pilot, pane)
    return pane, pane.query_one(LogView)


def visible(view):
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


def texts(view):
    return [ln.text for ln in view.lines]


async def test_tail_paging_search_and_jump(tmp_path):
    run = make_run(tmp_path, name="logs")
    for s in range(50):
        run.log({"loss": 1.0}, step=s * 100)
    run.finish()
    log = Path(run.dir) / "output.log"
    t0 = recorder_history(tmp_path)[10] - 4500  # step 1000 falls on log line 4500
    write_log(log, 5000, t0)
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await open_logs(app, pilot)
        assert app.focused is view
        assert len(view.lines) == 1000 and not view.at_start and view.at_end
        assert texts(view)[-1] == "line 4999" and texts(view)[0] == "line 4000"
        assert view.lines[-1].stream == "E" and view.lines[-2].stream == "O"
        assert view.pin_bottom and view.max_scroll_y > 0
        # Opened at the bottom (after the layout that sizes it).
        await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y, what="the view at its bottom")
        assert not pane.follow  # finished run
        # Rendered: local time, stream marker, text.
        hms = dt.datetime.fromtimestamp(t0 + 4999).strftime("%H:%M:%S")
        assert f"{hms} ┃ line 4999" in visible(view)

        # Scrolling to the top loads the previous page, keeping the view in place.
        await pilot.press("home")
        await settle(pilot)
        assert len(view.lines) == 1500 and texts(view)[0] == "line 3500"
        assert texts(view)[int(view.scroll_y)] == "line 4000"

        # Search with / and n / N.
        await pilot.press("slash")
        inp = pane.query_one("#logs-input", Input)
        await wait_until(pilot, lambda: app.focused is inp, what="the search box focused")
        inp.value = "LINE 42"
        await pilot.press("enter")
        await wait_until(pilot, lambda: view.search == "line 42", what="the search applied")
        assert view.search == "line 42" and pane._matches == 100  # 4200-4299 in the window
        first = view.cursor
        assert "line 42" in texts(view)[first]
        assert app.focused is view
        await pilot.press("n")
        assert view.cursor > first and "line 42" in texts(view)[view.cursor]
        await pilot.press("N")
        assert view.cursor == first

        # Jump to a step's time: the log is read around that time, not from the start.
        run_ts = pane.store.history(pane.run_ids[0], metrics=[]).column("_timestamp").to_pylist()
        target = run_ts[10]  # step 1000
        await pilot.press("t")
        await wait_until(pilot, lambda: app.focused is inp, what="the step box focused")
        inp.value = "1000"
        await pilot.press("enter")
        await settle(pilot)
        want = next(i for i in range(5000) if parse_log_time(stamp(t0 + i)) >= target)
        assert 4499 <= want <= 4501
        assert view.lines[view.cursor].text == f"line {want}"
        assert len(view.lines) == 1500  # it was in the loaded window: no reload
        assert not pane.follow
        assert app.is_running


async def test_jump_far_back_in_big_log(tmp_path):
    run = make_run(tmp_path)
    for _s in range(10):
        run.log({"loss": 1.0})
        time.sleep(0.002)
    run.finish()
    ts = [r for r in (recorder_history(tmp_path))]
    log = next(tmp_path.rglob("run.json")).parent / "output.log"
    # 200k lines, one per 10 ms of wall time around the steps, so step 3's time is far back.
    t_first = ts[0] - 1000
    with open(log, "w") as f:
        for i in range(200_000):
            f.write(f"{stamp(t_first + i * 0.01)} O l{i}\n")
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await open_logs(app, pilot)
        assert texts(view)[-1] == "l199999"
        pane.jump_to_step(3)
        await settle(pilot)
        cur = view.lines[view.cursor]
        off = offset_at_time(log, ts[3])
        assert cur.offset == off
        assert not view.at_end and not view.at_start
        # Scrolling down from a jump reads forward (page_after), never the whole file.
        view.scroll_end(animate=False)
        await settle(pilot)
        assert len(view.lines) > 600
        # f returns to the tail and follows.
        await focus(pilot, view)
        await pilot.press("f")
        await settle(pilot)
        assert pane.follow and view.at_end and texts(view)[-1] == "l199999"


def recorder_history(root):
    from viewer.data.store import Store

    with Store([root]) as s:
        rid = s.runs()[0].id
        return s.history(rid, metrics=[]).column("_timestamp").to_pylist()


async def test_follow_appends_truncation_and_run_chooser(tmp_path):
    other = make_run(tmp_path, name="other")
    other.finish()
    write_log(Path(other.dir) / "output.log", 3, time.time(), extra=" other")
    time.sleep(0.01)
    run = make_run(tmp_path, name="live")  # running: follow on by default
    log = Path(run.dir) / "output.log"
    t0 = time.time()
    write_log(log, 10, t0)
    app = LoupeApp([tmp_path], live=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            pane, view = await open_logs(app, pilot)
            assert pane.follow and texts(view)[-1] == "line 9"
            write_log(log, 5, t0, start=10)
            with open(log, "a") as f:
                f.write(f"{stamp(t0)} O partial")  # no newline yet: not shown
            await wait_until(pilot, lambda: texts(view)[-1] == "line 14", what="appended lines followed")
            assert "partial" not in texts(view)
            await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y, what="the view kept at its bottom")
            with open(log, "a") as f:
                f.write(" done\n")
            await wait_until(pilot, lambda: texts(view)[-1] == "partial done", what="the completed line")
            # Truncated (e.g. logrotate copytruncate): the view starts over.
            with open(log, "w") as f:
                f.write(f"{stamp(t0)} O fresh start\n")
            await wait_until(pilot, lambda: texts(view) == ["fresh start"], what="the truncated log shown afresh")
            # Rotated: renamed away and a new file written.
            os.rename(log, str(log) + ".1")
            write_log(log, 2, t0, extra=" rotated")
            rotated = ["line 0 rotated", "line 1 rotated"]
            await wait_until(pilot, lambda: texts(view) == rotated, what="the rotated log shown")
            # f pauses following: lines written now stay unread for a few follow ticks.
            await pilot.press("f")
            assert not pane.follow
            write_log(log, 1, t0, start=2, extra=" rotated")
            await stays_true(pilot, lambda: texts(view) == rotated, window=3 * FOLLOW_S, what="no follow while paused")

            # Several runs selected: ] shows the next one's log.
            ids = [r.id for r in app.all_runs]
            app.select(ids)
            await settle(pilot)
            shown = pane._shown
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert pane._shown != shown
            assert texts(view)[-1] == "line 2 other"
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert pane._shown == shown
    finally:
        run.finish()


async def test_markup_and_escapes_in_logs_are_inert(tmp_path):
    run = make_run(tmp_path, name="[@click=app.quit]\x1b]0;T\x07[/bold]")
    run.finish()
    log = next(tmp_path.rglob("run.json")).parent / "output.log"
    with open(log, "w") as f:
        for i in range(30):
            f.write(f"{stamp(time.time())} {'OE'[i % 2]} {i} {HOSTILE}\n")
        f.write("no timestamp at all \x1b]8;;file:///etc/passwd\x1b\\x\x1b]8;;\x1b\\\n")
    app = LoupeApp([tmp_path], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await open_logs(app, pilot)
        assert len(view.lines) == 31
        shot = app.export_screenshot()
        for bad in ("\x1b", "\x07", "http://evil", "file:///etc/passwd\x1b"):
            assert bad not in shot
        assert "[@click=app.quit]click" in shot and "[/bold]" in shot
        # Text that looked like markup is kept literally; SGR red is kept as a style only.
        line = view._text(view.lines[-2])
        assert "[link=file:///etc/passwd]pw[/link]" in line.plain
        assert any(str(span.style) == "red" for span in line.spans)
        assert not any(getattr(span.style, "link", None) for span in line.spans if not isinstance(span.style, str))
        # Clicking on the text does nothing; the header shows the name literally.
        await pilot.click("#logs-view", offset=(20, 3))
        await pilot.click("#logs-header", offset=(5, 0))
        await pilot.pause()
        assert app.is_running
        header = pane.query_one("#logs-header").render()
        assert "[@click=app.quit]" in str(header) and "\x1b" not in str(header)


def test_page_after_and_offset_at_time(tmp_path):
    log = tmp_path / "output.log"
    t0 = 1_800_000_000.0
    write_log(log, 1000, t0)
    data = log.read_bytes()
    offs = [0] + [i + 1 for i, b in enumerate(data) if b == 10][:-1]
    for i in (0, 1, 500, 999):
        assert offset_at_time(log, t0 + i) == offs[i]
        assert offset_at_time(log, t0 + i - 0.5) == offs[i]
    assert offset_at_time(log, t0 + 5000) == len(data)
    page = page_after(log, offs[10], max_lines=3)
    assert [ln.text for ln in page.lines] == ["line 10", "line 11", "line 12"] and page.end == offs[13]
    # A trailing line without its newline is left for the follower.
    with open(log, "a") as f:
        f.write("partial")
    page = page_after(log, offs[998], max_lines=10)
    assert [ln.text for ln in page.lines] == ["line 998", "line 999"]
