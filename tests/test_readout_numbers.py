"""The numbers a plot's readout line shows under each run (value, and the step it is at)."""

import math

from viewer.data.series_math import format_value


def test_a_step_is_shown_whole_not_in_exponent_form():
    assert format_value(29999.0) == "29999"
    assert format_value(30000) == "30000"
    assert format_value(0.0) == "0"


def test_values_keep_four_significant_digits_and_large_ones_a_decimal():
    assert format_value(0.010843) == "0.01084"
    assert format_value(1.23456) == "1.235"
    assert format_value(12345.678) == "12345.7"


def test_very_small_or_large_values_and_missing_ones():
    assert format_value(1.5e-5) == "1.500e-05"
    assert format_value(2.5e7 + 0.5) == "2.500e+07"
    assert format_value(math.nan) == "NaN"
    assert format_value(None) == "—"
