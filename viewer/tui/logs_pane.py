"""Logs tab: the console output of one selected run, read from the end, followed live.

Nothing here reads a whole log. The view holds a window of lines (at most MAX_LINES):
the tail at first (viewer.log_tail), older pages when scrolled to the top, newer pages
when scrolled to the bottom of a window that does not reach the end (after a jump),
new lines from a LogFollower while following. Every read happens in a thread worker.

Lines are shown as `HH:MM:SS │ text` (local time; stderr's marker in red). Colours come
only from viewer.sanitize.styled_segments (SGR codes turned into Rich styles); nothing
else from the file reaches the terminal.

Keys (when the pane has focus): f follow on/off, / search, n / N next/previous match,
t jump to a step's time, [ / ] previous/next selected run, home/end (g/G) top/bottom,
escape closes the prompt.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from ..log_seek import offset_at_time, page_after, parse_log_time, step_time
from ..log_tail import LogFollower, LogLine, page_before
from ..sanitize import sanitize, styled_segments
from .pane import Pane

MAX_LINES = 20_000  # lines kept in the window; beyond, the far end is dropped (re-read on scroll)
PAGE_LINES = 500
TAIL_LINES = 1_000
FOLLOW_S = 0.5
MAX_CELLS = 4_000  # longer lines are cut for display

_TIME_STYLE = Style(dim=True)
_OUT_MARK = Text("│ ", style="dim")
_ERR_MARK = Text("┃ ", style="bold red")
_MATCH = Style(color="black", bgcolor="yellow")
_CURSOR = Style(bgcolor="grey30")


def _local_hms(stamp: str | None) -> str:
    t = parse_log_time(stamp)
    if t is None:
        return "        "
    return dt.datetime.fromtimestamp(t).strftime("%H:%M:%S")


def render_log_line(line: LogLine) -> Text:
    """One log line as Rich Text: time, stream marker, text styled only from SGR codes."""
    text = Text(no_wrap=True, end="")
    text.append(_local_hms(line.time), _TIME_STYLE)
    text.append(" ")
    text.append_text(_ERR_MARK if line.stream == "E" else _OUT_MARK)
    if line.truncated:
        text.append("…", "dim")
    used = 0
    for seg in styled_segments(line.raw):
        chunk = seg.text
        if used + len(chunk) > MAX_CELLS:
            chunk = chunk[: MAX_CELLS - used]
        try:
            style = Style(color=seg.fg, bgcolor=seg.bg, bold=seg.bold or None, dim=seg.dim or None,
                          italic=seg.italic or None, underline=seg.underline or None,
                          reverse=seg.reverse or None, strike=seg.strike or None)
        except Exception:  # a colour Rich does not know: show the text plain
            style = Style()
        text.append(chunk, style)
        used += len(chunk)
        if used >= MAX_CELLS:
            text.append(f" …(+{len(line.text) - used} chars)", "dim")
            break
    return text


PREFIX_CELLS = 11  # "HH:MM:SS │ "


class LogView(ScrollView, can_focus=True):
    """A virtual list of LogLines: renders only the visible rows, keeps byte offsets."""

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; }
    LogView:focus { background-tint: $foreground 3%; }
    """

    class NeedOlder(Message):
        pass

    class NeedNewer(Message):
        pass

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[LogLine] = []
        self.at_start = True  # no lines before the window
        self.at_end = True  # the window reaches the end of the file
        self.end_offset = 0  # byte just after the window's last line
        self.search = ""
        self.cursor: int | None = None
        self._cache: OrderedDict[int, Text] = OrderedDict()
        self._width = 0
        self.pin_bottom = False  # keep showing the last line (until the user scrolls up)

    # -- content --------------------------------------------------------------------------
    @property
    def start_offset(self) -> int:
        return self.lines[0].offset if self.lines else self.end_offset

    def _measure(self, lines: list[LogLine]) -> None:
        for ln in lines:
            w = PREFIX_CELLS + min(len(ln.text), MAX_CELLS + 20)
            if w > self._width:
                self._width = w

    def _resize(self) -> None:
        self.virtual_size = Size(self._width, len(self.lines))
        self.refresh()

    def set_window(self, lines: list[LogLine], at_start: bool, at_end: bool, end_offset: int) -> None:
        self.pin_bottom = False
        self.lines = list(lines[-MAX_LINES:])
        self.at_start = at_start and len(lines) <= MAX_LINES
        self.at_end = at_end
        self.end_offset = end_offset
        self.cursor = None
        self._cache.clear()
        self._width = 0
        self._measure(self.lines)
        self._resize()

    def prepend(self, lines: list[LogLine], at_start: bool) -> None:
        if not lines:
            self.at_start = at_start
            return
        n = len(lines)
        self.lines[:0] = lines
        self.at_start = at_start
        if self.cursor is not None:
            self.cursor += n
        drop = len(self.lines) - MAX_LINES
        if drop > 0:
            # The next read forward starts at the first dropped line.
            self.end_offset = self.lines[-drop].offset
            del self.lines[-drop:]
            self.at_end = False
        self._measure(lines)
        y = self.scroll_y
        self._resize()
        self.scroll_to(y=y + n, animate=False, immediate=True)

    def append(self, lines: list[LogLine], end_offset: int, at_end: bool, follow: bool) -> None:
        self.end_offset = end_offset
        self.at_end = at_end
        if not lines:
            return
        was_bottom = self.is_vertical_scroll_end or self.max_scroll_y == 0
        self.lines.extend(lines)
        drop = len(self.lines) - MAX_LINES
        if drop > 0:
            del self.lines[:drop]
            self.at_start = False
            if self.cursor is not None:
                self.cursor = self.cursor - drop if self.cursor >= drop else None
        self._measure(lines)
        y = self.scroll_y
        self._resize()
        if follow or was_bottom or self.pin_bottom:
            self.stick_to_bottom()
        elif drop > 0:
            self.scroll_to(y=max(0, y - drop), animate=False, immediate=True)

    def clear(self) -> None:
        self.set_window([], True, True, 0)

    # -- search / cursor ------------------------------------------------------------------
    def set_search(self, query: str) -> int:
        self.search = query.lower()
        self.refresh()
        return self.count_matches()

    def count_matches(self) -> int:
        q = self.search
        return sum(1 for ln in self.lines if q in ln.text.lower()) if q else 0

    def find(self, forward: bool) -> int | None:
        q = self.search
        if not q or not self.lines:
            return None
        here = self.cursor if self.cursor is not None else (
            int(self.scroll_y) - 1 if forward else int(self.scroll_y) + self.size.height)
        rng = range(here + 1, len(self.lines)) if forward else range(min(here, len(self.lines)) - 1, -1, -1)
        for i in rng:
            if q in self.lines[i].text.lower():
                return i
        return None

    def move_cursor(self, index: int) -> None:
        self.unpin()
        self.cursor = index
        self.scroll_to(y=max(0, index - self.size.height // 3), animate=False, immediate=True)
        self.refresh()

    def index_at_offset(self, offset: int) -> int:
        offsets = [ln.offset for ln in self.lines]
        return min(bisect_left(offsets, offset), max(len(self.lines) - 1, 0))

    # -- rendering ------------------------------------------------------------------------
    def _text(self, line: LogLine) -> Text:
        t = self._cache.get(line.offset)
        if t is None:
            t = render_log_line(line)
            self._cache[line.offset] = t
            if len(self._cache) > 4000:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(line.offset)
        return t

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        idx = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if idx >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[idx]
        text = self._text(line)
        if (self.search and self.search in line.text.lower()) or idx == self.cursor:
            text = text.copy()
            if self.search:
                plain = text.plain.lower()
                q = self.search
                start = plain.find(q, PREFIX_CELLS)
                while start >= 0:
                    text.stylize(_MATCH, start, start + len(q))
                    start = plain.find(q, start + len(q))
            if idx == self.cursor:
                text.stylize(_CURSOR)
        strip = Strip(list(text.render(self.app.console)), cell_len(text.plain))
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if idx == self.cursor:
            strip = strip.apply_style(_CURSOR)
        return strip.apply_style(base).apply_offsets(scroll_x, idx)

    def stick_to_bottom(self) -> None:
        self.pin_bottom = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        # The new virtual size applies on the next layout: scroll again after it.
        self.call_after_refresh(self._heal_bottom)

    def _heal_bottom(self) -> None:
        if self.pin_bottom and self.scroll_y != self.max_scroll_y:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        self._heal_bottom()

    def unpin(self) -> None:
        self.pin_bottom = False

    def action_scroll_up(self) -> None:
        self.unpin()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.unpin()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.unpin()
        super().action_scroll_home()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.lines:
            return
        if new_value <= 0 and old_value > 0 and not self.at_start:
            self.post_message(self.NeedOlder())
        elif new_value >= self.max_scroll_y and old_value < new_value and not self.at_end:
            self.post_message(self.NeedNewer())

    def on_mouse_scroll_up(self) -> None:
        self.unpin()
        # Already at the top (short window): the wheel asks for older lines too.
        if self.scroll_y <= 0 and not self.at_start and self.lines:
            self.post_message(self.NeedOlder())

    def on_mouse_scroll_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y and not self.at_end and self.lines:
            self.post_message(self.NeedNewer())


@dataclass
class _Loaded:
    gen: int
    run_id: str
    lines: list[LogLine]
    at_start: bool
    at_end: bool
    end_offset: int
    follower: LogFollower | None
    cursor_offset: int | None = None
    note: str = ""


class LogsPane(Pane):
    DEFAULT_CSS = """
    LogsPane { layout: vertical; height: 1fr; }
    LogsPane #logs-header { height: 1; padding: 0 1; background: $panel; }
    LogsPane #logs-status { height: 1; padding: 0 1; color: $text-muted; }
    LogsPane #logs-prompt { height: auto; display: none; }
    LogsPane #logs-prompt.visible { display: block; }
    LogsPane #logs-prompt-label { width: auto; padding: 1 1 0 1; }
    LogsPane #logs-input { width: 1fr; }
    """

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next match"),
        Binding("N", "prev_match", "Prev match"),
        Binding("t", "jump_step", "Jump to step"),
        Binding("left_square_bracket", "cycle_run(-1)", "Prev run"),
        Binding("right_square_bracket", "cycle_run(1)", "Next run"),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom", show=False),
        Binding("escape", "close_prompt", "Close", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.follow = False
        self._shown: str | None = None  # run id whose log is in the view
        self._gen = 0
        self._follower: LogFollower | None = None
        self._polling = False
        self._loading = False
        self._prompt_mode = ""
        self._note = ""
        self._matches = 0

    def compose(self):
        yield Static(id="logs-header")
        yield LogView(id="logs-view")
        with Horizontal(id="logs-prompt"):
            yield Static("", id="logs-prompt-label")
            yield Input(id="logs-input")
        yield Static(id="logs-status")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.set_interval(FOLLOW_S, self._tick)
        self._show_header()
        self._show_status()

    # -- which run ------------------------------------------------------------------------
    def selection_changed(self, runs, colors) -> None:
        if self._shown is not None:
            self.keep_showing(runs, self._shown)
        super().selection_changed(runs, colors)

    def data_changed(self) -> None:
        # New lines come from the follower; only the header (state) may change here.
        self._show_header()
        run = self.current_run
        if run is not None and run.id != self._shown:
            self.request_refresh()

    def reload(self) -> None:
        run = self.current_run
        self._show_header()
        if run is None:
            self._shown = None
            self._follower = None
            self._gen += 1
            self.view.clear()
            self._note = "no run selected"
            self._show_status()
            return
        if run.id == self._shown:
            return
        self.follow = run.state == "running"
        self._load_tail(run.id)

    def _load_tail(self, run_id: str) -> None:
        self._gen += 1
        self._shown = run_id
        self._follower = None
        self._loading = True
        self._note = "loading…"
        self._show_status()
        self._show_header()
        self._tail_worker(self._gen, run_id)

    @work(thread=True, exclusive=True, group="logs-load", exit_on_error=False)
    def _tail_worker(self, gen: int, run_id: str) -> None:
        store = self.store
        if store is None:
            return
        try:
            path = store.log_path(run_id)
            follower = store.follow_log(run_id)  # first, so no line falls between the two reads
            page = page_before(path, follower.offset, max_lines=TAIL_LINES)
            note = "" if page.lines or page.size else "no console output recorded"
            loaded = _Loaded(gen, run_id, page.lines, page.at_start, True, follower.offset, follower, note=note)
        except Exception as exc:
            loaded = _Loaded(gen, run_id, [], True, True, 0, None, note=f"cannot read log: {exc}")
        self.app.call_from_thread(self._tail_loaded, loaded)

    def _tail_loaded(self, loaded: _Loaded) -> None:
        if loaded.gen != self._gen:
            return
        self._loading = False
        self._follower = loaded.follower
        self.view.set_window(loaded.lines, loaded.at_start, loaded.at_end, loaded.end_offset)
        self._to_bottom()
        self._note = loaded.note
        if self.view.search:
            self._matches = self.view.count_matches()
        self._show_status()

    # -- follow ---------------------------------------------------------------------------
    def _tick(self) -> None:
        self.view._heal_bottom()
        if not self.follow or self._polling or self._loading or self._follower is None:
            return
        if not self.view.at_end or not self.is_showing:
            return
        self._polling = True
        self._poll_worker(self._gen, self._follower)

    @work(thread=True, group="logs-poll", exit_on_error=False)
    def _poll_worker(self, gen: int, follower: LogFollower) -> None:
        try:
            update = follower.poll()
        except Exception as exc:
            update = None
            err = str(exc)
        else:
            err = ""
        self.app.call_from_thread(self._polled, gen, update, follower, err)

    def _polled(self, gen, update, follower: LogFollower, err: str) -> None:
        self._polling = False
        if gen != self._gen or update is None:
            if err:
                self._note = f"follow failed: {err}"
                self._show_status()
            return
        if update.skipped_bytes and self._shown is not None:
            # Grew by more than one read between polls: start again from the new tail.
            self._load_tail(self._shown)
            return
        if update.reset:
            self.view.set_window(update.lines, True, True, follower.offset)
            self._to_bottom()
            self._note = "log truncated or replaced: showing it from the start"
        elif update.lines:
            self.view.append(update.lines, follower.offset, True, follow=self.follow)
        else:
            return
        if self.view.search:
            self._matches = self.view.count_matches()
        self._show_status()

    def _to_bottom(self) -> None:
        self.view.stick_to_bottom()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow and self._shown is not None and not self.view.at_end:
            self._load_tail(self._shown)  # jumped away earlier: return to the tail
        elif self.follow:
            self.view.stick_to_bottom()
        self._show_header()

    # -- paging ---------------------------------------------------------------------------
    @on(LogView.NeedOlder)
    def _need_older(self, event: LogView.NeedOlder) -> None:
        event.stop()
        if self._loading or self._shown is None or self.view.at_start:
            return
        self._loading = True
        self._older_worker(self._gen, self._shown, self.view.start_offset)

    @work(thread=True, exclusive=True, group="logs-load", exit_on_error=False)
    def _older_worker(self, gen: int, run_id: str, offset: int) -> None:
        store = self.store
        if store is None:
            return
        try:
            page = page_before(store.log_path(run_id), offset, max_lines=PAGE_LINES)
        except Exception as exc:
            self.app.call_from_thread(self._load_failed, gen, str(exc))
            return
        self.app.call_from_thread(self._older_loaded, gen, page.lines, page.at_start)

    def _older_loaded(self, gen: int, lines: list[LogLine], at_start: bool) -> None:
        if gen != self._gen:
            return
        self._loading = False
        view = self.view
        view.prepend(lines, at_start)
        if not view.at_end:
            self._follower = None  # the tail is no longer in the window
        self._show_status()

    @on(LogView.NeedNewer)
    def _need_newer(self, event: LogView.NeedNewer) -> None:
        event.stop()
        if self._loading or self._shown is None or self.view.at_end:
            return
        self._loading = True
        self._newer_worker(self._gen, self._shown, self.view.end_offset)

    @work(thread=True, exclusive=True, group="logs-load", exit_on_error=False)
    def _newer_worker(self, gen: int, run_id: str, offset: int) -> None:
        store = self.store
        if store is None:
            return
        try:
            follower = store.follow_log(run_id)
            limit = follower.offset - offset
            page = page_after(store.log_path(run_id), offset, max_lines=PAGE_LINES,
                              max_bytes=max(1, min(limit, 1 << 20)))
            at_end = page.end >= follower.offset
        except Exception as exc:
            self.app.call_from_thread(self._load_failed, gen, str(exc))
            return
        self.app.call_from_thread(self._newer_loaded, gen, page.lines, page.end, at_end,
                                  follower if at_end else None)

    def _newer_loaded(self, gen: int, lines: list[LogLine], end: int, at_end: bool,
                      follower: LogFollower | None) -> None:
        if gen != self._gen:
            return
        self._loading = False
        if at_end:
            self._follower = follower
        self.view.append(lines, end, at_end, follow=False)
        self._show_status()

    def _load_failed(self, gen: int, err: str) -> None:
        if gen != self._gen:
            return
        self._loading = False
        self._note = f"cannot read log: {err}"
        self._show_status()

    # -- search and jump ------------------------------------------------------------------
    def _open_prompt(self, mode: str, label: str, value: str = "") -> None:
        self._prompt_mode = mode
        self.query_one("#logs-prompt-label", Static).update(Text(label))
        box = self.query_one("#logs-prompt")
        box.add_class("visible")
        inp = self.query_one("#logs-input", Input)
        inp.value = value
        inp.focus()

    def action_close_prompt(self) -> None:
        box = self.query_one("#logs-prompt")
        if box.has_class("visible"):
            box.remove_class("visible")
            self._prompt_mode = ""
            self.view.focus()

    def action_search(self) -> None:
        self._open_prompt("search", "search:", self.view.search)

    def action_jump_step(self) -> None:
        self._open_prompt("step", "jump to step:")

    @on(Input.Submitted, "#logs-input")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        mode = self._prompt_mode
        value = event.value.strip()
        self.action_close_prompt()
        if mode == "search":
            self.search_for(value)
        elif mode == "step":
            try:
                step = int(value)
            except ValueError:
                self._note = f"not a step number: {sanitize(value)[:40]}"
                self._show_status()
                return
            self.jump_to_step(step)

    def search_for(self, query: str) -> None:
        self._matches = self.view.set_search(query)
        self.view.cursor = None
        if query:
            hit = self.view.find(forward=False) if self.follow else self.view.find(forward=True)
            if hit is None:
                hit = self.view.find(forward=not self.follow)
            if hit is not None:
                self.view.move_cursor(hit)
        self._note = ""
        self._show_status()

    def action_next_match(self) -> None:
        self._step_match(True)

    def action_prev_match(self) -> None:
        self._step_match(False)

    def _step_match(self, forward: bool) -> None:
        if not self.view.search:
            self.action_search()
            return
        hit = self.view.find(forward)
        if hit is None:
            more = "" if (self.view.at_end if forward else self.view.at_start) else (
                " (in loaded lines; scroll to load more)")
            self._note = f"no {'later' if forward else 'earlier'} match{more}"
        else:
            self.view.move_cursor(hit)
            self._note = ""
        self._show_status()

    def jump_to_step(self, step: int) -> None:
        if self._shown is None:
            return
        self.follow = False
        self._show_header()
        self._loading = True
        view = self.view
        self._jump_worker(self._gen, self._shown, step, view.start_offset, view.end_offset)

    @work(thread=True, exclusive=True, group="logs-load", exit_on_error=False)
    def _jump_worker(self, gen: int, run_id: str, step: int, start: int, end: int) -> None:
        store = self.store
        if store is None:
            return
        try:
            ts = step_time(store, run_id, step)
            if ts is None:
                self.app.call_from_thread(self._load_failed, gen, f"run has no history to find step {step}")
                return
            path = store.log_path(run_id)
            offset = offset_at_time(path, ts)
            if start <= offset < end:
                self.app.call_from_thread(self._jump_in_window, gen, offset, step)
                return
            follower = store.follow_log(run_id)
            before = page_before(path, offset, max_lines=100)
            after = page_after(path, offset, max_lines=PAGE_LINES,
                               max_bytes=max(1, min(follower.offset - offset, 1 << 20)))
            at_end = after.end >= follower.offset
            loaded = _Loaded(gen, run_id, before.lines + after.lines, before.at_start, at_end,
                             after.end if after.lines else offset, follower if at_end else None,
                             cursor_offset=offset, note=f"step {step}")
        except Exception as exc:
            self.app.call_from_thread(self._load_failed, gen, str(exc))
            return
        self.app.call_from_thread(self._jump_loaded, loaded)

    def _jump_in_window(self, gen: int, offset: int, step: int) -> None:
        if gen != self._gen:
            return
        self._loading = False
        self.view.move_cursor(self.view.index_at_offset(offset))
        self._note = f"step {step}"
        self._show_status()

    def _jump_loaded(self, loaded: _Loaded) -> None:
        if loaded.gen != self._gen:
            return
        self._loading = False
        self._follower = loaded.follower
        view = self.view
        view.set_window(loaded.lines, loaded.at_start, loaded.at_end, loaded.end_offset)
        if loaded.cursor_offset is not None and view.lines:
            view.move_cursor(view.index_at_offset(loaded.cursor_offset))
        self._note = loaded.note
        self._show_status()

    # -- run chooser, navigation ----------------------------------------------------------
    def action_cycle_run(self, delta: int) -> None:
        if self.step_run(delta):
            self.reload()

    def action_top(self) -> None:
        self.view.unpin()
        self.view.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.view.stick_to_bottom()

    # -- header and status ----------------------------------------------------------------
    def _show_header(self) -> None:
        if not self.is_mounted:
            return
        run = self.current_run
        t = Text(no_wrap=True, overflow="ellipsis")
        if run is None:
            t.append("No run selected: pick one in the Runs tab (1).", "dim")
        else:
            t.append("● ", self.run_colors.rich_color(run.id) or "white")
            t.append(sanitize(run.name or run.id), "bold")
            t.append(f"  {sanitize(run.project)}/{sanitize(run.id)}  ", "dim")
            t.append(sanitize(run.state), "green" if run.state == "running" else (
                "red" if run.state in ("failed", "crashed") else ""))
            t.append("  follow: ")
            t.append("on" if self.follow else "off", "bold green" if self.follow else "dim")
            if len(self.runs) > 1:
                t.append(f"  run {self.run_index + 1}/{len(self.runs)} ([ ])", "dim")
        self.query_one("#logs-header", Static).update(t)

    def _show_status(self) -> None:
        if not self.is_mounted:
            return
        view = self.view
        parts = [f"{len(view.lines):,} lines"]
        if view.lines:
            parts.append("from the start" if view.at_start else "scroll up for older")
            if not view.at_end:
                parts.append("not at the end (f: back to the tail)")
        if view.search:
            parts.append(f"/{view.search}: {self._matches} match{'es' if self._matches != 1 else ''}")
        if self._note:
            parts.append(self._note)
        self.query_one("#logs-status", Static).update(Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"))
