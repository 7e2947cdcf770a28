"""Every path and file name of the on-disk run format, in one place.

The recorder writes by these names and the viewer reads by them; docs/format.md is
the human version of this module. Bump FORMAT_VERSION when a reader written for
the old layout would misread the new one.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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

# run.json, at finish: the history keys whose summary.json value is their last logged one,
# so a reader may take the summary for "the final value" of those (docs/format.md).
SUMMARY_FINAL = "summary_final"
# ... and true when those are every history key the run has: no history need be read for it.
SUMMARY_FINAL_COMPLETE = "summary_final_complete"

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


# -- media (docs/format.md, "media") ---------------------------------------------------
#
#     <run>/media/images/<key-dir>/<step>-<n>-<writer>.png
#     <run>/media/tables/<key-dir>/<step>-<n>-<writer>.parquet
#     <run>/media/tables/<key-dir>/<step>-<n>-<writer>.files/<row>-<col>.png   images in table cells
#     <run>/media/index/part-<w>-<lo>-<hi>.parquet, journal-<w>-<seq>.jsonl
MEDIA_DIR = "media"
MEDIA_IMAGES_DIR = "images"
MEDIA_TABLES_DIR = "tables"
MEDIA_INDEX_DIR = "index"
# The media index stream, relative to a run directory.
MEDIA_INDEX = f"{MEDIA_DIR}/{MEDIA_INDEX_DIR}"

MEDIA_KIND_IMAGE = "image"
MEDIA_KIND_HISTOGRAM = "histogram"
MEDIA_KIND_TABLE = "table"
MEDIA_KIND_PLOT = "plot"
MEDIA_KINDS = (MEDIA_KIND_IMAGE, MEDIA_KIND_HISTOGRAM, MEDIA_KIND_TABLE, MEDIA_KIND_PLOT)

_SAFE_SEGMENT = re.compile(r"[^A-Za-z0-9_.\-]")
_MAX_SEGMENT = 80
_MAX_SEGMENTS = 8


def media_key_dir(key: str) -> str:
    """A relative POSIX path for a logged media key: safe characters only, no '.', '..' or
    empty segments, so a key ("../../etc", "a b", markup) can never leave the media directory.

    Keys that needed changing get a short hash of the original appended, so two keys
    never share a directory ("a b" and "a_b" stay apart).
    """
    segments = []
    for raw in key.split("/"):
        seg = _SAFE_SEGMENT.sub("_", raw)[:_MAX_SEGMENT].lstrip(".")
        if seg:
            segments.append(seg)
    if len(segments) > _MAX_SEGMENTS:
        segments = segments[: _MAX_SEGMENTS - 1] + ["_".join(segments[_MAX_SEGMENTS - 1 :])[:_MAX_SEGMENT]]
    clean = "/".join(segments)
    if clean != key or not clean:
        digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        clean = f"{clean}-{digest}" if clean else f"key-{digest}"
    return clean


def media_file_stem(step: int, n: int, writer: str) -> str:
    return f"{step}-{n}-{writer}"


def inside(base: Path, rel: str) -> Path:
    """`base / rel` for a relative path read from a record, refusing any that would leave `base`."""
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or "\\" in rel:
        raise ValueError(f"media path {rel!r} escapes the run directory")
    return base.joinpath(*p.parts)


# -- project-level directories -------------------------------------------------------------
# Beside the runs; their names cannot be run ids (a run id starts with a letter or digit).
ARTIFACTS_DIR = "_artifacts"
SWEEPS_DIR = "_sweeps"
# Root-level registry of linked artifact versions, and a run's artifact inputs/outputs.
REGISTRY_DIR = "_registry"
RUN_ARTIFACTS_FILE = "artifacts.json"
# Root-level folder that deleted runs are moved to (hidden: never scanned as runs), and
# the record beside each entry saying where it came from.
TRASH_DIR = ".trash"
TRASH_RECORD_SUFFIX = ".trash.json"

# -- artifacts (docs/artifacts.md) ------------------------------------------------------------
#
#     <root>/<project>/_artifacts/collections/<name>/v<N>.json, aliases.json
#     <root>/<project>/_artifacts/usage.jsonl
#     <root>/_registry/<registry>/<collection>/v<N>.json, aliases.json
ARTIFACT_COLLECTIONS_DIR = "collections"
ARTIFACT_USAGE_FILE = "usage.jsonl"
ARTIFACT_ALIASES_FILE = "aliases.json"
# The alias every collection's highest version has; never stored.
ARTIFACT_LATEST = "latest"
_VERSION_FILE_RE = re.compile(r"^v(\d+)\.json$")


def artifacts_dir(root: Path, project: str) -> Path:
    return Path(root) / project / ARTIFACTS_DIR


def artifact_collections_dir(root: Path, project: str) -> Path:
    return artifacts_dir(root, project) / ARTIFACT_COLLECTIONS_DIR


def registry_dir(root: Path) -> Path:
    return Path(root) / REGISTRY_DIR


def _safe_name(name: str) -> None:
    check_name(name, "name")


def artifact_projects(root: Path) -> list[str]:
    """Projects under `root` that have an `_artifacts` folder."""
    return listed_names(root, _safe_name, lambda p: (p / ARTIFACTS_DIR).is_dir())


def artifact_collections(root: Path, project: str) -> list[str]:
    """Artifact names (collection folders) of one project."""
    return listed_names(artifact_collections_dir(root, project), _safe_name, Path.is_dir)


def registry_collections(root: Path) -> list[tuple[str, str]]:
    """(registry, collection) pairs under `<root>/_registry`."""
    base = registry_dir(root)
    return [
        (reg, col)
        for reg in listed_names(base, _safe_name)
        for col in listed_names(base / reg, _safe_name, Path.is_dir)
    ]


def version_file(collection_dir: Path, version: int) -> Path:
    """The record of one version of an artifact or registry collection."""
    return Path(collection_dir) / f"v{int(version)}.json"


def listed_versions(collection_dir: Path) -> list[int]:
    """Version numbers present in a collection directory, ascending ([] when there is none)."""
    try:
        names = os.listdir(collection_dir)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(_VERSION_FILE_RE.match, names) if m)


# -- sweeps (docs/sweeps.md) --------------------------------------------------------------------
#
#     <root>/<project>/_sweeps/<sweep_id>/sweep.json, journal.log, claims/, agents/<agent>.json
SWEEP_FILE = "sweep.json"
SWEEP_JOURNAL_FILE = "journal.log"
SWEEP_CLAIMS_DIR = "claims"
SWEEP_AGENTS_DIR = "agents"


def sweep_agent_file(sweep_dir: Path, agent_id: str) -> Path:
    """An agent's heartbeat record; `agent_id` comes from the journal, so it is checked."""
    return Path(sweep_dir) / SWEEP_AGENTS_DIR / f"{check_name(agent_id, 'agent id')}.json"
