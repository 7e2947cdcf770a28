"""Messages between the app and its panes (posted from workers, handled on the event loop)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from viewer.data.runs_table import RunInfo


class RunsLoaded(Message):
    """The store listed the runs (at start, or again after files changed when live)."""

    def __init__(
        self,
        runs: list[RunInfo],
        live: bool = False,
        generation: int = 0,
        data_signatures: dict[str, tuple] | None = None,
        force: bool = False,
    ) -> None:
        super().__init__()
        self.runs = runs
        self.live = live
        # Store.generation when `runs` was listed: the same number as the list on screen
        # means no run was added, removed or changed in its metadata since.
        self.generation = generation
        # Of the runs selected when the rescan started: what their files look like now.
        self.data_signatures = data_signatures or {}
        # The user asked for a refresh: treat every selected run as changed.
        self.force = force


class StoreFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SelectionChanged(Message):
    """The user changed which runs are selected (from the runs table)."""

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids


class FilesChanged(Message):
    """Something under the roots changed; many of these collapse into one refresh."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FilesChanged)


class RowsDrawn(Message):
    """The runs table drew its first rows: the app can now do the work it put off."""
