"""What an import did, run by run, and the one summary line the CLI prints at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMPORTED = "imported"
UPDATED = "updated"
UNCHANGED = "unchanged"
FAILED = "failed"
# Failures named in the summary line; the rest are in the error lines before it.
_REASONS_SHOWN = 2


class SourceError(Exception):
    """A source run that cannot be imported; str() is one line saying why (the file is named by the caller)."""


@dataclass
class Outcome:
    """One source run: where it came from, where it went, and how it went."""

    source: str  # the file or folder read
    status: str  # IMPORTED, UPDATED, UNCHANGED or FAILED
    run_dir: Path | None = None
    steps: int = 0
    state: str | None = None
    reason: str | None = None  # why it failed or was skipped

    @property
    def line(self) -> str:
        """`<source>: <reason>` for a failed or skipped run (one line, for stderr)."""
        return f"{self.source}: {self.reason}" if self.reason else self.source


@dataclass
class ImportReport:
    tool: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def imported(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in (IMPORTED, UPDATED)]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def unchanged(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == UNCHANGED]

    @property
    def run_dirs(self) -> list[Path]:
        return [o.run_dir for o in self.outcomes if o.run_dir is not None and o.status != FAILED]

    def summary_line(self) -> str:
        """e.g. `wandb: imported 3 runs (1 updated), 150,000 steps; skipped 2: 1 unchanged since the
        last import, 1 failed (runs/x.wandb: corrupt record at byte 40000)`."""
        done = self.imported
        updated = sum(1 for o in done if o.status == UPDATED)
        steps = sum(o.steps for o in done)
        text = f"{self.tool}: imported {len(done)} run{'s' if len(done) != 1 else ''}"
        if updated:
            text += f" ({updated} updated)"
        text += f", {steps:,} steps"
        skipped = self.unchanged + self.failed
        if skipped:
            why = []
            if self.unchanged:
                why.append(f"{len(self.unchanged)} unchanged since the last import")
            if self.failed:
                shown = "; ".join(o.line for o in self.failed[:_REASONS_SHOWN])
                more = len(self.failed) - _REASONS_SHOWN
                if more > 0:
                    shown += f"; and {more} more, see the errors above"
                why.append(f"{len(self.failed)} failed ({shown})")
            text += f"; skipped {len(skipped)}: {', '.join(why)}"
        return text
