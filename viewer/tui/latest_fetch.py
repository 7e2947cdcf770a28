"""One way to fetch off the event loop: run a function in a thread worker, apply only the newest result.

    self.fetch(read_details, store, run_id, apply=self._show_details, group="detail")

`read_details(store, run_id)` runs in a thread worker; its return value is handed to
`apply` on the event loop, unless a later `fetch` in the same group (or `drop_fetches`)
superseded it meanwhile. Thread workers cannot be stopped, only marked cancelled, so an
older, slower fetch may finish after a newer one: without this check its result would
replace the newer one on screen. Long reads can look at
`textual.worker.get_current_worker().is_cancelled` to stop early.

An exception raised by the function goes to `failed` (when the caller shows errors in
its own status line) or else to `fetch_failed`, the one place fetch errors are reported.
Only the newest fetch's error is reported, as only its result would be shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.worker import Worker, get_current_worker

if TYPE_CHECKING:
    from textual.dom import DOMNode

    _Node = DOMNode
else:
    # Not a DOMNode at run time: Textual takes a widget's CSS (App's, Widget's defaults)
    # from the first DOMNode among its bases, which must stay the widget class itself.
    _Node = object

T = TypeVar("T")


class FetchesLatest(_Node):
    """Mixin for a Widget or the App: `fetch`, `drop_fetches`, `fetch_failed`."""

    def _fetch_tokens(self) -> dict[str, object]:
        # For each group, the token of the one fetch whose result may still be applied.
        # Made on first use: a mixin has no __init__ of its own to make it in.
        tokens: dict[str, object] | None = getattr(self, "_latest_fetch", None)
        if tokens is None:
            tokens = {}
            self._latest_fetch = tokens
        return tokens

    def fetch(
        self,
        work: Callable[..., T],
        *args: Any,
        apply: Callable[[T], None],
        group: str,
        failed: Callable[[Exception], None] | None = None,
    ) -> Worker[None]:
        """Run `work(*args)` in a thread worker and hand its result to `apply` on the event loop.

        Starting a fetch cancels the group's running one and drops its result, so `apply`
        only ever sees the newest fetch of `group`."""
        token = object()
        self._fetch_tokens()[group] = token
        app = self.app

        def run() -> None:
            try:
                outcome: tuple[Callable[[Any], None], Any] = (apply, work(*args))
            except Exception as exc:
                outcome = (failed or (lambda error: self.fetch_failed(group, error)), exc)
            if get_current_worker().is_cancelled:
                return  # superseded: a newer fetch of this group is running or done
            # Waits until `apply` has run: a worker that is done has shown its result.
            app.call_from_thread(self._deliver_fetch, group, token, *outcome)

        return self.run_worker(run, name=group, group=group, thread=True, exclusive=True, exit_on_error=False)

    def drop_fetches(self, *groups: str) -> None:
        """Results of fetches already started in `groups` are not applied (nothing newer is coming)."""
        tokens = self._fetch_tokens()
        for group in groups:
            tokens.pop(group, None)
            self.workers.cancel_group(self, group)

    def fetch_failed(self, group: str, error: Exception) -> None:
        """A fetch with no `failed` callback raised: say so once, as plain text."""
        self.app.notify(f"{group}: {error}", title="could not read", severity="error", timeout=10, markup=False)

    def _deliver_fetch(self, group: str, token: object, callback: Callable[[Any], None], value: Any) -> None:
        # On the event loop, so nothing can start a newer fetch between this check and the call.
        if self._fetch_tokens().get(group) is token:
            callback(value)
