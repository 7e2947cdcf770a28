"""viewer.tui.latest_fetch: a fetch runs off the event loop and only the newest result of a group lands."""

from __future__ import annotations

import threading

from textual.app import App, ComposeResult
from tui_helpers import settle, stays_true, wait_until

from viewer.tui.pane import Pane


class Shown(Pane):
    """A pane that shows what its fetches return, and which thread ran what."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[object] = []
        self.errors: list[str] = []
        self.apply_threads: set[int] = set()

    def show(self, value: object) -> None:
        self.apply_threads.add(threading.get_ident())
        self.shown.append(value)


class Stalled:
    """A fetch's work that blocks until released (a slow disk): `started`, `release()`, `returned`."""

    def __init__(self, result: object = None, error: Exception | None = None) -> None:
        self.started, self._release, self.returned = threading.Event(), threading.Event(), threading.Event()
        self.result, self.error = result, error

    def __call__(self) -> object:
        self.started.set()
        self._release.wait(20)
        self.returned.set()
        if self.error is not None:
            raise self.error
        return self.result

    async def release_and_wait(self, pilot) -> None:
        """Let it finish, and wait until it has and the app is quiet again."""
        self._release.set()
        await wait_until(pilot, self.returned.is_set)
        await settle(pilot)


class OnePane(App):
    def __init__(self) -> None:
        super().__init__()
        self.pane = Shown()
        self.notes: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield self.pane

    def notify(self, message, *args, severity="information", **kwargs):  # type: ignore[override]
        self.notes.append((str(message), severity))
        return super().notify(message, *args, severity=severity, **kwargs)


async def test_work_runs_in_a_thread_and_its_result_is_applied_on_the_event_loop():
    app = OnePane()
    async with app.run_test() as pilot:
        pane = app.pane
        work_threads: list[int] = []

        def work(a: int, b: int) -> int:
            work_threads.append(threading.get_ident())
            return a + b

        pane.fetch(work, 2, 3, apply=pane.show, group="g")
        await settle(pilot)
        assert pane.shown == [5]
        loop_thread = threading.get_ident()  # the test runs on the app's event loop
        assert pane.apply_threads == {loop_thread} and work_threads and work_threads[0] != loop_thread


async def test_a_slower_older_fetch_never_replaces_a_newer_one():
    app = OnePane()
    async with app.run_test() as pilot:
        pane = app.pane
        slow = Stalled("old")
        pane.fetch(slow, apply=pane.show, group="g")
        await wait_until(pilot, slow.started.is_set)
        pane.fetch(lambda: "new", apply=pane.show, group="g")
        await wait_until(pilot, lambda: pane.shown == ["new"])
        await slow.release_and_wait(pilot)
        await stays_true(pilot, lambda: pane.shown == ["new"], what="the older result dropped")


async def test_groups_are_independent_and_drop_fetches_discards_a_running_one():
    app = OnePane()
    async with app.run_test() as pilot:
        pane = app.pane
        slow = Stalled("dropped")
        pane.fetch(slow, apply=pane.show, group="slow")
        await wait_until(pilot, slow.started.is_set)
        pane.fetch(lambda: "other group", apply=pane.show, group="fast")
        await wait_until(pilot, lambda: pane.shown == ["other group"])  # not held up, not dropped
        pane.drop_fetches("slow")  # e.g. the run it was for is no longer selected
        await slow.release_and_wait(pilot)
        await stays_true(pilot, lambda: pane.shown == ["other group"], what="the dropped result never shown")


async def test_errors_go_to_the_callers_callback_or_to_one_notification():
    app = OnePane()
    async with app.run_test() as pilot:
        pane = app.pane

        def broken() -> None:
            raise OSError("disk on fire [bold]")

        pane.fetch(broken, apply=pane.show, group="inline", failed=lambda exc: pane.errors.append(str(exc)))
        await settle(pilot)
        assert pane.errors == ["disk on fire [bold]"] and pane.shown == []
        assert app.notes == []

        pane.fetch(broken, apply=pane.show, group="metrics")
        await wait_until(pilot, lambda: app.notes)
        assert app.notes == [("metrics: disk on fire [bold]", "error")]  # plain text, once
        assert app.is_running


async def test_an_older_fetchs_error_is_not_reported_once_a_newer_one_started():
    app = OnePane()
    async with app.run_test() as pilot:
        pane = app.pane
        failing = Stalled(error=OSError("stale failure"))
        pane.fetch(failing, apply=pane.show, group="g", failed=lambda exc: pane.errors.append(str(exc)))
        await wait_until(pilot, failing.started.is_set)
        pane.fetch(lambda: "fresh", apply=pane.show, group="g", failed=lambda exc: pane.errors.append(str(exc)))
        await wait_until(pilot, lambda: pane.shown == ["fresh"])
        await failing.release_and_wait(pilot)
        await stays_true(pilot, lambda: pane.errors == [], what="the superseded fetch's error not shown")
