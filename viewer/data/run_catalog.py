"""The run catalog: one Arrow file per root that remembers its runs table between opens.

    catalog_file(root) -> Path | None      # where the root's catalog lives (None: nowhere)
    load_catalog(root, warn) -> pa.Table | None
    save_catalog(root, table, warn) -> bool

A cache, never the truth (docs/format.md, "Caches"): deleting it loses nothing, and a
file that cannot be read, was written by another catalog version or for another root,
is ignored with one warning and rebuilt from the runs themselves.

It sits in `<root>/.loupe/` (hidden, so discovery skips it), or, when the root is not
writable, in the user's cache directory under a name made from the root's real path.
Each save writes a new file beside the old and renames it over, so a reader sees the
old catalog or the new one, never half of one; when two viewers save at once the last
rename wins, and either file describes the runs as some scan saw them.

An uncompressed Arrow IPC file, not Parquet: it is read on every open, and at 10,000 runs
Parquet took ~80 ms to decode it, LZ4-compressed Arrow 3-35 ms, uncompressed Arrow
memory-mapped under 1 ms (24 MB on disk instead of Parquet's 3: disk is the cheap side).
Nothing else reads it: it is not part of the format.

Besides every column of the `runs` view, each row keeps what is needed to know whether
it is still right without reading the run again (CATALOG_COLUMNS): the run directory's
mtime, when it was checked, the raw run.json and the sidecars' stat signature.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from recorder import layout
from recorder.atomic_json import replaced_atomically
from viewer.data.discovery import Warn
from viewer.data.error_text import first_line

__all__ = [
    "CATALOG_COLUMNS",
    "CATALOG_DIR",
    "CATALOG_FILE",
    "CATALOG_VERSION",
    "catalog_file",
    "load_catalog",
    "save_catalog",
]

CATALOG_VERSION = "3"
CATALOG_DIR = ".loupe"
CATALOG_FILE = _FILE = f"catalog-v{CATALOG_VERSION}.arrow"
_OLDER_FILES = ("catalog-v1.parquet", "catalog-v2.arrow")  # removed on save: nothing reads them any more
_META_VERSION = b"loupe.catalog.version"
_META_ROOT = b"loupe.catalog.root"

# The catalog's own columns, after the runs table's; dropped before the `runs` view.
CATALOG_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("_catalog_mtime_ns", pa.int64()),  # run directory mtime when the row was read
    ("_catalog_checked_ns", pa.int64()),  # wall clock of that stat
    ("_catalog_real", pa.string()),  # the run directory's real path (symlinks resolved)
    ("_catalog_signature", pa.string()),  # JSON: (mtime_ns, size) of each sidecar
    ("_catalog_run_json", pa.string()),  # run.json with edits applied, as JSON text
    ("_catalog_streams", pa.string()),  # JSON: the run's stream parts, or null until listed
]
CATALOG_NAMES = [name for name, _ in CATALOG_COLUMNS]


def _user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "loupe" / "catalogs"


def catalog_file(root: Path) -> Path | None:
    """`<root>/.loupe/catalog-v3.arrow`, or the user cache's file for a read-only root;
    None for a root that is itself one run (nothing to gain) or when LOUPE_NO_CATALOG is set."""
    if os.environ.get("LOUPE_NO_CATALOG") or layout.is_run_dir(root):
        return None
    if os.access(root, os.W_OK):
        return root / CATALOG_DIR / _FILE
    digest = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:24]
    return _user_cache_dir() / f"{digest}-{_FILE}"


def load_catalog(root: Path, warn: Warn) -> pa.Table | None:
    """The saved table, or None when there is none or it cannot be trusted (warned once)."""
    path = catalog_file(root)
    if path is None:
        return None
    try:
        table = read_arrow_file(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, garbage, unreadable: rebuild it
        warn(f"catalog:{path}", f"run catalog {path} is unreadable ({first_line(exc)}); rebuilding it from the runs")
        return None
    meta = table.schema.metadata or {}
    problem = None
    if meta.get(_META_VERSION) != CATALOG_VERSION.encode():
        problem = "was written by another catalog version"
    elif meta.get(_META_ROOT) != os.path.realpath(root).encode():
        problem = "belongs to another root"
    elif any(table.schema.field(n).type != t for n, t in CATALOG_COLUMNS if n in table.schema.names) or not set(
        CATALOG_NAMES
    ) <= set(table.schema.names):
        problem = "lacks the catalog's columns"
    if problem is not None:
        warn(f"catalog:{path}", f"run catalog {path} {problem}; rebuilding it from the runs")
        return None
    return table.replace_schema_metadata(None)


def read_arrow_file(path: Path) -> pa.Table:
    """An Arrow IPC file beside a root's catalog, read whole (raises as pyarrow does)."""
    with pa.memory_map(str(path), "rb") as f:
        return ipc.open_file(f).read_all()


def write_arrow_file(path: Path, table: pa.Table, meta: dict[bytes, bytes], compression: str | None = None) -> None:
    """Write `table` (with schema metadata `meta`) as `path`, atomically: a new file beside
    it renamed over, so a reader sees the old file or the new one. Raises OSError.

    Streamed to the file, not built in memory first: at 10,000 runs the catalog is ~25 MB,
    and a buffer plus its copy as bytes were ~50 MB of the dashboard's peak RSS."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp, pa.OSFile(str(tmp), "wb") as sink:
        options = ipc.IpcWriteOptions(compression=compression)
        with ipc.new_file(sink, table.schema.with_metadata(meta), options=options) as w:
            w.write_table(table.replace_schema_metadata(meta))


def save_catalog(root: Path, table: pa.Table, warn: Warn) -> bool:
    """Write `table` as the root's catalog (atomically); False when it could not be saved,
    which costs only speed: the next open scans again."""
    path = catalog_file(root)
    if path is None:
        return False
    meta = {_META_VERSION: CATALOG_VERSION.encode(), _META_ROOT: os.path.realpath(root).encode()}
    try:
        write_arrow_file(path, table, meta)
        for older in _OLDER_FILES:
            path.with_name(path.name.replace(_FILE, older)).unlink(missing_ok=True)
    except OSError as exc:
        warn(f"catalog-save:{path}", f"cannot save the run catalog {path} ({first_line(exc)}); each open will rescan")
        return False
    return True
