"""Axis ticks (viewer.data.axis_ticks): round 1-2-5 steps, short numbers, time with units."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from viewer.data.axis_ticks import (
    clock_ticks,
    data_range,
    duration_ticks,
    log_ticks,
    nice_ticks,
    number_ticks,
    short_number,
    x_axis_ticks,
)


def _mantissa(step: float) -> float:
    return round(step / 10 ** math.floor(math.log10(step * (1 + 1e-6))), 4)


def test_step_axis_from_the_issue_gets_whole_numbers():
    # The Metrics tab showed `0.5  31.8  63.0  94.2  125.5` on an axis of steps.
    ticks = x_axis_ticks("_step", 0.5, 125.5, target=5, integer=False)
    assert ticks.labels == ["20", "40", "60", "80", "100", "120"]


@pytest.mark.parametrize("seed", range(5))
def test_ticks_are_evenly_spaced_round_values_inside_the_range(seed):
    rng = random.Random(seed)
    for _ in range(200):
        lo = rng.uniform(-1e4, 1e4) * 10 ** rng.randint(-6, 3)
        # spans from a ten-thousandth of the values to far beyond them
        hi = lo + (abs(lo) + 1e-6) * 10 ** rng.uniform(-4, 3)
        target = rng.randint(2, 8)
        ticks = nice_ticks(lo, hi, target)
        assert 1 <= len(ticks) <= target + 1, (lo, hi, target, ticks)
        assert all(lo - 1e-9 * abs(lo) <= t <= hi + 1e-9 * abs(hi) for t in ticks)
        if len(ticks) > 1:
            steps = [b - a for a, b in itertools.pairwise(ticks)]
            assert max(steps) - min(steps) <= 1e-6 * steps[0]
            assert _mantissa(steps[0]) in (1.0, 2.0, 5.0)


def test_integer_axis_never_gets_fractions_even_on_a_short_range():
    assert nice_ticks(0, 3, target=8, integer=True) == [0, 1, 2, 3]
    assert all(t == int(t) for t in nice_ticks(0.5, 7.5, target=5, integer=True))


def test_tick_count_follows_the_target():
    assert len(nice_ticks(0, 1000, target=3)) <= 4
    assert len(nice_ticks(0, 1000, target=10)) >= 6


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [
        (0, 1, "0"),
        (1200, 100, "1.2k"),
        (1000, 500, "1k"),
        (3_400_000, 100_000, "3.4M"),
        (25_000, 5_000, "25k"),
        (7e9, 1e9, "7G"),
        (1e-4, 1e-4, "1e-4"),
        (1.5e-4, 5e-5, "1.5e-4"),
        (0.25, 0.05, "0.25"),
        (-0.5, 0.5, "-0.5"),
        (999, 1, "999"),
        (1000.2, 0.1, "1000.2"),  # a step finer than the suffix can show keeps full digits
        (2e15, 1e15, "2e15"),
        (5.551115123125783e-17, 0.1, "0"),  # float noise at zero
    ],
)
def test_short_numbers(value, step, text):
    assert short_number(value, step) == text


def test_short_number_without_step_keeps_three_significant_digits():
    assert short_number(12_345_678) == "12.3M"
    assert short_number(0.012345) == "0.0123"
    assert short_number(float("nan")) == "nan"


def test_small_axis_uses_one_notation_for_all_ticks():
    assert number_ticks(0, 0.0012, target=4).labels == ["0", "5e-4", "1e-3"]


def test_log_axis_ticks_at_powers_of_ten():
    assert log_ticks(1e-5, 3, target=5).labels == ["1e-5", "1e-3", "0.1"]
    assert log_ticks(0.2, 3, target=5).labels == ["0.2", "0.5", "1", "2"]
    # within a factor of two, plain steps
    assert log_ticks(1.1, 1.6, target=3).labels == ["1.2", "1.4", "1.6"]
    assert log_ticks(0, 1, target=5).values == []


@pytest.mark.parametrize(
    ("lo", "hi", "labels"),
    [
        (0.52, 2.05, ["1s", "1.5s", "2s"]),  # the two seconds of the issue's System tab
        (0, 95, ["0s", "30s", "60s", "90s"]),
        (0.004, 0.0052, ["4ms", "4.5ms", "5ms"]),  # a test run's few milliseconds
        (0, 300, ["0min", "1min", "2min", "3min", "4min", "5min"]),
        (0, 7 * 3600, ["0h", "2h", "4h", "6h"]),
        (0, 40 * 86400, ["0d", "10d", "20d", "30d", "40d"]),
    ],
)
def test_runtime_axis_has_units(lo, hi, labels):
    assert duration_ticks(lo, hi, target=5).labels == labels
    assert x_axis_ticks("_runtime", lo, hi, 5, integer=False).labels == labels


def test_runtime_steps_are_clock_steps():
    # 15 and 30 (s or min) are steps a reader counts in; 25 s is not.
    steps = {round(b - a) for lo, hi in [(0, 100), (0, 200), (0, 1000), (0, 5000)] for a, b in _pairs(lo, hi)}
    assert steps <= {15, 30, 60, 120, 300, 600, 900, 1800}


def _pairs(lo, hi):
    values = duration_ticks(lo, hi, target=5).values
    return list(itertools.pairwise(values))


def test_wall_time_axis_shows_round_clock_times():
    t0 = 1_795_963_627.39  # 2026-11-29 14:47:07 UTC
    ticks = clock_ticks(t0, t0 + 600, target=5, utc_offset=0)
    assert ticks.labels == ["14:48", "14:50", "14:52", "14:54", "14:56"]
    east = clock_ticks(t0, t0 + 600, target=5, utc_offset=3600)
    assert east.labels[0] == "15:48" and east.values == ticks.values
    assert clock_ticks(t0, t0 + 20, target=4, utc_offset=0).labels == ["14:47:10", "14:47:15", "14:47:20", "14:47:25"]
    assert clock_ticks(t0, t0 + 0.5, target=3, utc_offset=0).labels == ["14:47:07.4", "14:47:07.6", "14:47:07.8"]
    assert clock_ticks(t0, t0 + 3 * 86400, target=4, utc_offset=0).labels == ["11-30", "12-01", "12-02"]


def test_data_range_widens_a_flat_line_like_plotext():
    assert data_range([3.0, 3.0]) == (1.5, 4.5)
    assert data_range([0.0]) == (0.0, 1.0)  # a counter that never moved: no negative ticks
    assert data_range([-2.0]) == (-3.0, -1.0)
    assert data_range([float("nan"), 1.0, 5.0]) == (1.0, 5.0)
    assert data_range([]) is None
