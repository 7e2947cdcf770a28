"""Make untrusted text (run names, config values, console logs) safe to show in a terminal.

Everything a run wrote is untrusted: a log line can carry escape sequences that set the
window title (OSC 0), emit hyperlinks (OSC 8), clear the screen, query the cursor or
reprogram the terminal (DCS). Nothing from a run may reach the terminal unfiltered.

    sanitize(text, keep_newlines=False) -> str
        Remove every escape sequence (CSI, OSC terminated by BEL or ST, DCS/SOS/PM/APC,
        other ESC sequences, a lone ESC, their 8-bit C1 forms), every C0 control except
        tab (newline too unless keep_newlines), DEL, C1 controls and Unicode bidi
        overrides. What is left is plain printable text.

    styled_segments(text) -> list[Segment]
        The same clean-up, but SGR colour/attribute codes (ESC[...m) are interpreted and
        returned as structured style data instead of being dropped, so a UI can colour a
        log line without ever passing an escape sequence through. Colour names follow
        Rich's vocabulary ("red", "bright_red", "color(123)", "#rrggbb").

Neither function raises on any input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Segment", "has_escapes", "sanitize", "styled_segments"]

# One alternation for every escape form, applied left to right.
_ESCAPE_RE = re.compile(
    r"""
    (?P<csi>(?:\x1b\[|\x9b)(?P<params>[\x30-\x3f]*)(?P<inter>[\x20-\x2f]*)(?P<final>[\x40-\x7e])?)
  | (?P<str>(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?)
  | (?P<esc>\x1b[\x20-\x2f]*[\x30-\x7e]?)
    """,
    re.VERBOSE,
)
# After escapes are gone: C0 controls but tab (and newline, handled apart), DEL, C1,
# and the bidi overrides/isolates that reorder what is displayed.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
_CONTROL_NL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
_ESCAPE_START = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_FAST_OK = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_escapes(text: str) -> bool:
    """True when `text` holds anything sanitize() would change (ignoring newlines)."""
    return _CONTROL_RE.search(text) is not None


def sanitize(text: object, keep_newlines: bool = False) -> str:
    """Plain printable text: every escape sequence and control character removed.

    Newlines become a space unless `keep_newlines`; a carriage return is dropped.
    Non-strings are converted with str() first.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if _FAST_OK.search(text) is None:
        return text
    if _ESCAPE_START.search(text) is not None:
        text = _ESCAPE_RE.sub("", text)
    if keep_newlines:
        return _strip_keep_nl(text.replace("\r\n", "\n"))
    text = text.replace("\r\n", " ").replace("\n", " ")
    return _CONTROL_NL_RE.sub("", text)


def _strip_keep_nl(text: str) -> str:
    return "\n".join(_CONTROL_NL_RE.sub("", part) for part in text.split("\n"))


@dataclass(frozen=True)
class Segment:
    """A run of text with one style. `fg`/`bg` are Rich-style colour strings or None."""

    text: str
    fg: str | None = None
    bg: str | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False


_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


class _SgrState:
    __slots__ = ("bg", "bold", "dim", "fg", "italic", "reverse", "strike", "underline")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = self.strike = False

    def segment(self, text: str) -> Segment:
        return Segment(
            text, self.fg, self.bg, self.bold, self.dim, self.italic, self.underline, self.reverse, self.strike
        )

    def apply(self, params: str) -> None:
        # Only digits and ';' matter; anything else (private markers, ':') ends the parse.
        if params and not re.fullmatch(r"[0-9;]*", params):
            return
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 9:
                self.strike = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif c == 29:
                self.strike = False
            elif 30 <= c <= 37:
                self.fg = _NAMES[c - 30]
            elif 90 <= c <= 97:
                self.fg = "bright_" + _NAMES[c - 90]
            elif 40 <= c <= 47:
                self.bg = _NAMES[c - 40]
            elif 100 <= c <= 107:
                self.bg = "bright_" + _NAMES[c - 100]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48):
                colour, used = _extended_colour(codes[i + 1 :])
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
                i += used
            i += 1


def _extended_colour(rest: list[int]) -> tuple[str | None, int]:
    if len(rest) >= 2 and rest[0] == 5:
        return (f"color({rest[1]})" if 0 <= rest[1] <= 255 else None), 2
    if len(rest) >= 4 and rest[0] == 2:
        r, g, b = (min(max(v, 0), 255) for v in rest[1:4])
        return f"#{r:02x}{g:02x}{b:02x}", 4
    return None, len(rest)


def styled_segments(text: object) -> list[Segment]:
    """Split `text` into styled segments; SGR codes become style, everything else is removed.

    Newlines are turned into spaces (a segment list describes one line).
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    state = _SgrState()
    out: list[Segment] = []
    pos = 0

    def emit(chunk: str) -> None:
        chunk = _CONTROL_NL_RE.sub("", chunk.replace("\n", " "))
        if not chunk:
            return
        seg = state.segment(chunk)
        if out and out[-1] == Segment(out[-1].text, *_style_tuple(seg)):
            out[-1] = Segment(out[-1].text + chunk, *_style_tuple(seg))
        else:
            out.append(seg)

    for m in _ESCAPE_RE.finditer(text):
        emit(text[pos : m.start()])
        pos = m.end()
        if m.group("csi") and m.group("final") == "m" and not m.group("inter"):
            state.apply(m.group("params"))
    emit(text[pos:])
    return out


def _style_tuple(seg: Segment) -> tuple:
    return (seg.fg, seg.bg, seg.bold, seg.dim, seg.italic, seg.underline, seg.reverse, seg.strike)
