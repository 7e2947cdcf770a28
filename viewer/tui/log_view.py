"""The log view: a scrollable window of log lines that renders only the rows on screen.

Lines are shown as `HH:MM:SS │ text` (local time; stderr's marker in red). Colours come
only from viewer.data.sanitize.styled_segments (SGR codes turned into Rich styles); nothing
else from the file reaches the terminal. Search matches are highlighted as rows are drawn.

The view reads nothing itself: it asks for more lines with NeedOlder / NeedNewer when
scrolled past either end of its window, and the pane loads them.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import OrderedDict
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from viewer.data.log_seek import parse_log_time
from viewer.data.log_tail import LogLine
from viewer.data.sanitize import styled_segments

MAX_LINES = 20_000  # lines kept in the window; beyond, the far end is dropped (re-read on scroll)
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
            style = Style(
                color=seg.fg,
                bgcolor=seg.bg,
                bold=seg.bold or None,
                dim=seg.dim or None,
                italic=seg.italic or None,
                underline=seg.underline or None,
                reverse=seg.reverse or None,
                strike=seg.strike or None,
            )
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

    class NeedOlder(Message):
        pass

    class NeedNewer(Message):
        pass

    def __init__(self, **kwargs: Any) -> None:
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
        here = (
            self.cursor
            if self.cursor is not None
            else (int(self.scroll_y) - 1 if forward else int(self.scroll_y) + self.size.height)
        )
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
