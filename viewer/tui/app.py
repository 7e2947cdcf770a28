"""The Loupe dashboard: routes the store, the run selection and live changes to the panes.

It owns little: the Store (opened in a worker), which runs are selected and their
colours, the live watcher, and the keys that switch tabs. Each pane fetches its own
data through the store in thread workers.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from viewer.data.collector_pause import collector_paused
from viewer.data.run_colors import RunColors
from viewer.data.runs_table import RunInfo
from viewer.data.store import Store
from viewer.tui.help_screen import HelpScreen
from viewer.tui.later_panes import LATER_PANES, LATER_PANES_AT_MOST_S, mount_later_panes, mount_pane
from viewer.tui.latest_fetch import FetchesLatest
from viewer.tui.messages import FilesChanged, RowsDrawn, RunsLoaded, SelectionChanged, StoreFailed
from viewer.tui.pane import Pane
from viewer.tui.report_export import ask_and_write
from viewer.tui.runs_pane import RunsPane
from viewer.tui.styles import STYLESHEETS
from viewer.tui.tab_keys import in_text_input, leave_input, tab_bindings

if TYPE_CHECKING:
    from viewer.data.live_watch import RootWatcher

TABS = ("runs", *(tab for tab, _, _ in LATER_PANES))
# Live changes are coalesced: at most one refresh per interval, however many events.
LIVE_REFRESH_S = 1.0
RECONCILE_S = 5.0
# How long the app waits for the first scan (and run list) before it starts drawing: beside
# Textual's start-up both take turns at the GIL. Past this, a slow root shows the app first.
FIRST_SCAN_WAIT_S = 1.5
# After the first live rescan, how long until the one-off check of every run's sidecars
# (an edit in place, which the catalog's mtimes cannot see) starts.
SIDECAR_CHECK_DELAY_S = 5.0


def _rescan(store: Store, selected: list[str], force: bool) -> RunsLoaded:
    """In a worker: the run list after a rescan, and what the selected runs' files look like now."""
    store.refresh()
    # The generation before the list: should another rescan change it in between, the next
    # result carries a newer number and the table is built again.
    generation = store.generation
    runs = store.runs()
    signatures = store.data_signatures(selected)
    return RunsLoaded(runs, live=True, generation=generation, data_signatures=signatures, force=force)


class LoupeApp(FetchesLatest, App):
    CSS_PATH = STYLESHEETS
    TITLE = "Loupe"
    BINDINGS = [
        *tab_bindings(TABS, {"sql": "SQL"}),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
        Binding("ctrl+s", "save_report", "Report", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, roots: Sequence[Path | str], poll: bool | None = None, live: bool = True) -> None:
        super().__init__()
        self.roots = [Path(r) for r in roots]
        self.poll = poll
        self.live = live
        self.store: Store | None = None
        self.all_runs: list[RunInfo] = []
        self.selected: list[str] = []
        self.run_colors = RunColors()
        self.store_warnings: list[str] = []
        self.watch_note: str = ""
        self._watcher: RootWatcher | None = None
        self._last_refresh = 0.0
        self._refresh_pending = False
        self._notified = 0
        self._data_signatures: dict[str, tuple] = {}
        self._verified = False  # the catalog's rows, checked file by file once, in a worker
        self._shown_generation = -1  # Store.generation of the run list on screen
        self._rescan_running = False
        self._rescan_queued: bool | None = None  # a rescan to run next (True: forced)
        # Discovery and JSON reading start now, before Textual's own start-up.
        self._store_future: Future[Store] = Future()
        self._runs_listed = threading.Event()
        threading.Thread(target=self._open_store_early, name="loupe-open-store", daemon=True).start()
        # The run list too, within the same bound: built beside Textual's start-up, the
        # two took turns at the GIL and the first rows came 0.1-0.3 s later (10,000 runs).
        self._runs_listed.wait(FIRST_SCAN_WAIT_S)

    def _open_store_early(self) -> None:
        # The run list is built here too (open_store then finds it made), while Textual
        # starts.
        try:
            with collector_paused():
                store = Store(self.roots, on_warning=self._store_warning)
                self._store_future.set_result(store)
                store.runs()
                self._runs_listed.set()
                # What was just built lives as long as the app: later full collections
                # need not walk it again (the app freezes the rest once the runs are shown).
                gc.freeze()
        except BaseException as exc:
            if not self._store_future.done():
                self._store_future.set_exception(exc)
        finally:
            self._runs_listed.set()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="runs", id="tabs"):
            with TabPane("Runs", id="runs"):
                yield RunsPane(id="runs-pane")
            for tab, title, _ in LATER_PANES:
                yield TabPane(title, id=tab)
        yield Footer()

    def _selected_runs(self) -> tuple[list[RunInfo], RunColors]:
        by_id = {r.id: r for r in self.all_runs}
        return [by_id[i] for i in self.selected if i in by_id], self.run_colors

    def _main_tabs(self) -> TabbedContent | None:
        try:
            return self.screen_stack[0].query_one(TabbedContent)  # not a dialog's screen
        except (NoMatches, IndexError):
            return None  # shutting down

    async def _mount_pane(self, tab: str) -> Pane | None:
        tabs = self._main_tabs()
        return None if tabs is None else await mount_pane(self, tabs, tab, self._selected_runs)

    @on(RowsDrawn)
    def _rows_drawn(self) -> None:
        self.call_after_refresh(self._mount_later_panes)

    async def _mount_later_panes(self) -> None:
        tabs = self._main_tabs()
        if tabs is not None:
            await mount_later_panes(self, tabs, self._selected_runs)

    def on_mount(self) -> None:
        self.sub_title = ", ".join(str(r) for r in self.roots)
        self._show_warnings()
        self.open_store()

    # -- store ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="store", exit_on_error=False)
    def open_store(self) -> None:
        try:
            store = self._store_future.result()
            generation = store.generation
            runs = store.runs()
        except Exception as exc:
            self.post_message(StoreFailed(f"cannot open {', '.join(map(str, self.roots))}: {exc}"))
            return
        self.store = store
        self.post_message(RunsLoaded(runs, generation=generation))

    def _store_warning(self, message: str) -> None:
        # Called from worker threads, possibly before the app runs: keep the message, and
        # show whatever has not been shown yet once the event loop can take it.
        self.store_warnings.append(message)
        try:
            self.call_from_thread(self._show_warnings)
        except RuntimeError:
            pass  # not running yet: on_mount shows it

    def _show_warnings(self) -> None:
        for message in self.store_warnings[self._notified :]:
            self.notify(message, severity="warning", timeout=6, markup=False)
        self._notified = len(self.store_warnings)

    def refresh_store(self, selected: list[str], force: bool = False) -> None:
        """Rescan the roots in a worker, one rescan at a time: one asked for while another
        runs starts when that one is done. (Replacing the running one instead would, on a
        root whose rescan takes longer than the live interval, drop every result.)"""
        store = self.store
        if store is None:
            return
        if self._rescan_running:
            self._rescan_queued = self._rescan_queued or force
            return
        self._rescan_running = True
        if not self._verified:
            self._verified = True
            # Once the first rescans are in: its stats compete with them for the GIL.
            self.set_timer(SIDECAR_CHECK_DELAY_S, lambda: self._check_sidecars(store))

        def done(message: RunsLoaded) -> None:
            self._rescan_finished()
            self._runs_loaded(message)

        def failed(error: Exception) -> None:
            self._rescan_finished()
            self._store_failed(StoreFailed(f"refresh failed: {error}"))

        self.fetch(_rescan, store, selected, force, apply=done, group="refresh", failed=failed)

    def _check_sidecars(self, store: Store) -> None:
        """Once, beside the rescans: stat every sidecar of the runs the catalog vouched for
        (Store.find_edited_in_place) and rescan if any was edited in place. Not a rescan
        itself: at 10,000 runs the stats take seconds, and a new run must not wait on them."""

        def checked(edited: int) -> None:
            if edited:
                self.refresh_store(list(self.selected))

        self.fetch(
            store.find_edited_in_place,
            apply=checked,
            group="verify",
            failed=lambda error: self.notify(f"checking the runs' files failed: {error}", markup=False),
        )

    def _rescan_finished(self) -> None:
        self._rescan_running = False
        queued, self._rescan_queued = self._rescan_queued, None
        if queued is not None:
            self.refresh_store(list(self.selected), queued)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # Workers run with exit_on_error=False: their failures are reported here, once.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(
                f"{event.worker.name or 'background task'} failed: {error}", severity="error", timeout=10, markup=False
            )

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.notify(message.text, severity="error", timeout=10, markup=False)
        if self.store is None:  # the first scan: nothing to show but why
            self.query_one(RunsPane).show_failure(message.text)

    @on(RunsLoaded)
    def _runs_loaded(self, message: RunsLoaded) -> None:
        if message.live and message.generation == self._shown_generation:
            self._data_changed(message)
            return  # the run list is as it was: no need to rebuild the table
        self._shown_generation = message.generation
        self.all_runs = message.runs
        by_id = {r.id: r for r in message.runs}
        kept = [rid for rid in self.selected if rid in by_id]
        if kept != self.selected:
            for rid in set(self.selected) - set(kept):
                self.run_colors.release(rid)
            self.selected = kept
        with collector_paused():
            self.query_one(RunsPane).show_runs(message.runs, self.selected, self.run_colors)
        if not message.live:
            # Only if the user is still on the Runs tab: focusing a widget of a hidden tab
            # would switch back to it.
            if self.query_one(TabbedContent).active == "runs":
                self.query_one(RunsPane).focus_default()
            self._start_watching()
            # The other tabs' panes follow the first rows drawn (RowsDrawn); the timer covers
            # a table with no rows, or never drawn (the user went to another tab first).
            self.set_timer(LATER_PANES_AT_MOST_S if message.runs else 0.01, self._mount_later_panes)
            # The catalog's rows are on screen; now check them file by file (Store.verify)
            # in a worker, and show whatever that finds.
            self.set_timer(0.2, self._do_live_refresh)
            # What is alive now (Textual's widgets, the run list, imported modules) lives
            # as long as the app. Frozen, the collector stops walking it: plotext's many
            # small allocations set off full collections that cost ~80 ms each on this
            # heap (1,000 runs), in the middle of drawing plots.
            gc.freeze()
            if not self.selected and message.runs:
                # Something to look at straight away: the newest run.
                self.select([message.runs[0].id])
            else:
                self._broadcast_selection()
        else:
            self._data_changed(message)

    def _data_changed(self, message: RunsLoaded) -> None:
        # Only selected runs whose files changed are fetched again. A run seen for the
        # first time counts as changed: it may have written after its panes fetched it.
        seen = self._data_signatures
        changed = frozenset(
            rid for rid, sig in message.data_signatures.items() if message.force or seen.get(rid) != sig
        )
        self._data_signatures = {
            rid: message.data_signatures[rid] if rid in message.data_signatures else seen[rid]
            for rid in self.selected
            if rid in message.data_signatures or rid in seen
        }
        by_id = {r.id: r for r in self.all_runs}
        for pane in self._data_panes():
            pane.runs = [by_id[i] for i in self.selected if i in by_id]
            pane.runs_changed(changed)

    # -- selection --------------------------------------------------------------------------
    def select(self, run_ids: Sequence[str]) -> None:
        by_id = {r.id: r for r in self.all_runs}
        ids = [i for i in dict.fromkeys(run_ids) if i in by_id]
        for rid in set(self.selected) - set(ids):
            self.run_colors.release(rid)
        for rid in ids:
            self.run_colors.assign(rid)
        self.selected = ids
        self.query_one(RunsPane).show_selection(self.selected, self.run_colors)
        self._broadcast_selection()

    @on(SelectionChanged)
    def _selection_changed(self, message: SelectionChanged) -> None:
        self.select(message.run_ids)

    def _broadcast_selection(self) -> None:
        runs, _ = self._selected_runs()
        for pane in self._data_panes():
            pane.selection_changed(runs, self.run_colors)

    def _data_panes(self) -> list[Pane]:
        return [p for p in self.query(Pane) if not isinstance(p, RunsPane)]

    # -- live -------------------------------------------------------------------------------
    def _start_watching(self) -> None:
        if not self.live or self._watcher is not None:
            return
        from viewer.data.live_watch import RootWatcher

        def changed() -> None:
            self.post_message(FilesChanged())

        watcher = self._watcher = RootWatcher(self.roots, changed, poll=self.poll)

        def started(_: None) -> None:
            self.watch_note = watcher.mode_note

        # Choosing the mode reads the mount table and counts directories, and polling
        # starts with a walk of every run: seconds on a slow network filesystem.
        self.fetch(
            watcher.start, apply=started, group="watch", failed=lambda error: self._watch_failed(watcher, str(error))
        )
        # Events can be lost (queue overflow, network filesystems): reconcile regardless.
        self.set_interval(RECONCILE_S, self._reconcile)

    def _watch_failed(self, watcher, error: str) -> None:
        self.notify(f"live updates off: {error}", severity="warning", markup=False)
        watcher.stop()
        if self._watcher is watcher:
            self._watcher = None

    def _reconcile(self) -> None:
        self.post_message(FilesChanged())

    @on(FilesChanged)
    def _files_changed(self, message: FilesChanged) -> None:
        now = time.monotonic()
        wait = LIVE_REFRESH_S - (now - self._last_refresh)
        if wait > 0:
            if not self._refresh_pending:
                self._refresh_pending = True
                self.set_timer(wait, self._do_live_refresh)
            return
        self._do_live_refresh()

    def _do_live_refresh(self, force: bool = False) -> None:
        self._refresh_pending = False
        self._last_refresh = time.monotonic()
        self.refresh_store(list(self.selected), force)

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Pane keys only work with focus inside the pane, not on the tab bar. Focus after
        # the new tab is laid out (before that nothing in it is focusable), and only if it
        # is still the active tab: focusing inside a hidden tab switches back to it.
        pane_id = event.pane.id
        if event.tabbed_content.active != pane_id or pane_id is None:
            return
        tabs = event.tabbed_content
        await self._mount_pane(pane_id)

        def focus() -> None:
            if tabs.active != pane_id:
                return
            for pane in event.pane.query(Pane):
                pane.focus_default()
                break

        self.call_after_refresh(focus)

    # -- actions ----------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        # Let go of the old tab's widget first: while it holds focus, Textual may hand focus
        # to its neighbour in the hidden tab, which activates that tab again.
        self.screen.set_focus(None)
        self.query_one(TabbedContent).active = tab

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_input":
            return in_text_input(self.screen)  # elsewhere esc stays the panes' and dialogs' own key
        return True

    def action_leave_input(self) -> None:
        leave_input(self.screen, (Pane,))

    def action_help(self) -> None:
        if self._watcher is not None:
            # The watcher may have fallen back to polling after start (watch limit, ENOSPC).
            self.watch_note = self._watcher.mode_note
        self.push_screen(HelpScreen(self.watch_note))

    def action_refresh(self) -> None:
        self._do_live_refresh(force=True)

    def action_save_report(self) -> None:
        ask_and_write(self)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Save an HTML report", "The selected runs as one offline HTML file (ctrl+s)", self.action_save_report
        )
        yield SystemCommand(
            "Compare the selected runs", "Config that differs, summaries side by side (d on Runs)", self.action_compare
        )

    def action_compare(self) -> None:
        self.query_one(RunsPane).action_compare()

    def on_unmount(self) -> None:
        gc.unfreeze()
        if self._watcher is not None:
            self._watcher.stop()
        if self.store is not None:
            self.store.interrupt()
            self.store.save_catalog()  # what the live rescans changed since the last save


def run_app(roots: Sequence[Path | str], poll: bool | None = None) -> int:
    LoupeApp(roots, poll=poll).run()
    return 0
