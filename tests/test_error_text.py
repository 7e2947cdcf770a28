"""The one line of an error that warnings and status lines show."""

from __future__ import annotations

import duckdb
import pytest

from viewer.data.error_text import first_line


def test_a_multi_line_duckdb_error_shows_its_first_line():
    with pytest.raises(duckdb.Error) as info:
        duckdb.connect().execute("SELECT no_such_column FROM range(3)")
    assert "\n" in str(info.value)
    line = first_line(info.value)
    assert "no_such_column" in line and "\n" not in line


def test_a_long_message_is_cut_and_an_empty_one_names_its_type():
    assert first_line(ValueError("x" * 500), 40) == "x" * 40
    assert first_line(KeyError()) == "KeyError"
    assert first_line(OSError("\n  disk full\nmore")) == "disk full"
