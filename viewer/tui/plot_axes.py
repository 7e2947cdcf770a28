"""Round, labelled ticks on a plotext figure's axes, as many as the plot's size has room for.

The tick math is viewer.data.axis_ticks; this module only sizes it to the widget and hands
it to plotext (which would otherwise split the range evenly: `0.5  31.8  63.0`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from viewer.data.axis_ticks import Ticks, data_range, log_ticks, number_ticks, x_axis_ticks

# Cells per tick label: `1.5min` plus a gap across, a label every few rows down.
# Y labels take about this many cells left of the frame.
Y_LABEL_CELLS = 6
X_CELLS_PER_TICK = 8
Y_ROWS_PER_TICK = 3


def tick_counts(width: int, height: int) -> tuple[int, int]:
    """About how many x and y ticks fit a plot of this many cells."""
    return max(2, min(8, width // X_CELLS_PER_TICK)), max(2, min(6, height // Y_ROWS_PER_TICK))


def apply_axes(
    plt: Any,
    size: tuple[int, int],
    xs: Sequence[float],
    ys: Sequence[float],
    x_axis: str = "",
    log_y: bool = False,
    integer_x: bool = False,
) -> None:
    """Pin both ranges to the plotted values and put round ticks on them.

    `x_axis` names the x column (`_step`, `_runtime`, `_timestamp`...): it decides
    whole numbers, durations or clock times. `xs`/`ys` are every value drawn.
    """
    x_count, y_count = tick_counts(*size)
    x_range = data_range(xs)
    if x_range is not None:
        # Pinned: plotext's own padding let lines run past the frame.
        plt.xlim(*x_range)
        x_ticks = _fitting_x_ticks(x_axis, x_range, x_count, size[0], integer_x)
        plt.xticks(x_ticks.values, x_ticks.labels)
    if log_y:
        positive = [y for y in ys if y > 0 and math.isfinite(y)]
        if positive:
            # plotext takes a log axis's limits in log10 units; left to it, they fit the data.
            y_ticks = log_ticks(min(positive), max(positive), y_count)
            plt.yticks(y_ticks.values, y_ticks.labels)
        return
    y_range = data_range(ys)
    if y_range is not None:
        plt.ylim(*y_range)
        y_ticks = number_ticks(*y_range, y_count)
        plt.yticks(y_ticks.values, y_ticks.labels)


def _fitting_x_ticks(x_axis: str, x_range: tuple[float, float], most: int, width: int, integer: bool) -> Ticks:
    """Fewer ticks while their labels (clock times are long) would not fit side by side."""
    ticks = x_axis_ticks(x_axis, *x_range, most, integer=integer)
    for count in range(most - 1, 1, -1):
        longest = max((len(label) for label in ticks.labels), default=0)
        if (longest + 2) * len(ticks.labels) <= width - Y_LABEL_CELLS:
            break
        ticks = x_axis_ticks(x_axis, *x_range, count, integer=integer)
    return ticks
