"""One colour per selected run, kept everywhere (table marker, plot lines, legends, HTML reports).

Plain Python, shared by the dashboard (viewer.tui) and the HTML report (viewer.report).
"""

from __future__ import annotations

# Distinguishable on dark and light terminals; plotext accepts these names too.
PALETTE = ("cyan", "magenta", "yellow", "green", "red", "blue", "orange", "white")
_RGB = {
    "cyan": (0, 200, 200),
    "magenta": (220, 80, 220),
    "yellow": (230, 200, 40),
    "green": (80, 200, 80),
    "red": (230, 70, 70),
    "blue": (90, 130, 255),
    "orange": (255, 150, 40),
    "white": (220, 220, 220),
}


class RunColors:
    """Assigns colours in selection order; a run keeps its colour until deselected."""

    def __init__(self) -> None:
        self._by_run: dict[str, str] = {}

    def assign(self, run_id: str) -> str:
        if run_id not in self._by_run:
            used = list(self._by_run.values())
            free = [c for c in PALETTE if c not in used]
            self._by_run[run_id] = free[0] if free else PALETTE[len(used) % len(PALETTE)]
        return self._by_run[run_id]

    def release(self, run_id: str) -> None:
        self._by_run.pop(run_id, None)

    def get(self, run_id: str) -> str | None:
        return self._by_run.get(run_id)

    def rich_color(self, run_id: str) -> str | None:
        """A Rich style colour matching plot_color() exactly."""
        if run_id not in self._by_run:
            return None
        r, g, b = self.rgb(run_id)
        return f"rgb({r},{g},{b})"

    def plot_color(self, run_id: str) -> tuple[int, int, int]:
        """plotext takes RGB tuples; terminals without truecolour get the nearest colour."""
        return self.rgb(run_id)

    def rgb(self, run_id: str) -> tuple[int, int, int]:
        return _RGB.get(self._by_run.get(run_id, "white"), (220, 220, 220))

    def hex(self, run_id: str) -> str:
        """`#rrggbb`, for the HTML report."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb(run_id))

    def copy(self) -> RunColors:
        """A snapshot, for a worker thread to read while the selection moves on."""
        other = RunColors()
        other._by_run = dict(self._by_run)
        return other

    @classmethod
    def in_order(cls, run_ids: list[str]) -> RunColors:
        """The colours the dashboard gives runs selected in this order."""
        colors = cls()
        for rid in run_ids:
            colors.assign(rid)
        return colors
