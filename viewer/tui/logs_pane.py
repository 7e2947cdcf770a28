"""Logs tab: the console output of one selected run, read from the end, followed live.

Nothing here reads a whole log. The view (log_view.LogView) holds a window of lines (at
most log_view.MAX_LINES): the tail at first, older pages when scrolled to the top, newer pages when
scrolled to the bottom of a window that does not reach the end (after a jump), new lines
from a LogFollower while following. Every read is one of log_reads' functions, run in a
thread worker; this module decides when to read and puts the results in the view.

Keys (when the pane has focus): f follow on/off, / search, n / N next/previous match,
t jump to a step's time, [ / ] previous/next selected run, home/end (g/G) top/bottom,
escape closes the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from viewer.data.log_reads import (
    LogWindow,
    find_step,
    find_text,
    read_newer,
    read_older,
    read_tail,
)
from viewer.data.log_tail import LogFollower, LogPage
from viewer.data.sanitize import sanitize
from viewer.tui.log_view import LogView
from viewer.tui.pane import Pane

FOLLOW_S = 0.5


class LogsPane(Pane):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.follow = False
        self._shown: str | None = None  # run id whose log is in the view
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

    def pane_mounted(self) -> None:
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
            self._follower = None  # a poll still running for the old run is dropped
            self.drop_fetches("logs-load")
            self.view.clear()
            self._note = "no run selected"
            self._show_status()
            return
        if run.id == self._shown:
            return
        self.follow = run.state == "running"
        self._load_tail(run.id)

    def _load_tail(self, run_id: str) -> None:
        self._shown = run_id
        self._follower = None
        self._loading = True
        self._note = "loading…"
        self._show_status()
        self._show_header()
        self._read(self._tail_loaded, read_tail, run_id)

    def _read(self, done: Callable[[Any], None], read: Callable[..., Any], *args: Any) -> None:
        # One group for every read: a jump or a new run's tail replaces a page still loading
        # (a search it stops returns None, and is dropped as superseded).
        store = self.store
        if store is None:
            return
        self.fetch(read, store, *args, apply=done, group="logs-load", failed=self._load_failed)

    def _tail_loaded(self, loaded: LogWindow) -> None:
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
        follower = self._follower

        def failed(error: Exception) -> None:
            self._polling = False
            if follower is self._follower:
                self._note = f"follow failed: {error}"
                self._show_status()

        self.fetch(follower.poll, apply=partial(self._polled, follower=follower), group="logs-poll", failed=failed)

    def _polled(self, update, follower: LogFollower) -> None:
        self._polling = False
        if follower is not self._follower or update is None:
            return  # another run's tail, or a page, replaced the one this poll followed
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
        self._read(self._older_loaded, read_older, self._shown, self.view.start_offset)

    def _older_loaded(self, page: LogPage) -> None:
        self._loading = False
        view = self.view
        view.prepend(page.lines, page.at_start)
        if not view.at_end:
            self._follower = None  # the tail is no longer in the window
        self._show_status()

    @on(LogView.NeedNewer)
    def _need_newer(self, event: LogView.NeedNewer) -> None:
        event.stop()
        if self._loading or self._shown is None or self.view.at_end:
            return
        self._loading = True
        self._read(self._newer_loaded, read_newer, self._shown, self.view.end_offset)

    def _newer_loaded(self, page: LogWindow) -> None:
        self._loading = False
        if page.at_end:
            self._follower = page.follower
        self.view.append(page.lines, page.end_offset, page.at_end, follow=False)
        self._show_status()

    def _load_failed(self, error: Exception) -> None:
        self._loading = False
        self._note = f"cannot read log: {error}"
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
            elif self._shown is not None and not (self.view.at_start and self.view.at_end):
                # Nothing in the loaded lines: look through the file, back from them first
                # (the pane opens at the end, so earlier output is what is missing).
                self._search_file(forward=self.view.at_start)
                return
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
        if hit is not None:
            self.view.move_cursor(hit)
            self._note = ""
        elif self._shown is None or (self.view.at_end if forward else self.view.at_start):
            self._note = f"no {'later' if forward else 'earlier'} match"
        else:
            self._search_file(forward)
        self._show_status()

    def _search_file(self, forward: bool) -> None:
        # Past the loaded lines the file itself is searched, in a worker: a 2 GB log
        # takes seconds, and any other read (or a new search) stops it.
        view = self.view
        self.follow = False
        self._show_header()
        self._loading = True
        self._note = f"searching the log {'forward' if forward else 'backward'}…"
        offset = view.end_offset if forward else view.start_offset
        self._read(
            partial(self._searched, forward=forward),
            find_text,
            self._shown,
            view.search,
            offset,
            forward,
            lambda: get_current_worker().is_cancelled,
        )

    def _searched(self, found: LogWindow | None, forward: bool) -> None:
        self._loading = False
        if found is None:
            self._note = f"no {'later' if forward else 'earlier'} match in the log"
        else:
            self._show_window(found)
        self._show_status()

    def jump_to_step(self, step: int) -> None:
        if self._shown is None:
            return
        self.follow = False
        self._show_header()
        self._loading = True
        view = self.view
        self._read(
            partial(self._jumped, step=step),
            find_step,
            self._shown,
            step,
            view.start_offset,
            view.end_offset,
        )

    def _jumped(self, found: int | LogWindow, step: int) -> None:
        self._loading = False
        view = self.view
        if isinstance(found, int):  # the step is in the window already
            view.move_cursor(view.index_at_offset(found))
            self._note = f"step {step}"
        else:
            self._show_window(found)
        self._show_status()

    def _show_window(self, found: LogWindow) -> None:
        """Show a window read around a line (a step or a search hit), the cursor on it."""
        view = self.view
        self._follower = found.follower
        view.set_window(found.lines, found.at_start, found.at_end, found.end_offset)
        if found.cursor_offset is not None and view.lines:
            view.move_cursor(view.index_at_offset(found.cursor_offset))
        self._note = found.note

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
            t.append(
                sanitize(run.state),
                "green" if run.state == "running" else ("red" if run.state in ("failed", "crashed") else ""),
            )
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
