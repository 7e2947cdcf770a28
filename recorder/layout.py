"""Every path and file name of the on-disk run format, in one place.

The recorder writes by these names and the viewer reads by them; docs/format.md is
the human version of this module. Bump FORMAT_VERSION when a reader written for
the old layout would misread the new one.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.json"
OUTPUT_LOG = "output.log"
FILES_DIR = "files"
REQUIREMENTS_FILE = "requirements.txt"
DIFF_FILE = "diff.patch"
# What the user changed after the fact (name, tags, notes, summary values): a sidecar the
# recorder never writes, so an edit cannot race run.json's rewrites by the live run.
EDITS_FILE = "edits.json"
EDITS_LOCK = ".edits.lock"

HISTORY_DIR = "history"
SYSTEM_DIR = "system"
TEXT_DIR = "text"
STREAM_DIRS = (HISTORY_DIR, SYSTEM_DIR, TEXT_DIR)

# Columns every history/system Parquet file carries besides the metrics.
RUN_ID_COLUMN = "run_id"
STEP = "_step"
TIMESTAMP = "_timestamp"
RUNTIME = "_runtime"
# Keys inside a journal line that are not metric columns.
JOURNAL_TEXT_KEY = "_text"
JOURNAL_NONFINITE_KEY = "_nf"
RESERVED_KEYS = frozenset({RUN_ID_COLUMN, STEP, TIMESTAMP, RUNTIME, JOURNAL_TEXT_KEY, JOURNAL_NONFINITE_KEY})

TMP_PREFIX = ".tmp-"
_PART_RE = re.compile(r"^part-([0-9a-z]+)-(\d{8})-(\d{8})\.parquet$")
_JOURNAL_RE = re.compile(r"^journal-([0-9a-z]+)-(\d{8})\.jsonl$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_PROJECT_RE = _RUN_ID_RE


def new_run_id(now: float | None = None) -> str:
    """Sortable by creation time, unique without coordination (48 random bits)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(6)}"


_ADJ = (
    "amber",
    "brisk",
    "calm",
    "dawn",
    "eager",
    "fancy",
    "gentle",
    "hazy",
    "icy",
    "jolly",
    "keen",
    "lucid",
    "misty",
    "noble",
    "olive",
    "proud",
    "quiet",
    "rapid",
    "sunny",
    "tidy",
    "vivid",
    "wild",
)
_NOUN = (
    "aurora",
    "brook",
    "cedar",
    "dune",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "island",
    "jade",
    "lake",
    "meadow",
    "nebula",
    "orbit",
    "pine",
    "quartz",
    "river",
    "summit",
    "tundra",
    "valley",
)


def default_run_name(run_id: str) -> str:
    # Stable for a given id, so a resumed run keeps its name.
    h = int.from_bytes(run_id.encode(), "little") % (len(_ADJ) * len(_NOUN) * 97)
    return f"{_ADJ[h % len(_ADJ)]}-{_NOUN[(h // len(_ADJ)) % len(_NOUN)]}-{h % 97}"


def new_writer_id() -> str:
    """Distinct per writing process, so several ranks in one run never share a file name."""
    return secrets.token_hex(4)


def listed_names(
    directory: Path, check: Callable[[str], object], keep: Callable[[Path], bool] | None = None
) -> list[str]:
    """Sorted names in `directory` that `check` accepts (it raises ValueError for the rest)
    and, when given, whose path `keep` accepts; [] when the directory cannot be listed.

    Directory names come from disk and may be hostile: nothing that fails the check is
    ever joined into a path."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    out = []
    for name in names:
        try:
            check(name)
        except ValueError:
            continue
        if keep is None or keep(Path(directory) / name):
            out.append(name)
    return out


def check_name(value: str, what: str) -> str:
    """Run ids and project names become directory names: refuse anything that could escape."""
    if not isinstance(value, str) or not _RUN_ID_RE.match(value) or value in (".", ".."):
        raise ValueError(f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' (at most 128 characters)")
    return value


def part_name(writer: str, lo: int, hi: int) -> str:
    return f"part-{writer}-{lo:08d}-{hi:08d}.parquet"


def journal_name(writer: str, seq: int) -> str:
    return f"journal-{writer}-{seq:08d}.jsonl"


@dataclass(frozen=True)
class PartName:
    writer: str
    lo: int
    hi: int

    def covers(self, other: PartName) -> bool:
        return (
            self.writer == other.writer
            and self.lo <= other.lo
            and other.hi <= self.hi
            and (self.lo, self.hi) != (other.lo, other.hi)
        )


def parse_part(name: str) -> PartName | None:
    m = _PART_RE.match(name)
    return PartName(m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def parse_journal(name: str) -> tuple[str, int] | None:
    m = _JOURNAL_RE.match(name)
    return (m.group(1), int(m.group(2))) if m else None


@dataclass(frozen=True)
class StreamFiles:
    """The files of one stream directory that a reader should read, duplicates removed."""

    parts: list[Path]
    journals: list[Path]


def live_stream_files(directory: Path, journal_dir: Path | None = None) -> StreamFiles:
    """Pick the parts and journals that hold each row exactly once.

    A part merged by compaction covers the smaller parts it was made from; a crash
    between publishing the merged part and unlinking the old ones leaves both, so the
    covered ones are skipped. A journal segment is covered once its part exists.
    Text values travel in the history journal, so the text stream passes the history
    directory as `journal_dir`.
    """
    journal_dir = directory if journal_dir is None else journal_dir
    try:
        names = [e.name for e in _scandir(directory)]
    except OSError:
        names = []
    try:
        journal_names = names if journal_dir == directory else [e.name for e in _scandir(journal_dir)]
    except OSError:
        journal_names = []
    parts = [p for p in (parse_part(n) for n in names) if p is not None]
    kept = [p for p in parts if not any(q.covers(p) for q in parts if q.writer == p.writer)]
    journals = []
    for n in journal_names:
        j = parse_journal(n)
        if j is None:
            continue
        writer, seq = j
        if not any(p.writer == writer and p.lo <= seq <= p.hi for p in kept):
            journals.append((writer, seq, n))
    kept.sort(key=lambda p: (p.writer, p.lo))
    journals.sort()
    return StreamFiles(
        [directory / part_name(p.writer, p.lo, p.hi) for p in kept],
        [journal_dir / n for _, _, n in journals],
    )


def _scandir(directory: Path):
    import os

    with os.scandir(directory) as it:
        return [e for e in it if e.is_file(follow_symlinks=False)]


def is_run_dir(path: Path) -> bool:
    return (path / RUN_FILE).is_file()


# Project-level directories beside the runs (their names cannot be run ids: a run id
# starts with a letter or digit).
ARTIFACTS_DIR = "_artifacts"
SWEEPS_DIR = "_sweeps"
# Root-level registry of linked artifact versions, and a run's artifact inputs/outputs.
REGISTRY_DIR = "_registry"
RUN_ARTIFACTS_FILE = "artifacts.json"
# Root-level folder that deleted runs are moved to (hidden: never scanned as runs), and
# the record beside each entry saying where it came from.
TRASH_DIR = ".trash"
TRASH_RECORD_SUFFIX = ".trash.json"
