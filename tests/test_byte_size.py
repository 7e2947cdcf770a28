"""One byte-size format for the dashboard and the CLI."""

from __future__ import annotations

from viewer.data.byte_size import format_bytes


def test_byte_sizes_are_written_in_iec_units_everywhere():
    assert [format_bytes(n) for n in (0, 1023, 1024, 1536, 5 * 2**30, 3 * 2**50)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 GiB",
        "3.0 PiB",
    ]
    # Sizes come from records on disk: anything that is not a count is "missing".
    assert [format_bytes(v, "-") for v in (None, "12", True, -1, float("nan"))] == ["-"] * 5
