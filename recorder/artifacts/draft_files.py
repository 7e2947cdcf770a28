"""Building a draft artifact: add files, folders, references and new files, or remove them.

Nothing is read or copied here: a draft only remembers where each file is
(`_pending`, path inside the artifact -> {"src", "follow", "size", ...}); the bytes are
read when the artifact is logged (publish.py). What may be added is decided now, though:
entry paths are checked (paths.py), and add_dir / add_reference walk folders with
walk.py, so symlinks out of the folder, symlink loops, FIFOs, sockets and devices are
skipped rather than followed or opened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlparse

from recorder.artifacts.artifact_names import _bad_char, check_entry_path
from recorder.artifacts.manifest_entry import ArtifactManifestEntry
from recorder.artifacts.walk import walk
from recorder.warn import warn

if TYPE_CHECKING:
    from recorder.artifacts.artifact import Artifact


class DraftFiles:
    """The adding half of Artifact. Relies on Artifact's `_name`, `_pending`, `skipped`,
    `_staging`, `_staging_finalizer` and `_require_draft`."""

    _name: str
    _pending: dict[str, dict[str, Any]]
    skipped: list[dict[str, str]]
    _staging: str | None
    _staging_finalizer: Any

    if TYPE_CHECKING:  # defined by Artifact, the one class that mixes this in

        def _require_draft(self, what: str) -> None: ...

    def _pending_entry(self, path: str, item: dict[str, Any]) -> ArtifactManifestEntry:
        # DraftFiles is only ever the adding half of an Artifact
        return ArtifactManifestEntry(
            cast("Artifact", self), path, None, item.get("size"), item.get("ref"), item.get("src")
        )

    def _add_pending(self, path: str, item: dict[str, Any], overwrite: bool) -> ArtifactManifestEntry:
        old = self._pending.get(path)
        if old is not None and not overwrite and old != item:
            raise ValueError(
                f"artifact {self._name!r} already has a file at {path!r}; pass overwrite=True to replace it"
            )
        self._pending[path] = item
        return self._pending_entry(path, item)

    def add_file(
        self,
        local_path: str | os.PathLike,
        name: str | None = None,
        is_tmp: bool = False,
        skip_cache: bool | None = None,
        policy: str | None = None,
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one file, at `name` inside the artifact (default: its base name)."""
        self._require_draft("add files to")
        local = os.fspath(local_path)
        entry_path = check_entry_path(name if name is not None else os.path.basename(local))
        try:
            st = os.stat(local)
        except FileNotFoundError:
            raise FileNotFoundError(f"add_file: {local} does not exist") from None
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"add_file: {local} is a folder; use add_dir()")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"add_file: {local} is not a regular file (FIFO, socket or device)")
        return self._add_pending(
            entry_path, {"src": os.path.abspath(local), "follow": True, "size": st.st_size}, overwrite
        )

    def add_dir(
        self,
        local_path: str | os.PathLike,
        name: str | None = None,
        skip_cache: bool | None = None,
        policy: str | None = None,
        merge: bool = False,
    ) -> None:
        """Add every regular file under `local_path` (under `name/` inside the artifact).

        Symlinks are followed only to targets inside the folder; symlinks out of it,
        symlink loops, FIFOs, sockets and devices are skipped with a warning and listed in
        `self.skipped` ({"path", "reason"}). A file whose name is unsafe inside an artifact
        (backslash, control characters, over-long) raises ValueError before anything is added.
        """
        self._require_draft("add files to")
        prefix = check_entry_path(name) if name not in (None, "", ".", "/") else ""
        found, skipped = walk(local_path)
        planned: dict[str, dict[str, Any]] = {}
        for f in found:
            rel = check_entry_path(
                f"{prefix}/{f.rel}" if prefix else f.rel, f"file name {f.rel!r} found in {os.fspath(local_path)!r}"
            )
            planned[rel] = {"src": f.source, "follow": f.follow, "size": f.size}
        for rel, item in planned.items():
            self._add_pending(rel, item, overwrite=merge)
        if skipped:
            for s in skipped:
                s = {**s, "path": f"{prefix}/{s['path']}" if prefix else s["path"]}
                self.skipped.append(s)
            shown = ", ".join(f"{s['path']!r} ({s['reason']})" for s in skipped[:5])
            more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            warn(
                f"add_dir({os.fspath(local_path)!r}): skipped {len(skipped)} item(s): {shown}{more}; "
                "see artifact.skipped"
            )

    def add_reference(
        self, uri: str, name: str | None = None, checksum: bool = True, max_objects: int | None = None
    ) -> list[ArtifactManifestEntry]:
        """Track a file that stays where it is. file:// URIs are checksummed (sha256) when
        logged unless checksum=False, and a folder adds one reference per file; other URIs
        (s3://, https://, ...) are recorded as they are and cannot be downloaded offline."""
        self._require_draft("add references to")
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"invalid reference {uri!r}")
        bad = _bad_char(uri)
        if bad:
            raise ValueError(f"invalid reference {uri!r}: contains {bad}")
        parsed = urlparse(uri)
        if parsed.scheme == "file" or parsed.scheme == "":
            local = unquote(parsed.path) if parsed.scheme == "file" else uri
            if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
                raise ValueError(f"file:// reference {uri!r} names another host")
            local = os.path.abspath(local)
            if os.path.isdir(local):
                found, skipped = walk(local)
                prefix = check_entry_path(name) if name else ""
                out = []
                for f in found[: max_objects or None]:
                    rel = check_entry_path(f"{prefix}/{f.rel}" if prefix else f.rel)
                    out.append(
                        self._add_pending(
                            rel,
                            {
                                "ref": Path(os.path.join(local, *f.rel.split("/"))).as_uri(),
                                "src": f.source,
                                "follow": f.follow,
                                "size": f.size,
                                "checksum": bool(checksum),
                            },
                            overwrite=False,
                        )
                    )
                if skipped:
                    self.skipped.extend(skipped)
                    warn(f"add_reference({uri!r}): skipped {len(skipped)} item(s); see artifact.skipped")
                return out
            try:
                st = os.stat(local)
            except FileNotFoundError:
                raise FileNotFoundError(f"add_reference: {local} does not exist") from None
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"add_reference: {local} is not a regular file")
            entry_path = check_entry_path(name if name is not None else os.path.basename(local))
            return [
                self._add_pending(
                    entry_path,
                    {
                        "ref": Path(local).as_uri(),
                        "src": local,
                        "follow": True,
                        "size": st.st_size,
                        "checksum": bool(checksum),
                    },
                    overwrite=False,
                )
            ]
        default = os.path.basename(parsed.path.rstrip("/")) or parsed.netloc or "reference"
        entry_path = check_entry_path(name if name is not None else default)
        return [self._add_pending(entry_path, {"ref": uri, "size": None}, overwrite=False)]

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[Any]:
        """Write a file straight into the artifact: `with art.new_file("a.txt") as f: f.write(...)`."""
        self._require_draft("add files to")
        entry_path = check_entry_path(name)
        if entry_path in self._pending:
            raise ValueError(f"artifact {self._name!r} already has a file at {entry_path!r}")
        if mode not in ("x", "w", "xb", "wb"):
            raise ValueError(f"new_file mode must be 'x', 'w', 'xb' or 'wb', not {mode!r}")
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="loupe-artifact-")
            self._staging_finalizer = weakref.finalize(self, shutil.rmtree, self._staging, True)
        path = os.path.join(self._staging, *entry_path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(path, mode, encoding=encoding) as f:
            yield f
        self.add_file(path, name=entry_path)

    def remove(self, item: str | ArtifactManifestEntry) -> None:
        self._require_draft("remove files from")
        path = item.path if isinstance(item, ArtifactManifestEntry) else check_entry_path(item)
        if path in self._pending:
            del self._pending[path]
            return
        prefix = path + "/"
        removed = [p for p in self._pending if p.startswith(prefix)]
        if not removed:
            raise FileNotFoundError(f"artifact {self._name!r} has no file or folder {path!r}")
        for p in removed:
            del self._pending[p]

    def add(self, obj: Any, name: str) -> ArtifactManifestEntry:
        raise NotImplementedError(
            "Artifact.add(object) is not supported by Loupe; write the object to a file and use add_file()"
        )
