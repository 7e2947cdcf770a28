"""Names and paths that come from users (or from a manifest on disk) are checked here.

`os.path.join(root, name)` escapes the root with `../../x`, `/etc/x` or `a/../../x`;
a name with a newline or an escape sequence ends up in terminals and SQL results.
Everything that becomes a file or directory name goes through one of these checks and
fails with a ValueError saying what is wrong, never silently rewritten.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_NAME_CHARS = 128

# Artifact names, collection names and aliases become single directory/file names.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_VERSION_RE = re.compile(r"^v(\d+)$")
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def _bad_char(text: str) -> str | None:
    for ch in text:
        o = ord(ch)
        if ch == "\0":
            return "a NUL character"
        if ch == "\n" or ch == "\r":
            return "a newline"
        if ch == "\x1b":
            return "an escape character (ESC)"
        if o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F:
            return f"a control character (U+{o:04X})"
        if ch in "\u2028\u2029":
            return f"a line separator (U+{o:04X})"
    return None


def check_name(value: object, what: str = "artifact name") -> str:
    """A name that becomes one directory name: letters, digits, '.', '_', '-'."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"invalid {what} {value!r}: must be a non-empty string")
    bad = _bad_char(value)
    if bad:
        raise ValueError(f"invalid {what} {value!r}: contains {bad}")
    if "\\" in value:
        raise ValueError(f"invalid {what} {value!r}: contains a backslash")
    if "/" in value:
        raise ValueError(f"invalid {what} {value!r}: contains '/' (a name is a single component)")
    if value in (".", "..") or ".." in value:
        raise ValueError(f"invalid {what} {value!r}: contains '..'")
    if len(value) > MAX_NAME_CHARS:
        raise ValueError(f"invalid {what} {value[:40]!r}...: longer than {MAX_NAME_CHARS} characters")
    if not _NAME_RE.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def check_alias(value: object) -> str:
    alias = check_name(value, "alias")
    if _VERSION_RE.match(alias):
        raise ValueError(f"invalid alias {alias!r}: names like v3 are version numbers, not aliases")
    return alias


def parse_version(text: str) -> int | None:
    m = _VERSION_RE.match(text)
    return int(m.group(1)) if m else None


def check_digest(value: object) -> str:
    """Digests name store objects: exactly 64 lowercase hex digits, so never a path."""
    if not isinstance(value, str) or not _DIGEST_RE.match(value):
        raise ValueError(f"invalid sha256 digest {value!r}")
    return value


def check_entry_path(value: object, what: str = "artifact file path") -> str:
    """A relative POSIX path inside an artifact, returned normalised ('a//./b' -> 'a/b').

    Refused: absolute paths, '..' components, backslashes, NUL, newlines, escape and
    other control characters, components longer than 255 bytes, empty paths.
    """
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid {what} {value!r}: must be a string")
    bad = _bad_char(value)
    if bad:
        raise ValueError(f"invalid {what} {value!r}: contains {bad}")
    if "\\" in value:
        raise ValueError(f"invalid {what} {value!r}: contains a backslash (use '/' to separate folders)")
    if value.startswith("/"):
        raise ValueError(f"invalid {what} {value!r}: absolute paths are not allowed inside an artifact")
    if re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"invalid {what} {value!r}: drive-letter paths are not allowed inside an artifact")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if not parts:
        raise ValueError(f"invalid {what} {value!r}: empty path")
    for part in parts:
        if part == "..":
            raise ValueError(f"invalid {what} {value!r}: '..' components are not allowed")
        try:
            size = len(part.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError(f"invalid {what} {value!r}: not valid UTF-8 (lone surrogate)") from None
        if size > MAX_COMPONENT_BYTES:
            raise ValueError(
                f"invalid {what} {value[:60]!r}...: a component is {size} bytes, more than {MAX_COMPONENT_BYTES}"
            )
    path = "/".join(parts)
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise ValueError(f"invalid {what} {path[:60]!r}...: longer than {MAX_PATH_BYTES} bytes")
    return path


def safe_join(root: Path, entry_path: str) -> Path:
    """root / entry_path, after checking entry_path; the result is always inside root."""
    rel = check_entry_path(entry_path)
    target = Path(root, *rel.split("/"))
    # Belt and braces: the checked path has no '..' and is relative, so this holds.
    if os.path.commonpath([os.path.abspath(root), os.path.abspath(target)]) != os.path.abspath(root):
        raise ValueError(f"artifact file path {entry_path!r} escapes {root}")
    return target


def make_parents_inside(root: Path, target: Path) -> None:
    """Create target's parent folders under root, refusing to pass through a symlink.

    A download folder that already holds `a -> /etc` must not turn `a/passwd` into a
    write to /etc/passwd.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rel = target.parent.relative_to(root)
    current = root
    for part in rel.parts:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            try:
                os.mkdir(current)
            except FileExistsError:
                pass
            st = os.lstat(current)
        import stat as _stat

        if _stat.S_ISLNK(st.st_mode):
            raise ValueError(f"refusing to write through the symlink {current} (inside the download folder)")
        if not _stat.S_ISDIR(st.st_mode):
            raise ValueError(f"cannot create folder {current}: a file with that name exists")
