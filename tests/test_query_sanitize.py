"""viewer.data.sanitize: no escape sequence from a run ever reaches the terminal."""

from __future__ import annotations

import re

import pytest

from viewer.data.sanitize import Segment, has_escapes, sanitize, styled_segments

HOSTILE = [
    ("title\x1b]0;pwned\x07after", "titleafter"),  # OSC 0, BEL-terminated
    ("a\x1b]0;pwned\x1b\\b", "ab"),  # OSC 0, ST-terminated
    ("\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07", "click"),  # OSC 8 hyperlink (BEL)
    ("\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink (ST)
    ("x\x1b[2J\x1b[H\x1b[6ny", "xy"),  # clear screen, home, cursor position query
    ("\x1bP1$r0m\x1b\\ok", "ok"),  # DCS
    ("\x1b_apc payload\x1b\\ok", "ok"),  # APC
    ("\x1b^pm\x1b\\ok", "ok"),  # PM
    ("\x1bXsos\x1b\\ok", "ok"),  # SOS
    ("\x9b31mc1csi", "c1csi"),  # 8-bit CSI
    ("\x9d0;t\x9cok", "ok"),  # 8-bit OSC with 8-bit ST
    ("lone\x1b", "lone"),  # lone ESC at the end
    ("esc\x1bc reset", "esc reset"),  # RIS (ESC c)
    ("charset\x1b(Bok", "charsetok"),
    ("bell\x07back\x08\x7fdel\x00nul", "bellbackdelnul"),
    ("tab\tkept", "tab\tkept"),
    ("unterminated \x1b]0;title forever", "unterminated "),
    ("bidi \u202eevil\u202c", "bidi evil"),
    ("cr\rmid", "crmid"),
    ("\x1b[38;2;255;0;0mred\x1b[0m", "red"),
]


@pytest.mark.parametrize("raw, clean", HOSTILE)
def test_sanitize_removes_every_escape(raw, clean):
    out = sanitize(raw)
    assert out == clean
    assert not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f]", out)


def test_newlines_become_spaces_unless_kept():
    assert sanitize("a\nb\r\nc") == "a b c"
    assert sanitize("a\n\x1b[31mb\x1b[0m", keep_newlines=True) == "a\nb"


def test_plain_text_is_returned_unchanged_and_non_strings_are_converted():
    s = "plain ascii and ünïcödé ✓"
    assert sanitize(s) is s
    assert sanitize(None) == ""
    assert sanitize(1.5) == "1.5"
    assert not has_escapes(s) and has_escapes("a\x1b[0m")


def test_fuzz_never_leaks_an_escape_and_never_raises():
    import random

    rnd = random.Random(7)
    alphabet = ["\x1b", "[", "]", "P", "\\", "\x07", "\x9b", "\x9c", "\x9d", "m", ";", "0", "8", "a", "\n", "\x00"]
    for _ in range(2000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        out = sanitize(s)
        assert "\x1b" not in out and not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f]", out)
        segs = styled_segments(s)
        assert all("\x1b" not in seg.text and "\x9b" not in seg.text for seg in segs)


def test_styled_segments_keep_sgr_as_structure_and_drop_the_rest():
    segs = styled_segments("\x1b[1;31mERR\x1b[0m ok \x1b]0;t\x07\x1b[38;5;208mo\x1b[48;2;1;2;3mbg\x1b[39;49m z")
    assert segs[0] == Segment("ERR", fg="red", bold=True)
    assert segs[1] == Segment(" ok ")
    assert segs[2] == Segment("o", fg="color(208)")
    assert segs[3] == Segment("bg", fg="color(208)", bg="#010203")
    assert segs[4] == Segment(" z")
    assert "".join(s.text for s in segs) == sanitize(
        "\x1b[1;31mERR\x1b[0m ok \x1b]0;t\x07\x1b[38;5;208mo\x1b[48;2;1;2;3mbg\x1b[39;49m z"
    )


def test_styled_segments_bright_and_attributes():
    segs = styled_segments("\x1b[92;4mg\x1b[24;22mh")
    assert segs[0].fg == "bright_green" and segs[0].underline
    assert segs[1].fg == "bright_green" and not segs[1].underline
