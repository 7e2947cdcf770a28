"""`ApiRun.files()` / `file(name)`: a run's files as wandb's public API lists them.

    for f in run.files(): print(f.name, f.size)
    run.file("model.pt").download(root="out", replace=True)

Listed: what `run.save()` kept (under `files/`, named by their path there, as wandb
names saved files), the run's sidecars (`run.json`, `config.json`, `summary.json`,
`output.log`...) and logged media (`media/images/...`), by their path in the run
directory. History, system and text streams are read with `history()` instead. The
walk never leaves the run directory (a symlink pointing out of it is not listed), and
hidden or half-written files are left out.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from pathlib import Path
from typing import IO

from recorder import layout
from recorder.artifacts.artifact_names import check_entry_path
from recorder.artifacts.walk import walk

_NOT_FILES = {*layout.STREAM_DIRS, layout.MEDIA_INDEX}


class ApiFile:
    """One file of a run: `name`, `size`, `updated_at`, `url`, `download()`."""

    def __init__(self, name: str, source: str, size: int, rel: str | None = None) -> None:
        self.name = name
        self.size = size
        self._source = source
        self._rel = rel or name

    @property
    def path(self) -> str:
        """Where the file is now (it is never changed through this object)."""
        return self._source

    @property
    def url(self) -> str:
        return Path(self._source).resolve().as_uri()

    @property
    def direct_url(self) -> str:
        return self.url

    @property
    def updated_at(self) -> str | None:
        try:
            mtime = os.stat(self._source).st_mtime
        except OSError:
            return None
        return _dt.datetime.fromtimestamp(mtime, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def download(self, root: str | os.PathLike[str] = ".", replace: bool = False, exist_ok: bool = False) -> IO[str]:
        """Copy to `root/name` and return it opened for reading, as wandb does. An
        existing file is an error unless `replace` (overwrite) or `exist_ok` (keep it)."""
        dest = Path(root) / check_entry_path(self.name, "run file name")
        if dest.exists() and not replace:
            if exist_ok:
                return open(dest)
            raise FileExistsError(
                f"{dest} already exists: pass replace=True to overwrite it or exist_ok=True to keep it"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{layout.TMP_PREFIX}{dest.name}.{os.getpid()}")
        try:
            shutil.copyfile(self._source, tmp, follow_symlinks=False)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
        return open(dest)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


def _listed(rel: str) -> bool:
    parts = rel.split("/")
    if any(p.startswith((".", layout.TMP_PREFIX)) for p in parts):
        return False
    return parts[0] not in _NOT_FILES and "/".join(parts[:2]) not in _NOT_FILES


def run_files(run_dir: Path) -> list[ApiFile]:
    """The run's files, saved ones first. A saved file whose short name is also the path
    of another file of the run (`files/output.log` beside `output.log`) keeps `files/`."""
    try:
        found, _skipped = walk(run_dir)
    except OSError:
        return []
    prefix = layout.FILES_DIR + "/"
    listed = [f for f in found if _listed(f.rel)]
    others = {f.rel for f in listed if not f.rel.startswith(prefix)}
    saved = []
    for f in listed:
        if f.rel.startswith(prefix):
            short = f.rel[len(prefix) :]
            saved.append(ApiFile(f.rel if short in others else short, f.source, f.size, f.rel))
    return saved + [ApiFile(f.rel, f.source, f.size) for f in listed if f.rel in others]


def find_file(run_dir: Path, name: str) -> ApiFile:
    """The file called `name` in `run_files`, or its path in the run directory."""
    for f in run_files(run_dir):
        if name in (f.name, f._rel):
            return f
    raise FileNotFoundError(f"run {run_dir.name} has no file {name!r} (run.files() lists them)")
