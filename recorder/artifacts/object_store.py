"""The project's content-addressed object store: `_artifacts/objects/<2 hex>/<62 hex>`.

An object's name is the sha256 of its bytes, so a file shared by many versions (or
many artifacts of the project) is stored once. Objects are written to a `.tmp-` name,
fsynced and renamed into place, so a published object is always complete; they are made
read-only. Every read back (download) hashes the bytes again: a corrupted object is
reported as ArtifactCorruptedError, never used.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import time
from pathlib import Path

from recorder import journal, layout
from recorder.artifacts.artifact_names import check_digest
from recorder.atomic_json import fsync_dir
from recorder.layout import TMP_PREFIX

CHUNK = 1 << 20
OBJECTS_DIR = "objects"


class ArtifactCorruptedError(ValueError):
    """A stored (or referenced) file's bytes no longer match the digest in the manifest."""


class ArtifactMissingError(FileNotFoundError):
    """A file a manifest lists is absent from the store (or a referenced file is gone)."""


def open_regular(path: str | os.PathLike, follow: bool = True) -> int:
    """Open a regular file for reading; FIFOs and devices are refused without blocking."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path} is a symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{path} is not a regular file (FIFO, socket, device or folder)")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


def hash_fd(fd: int) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def hash_file(path: str | os.PathLike, follow: bool = True) -> tuple[str, int]:
    """(sha256 hex, size) read in 1 MiB chunks, so memory stays flat for large files."""
    fd = open_regular(path, follow)
    try:
        return hash_fd(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def copy_hashing(src_fd: int, dest: Path) -> tuple[str, int]:
    """Copy src_fd to `dest` (created exclusively) while hashing; fsync; returns (digest, size).

    A copy that fails (disk full, read error) leaves no `dest` behind."""
    h = hashlib.sha256()
    size = 0
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        try:
            while True:
                chunk = os.read(src_fd, CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
                _write_all(out, chunk)
            os.fsync(out)
        finally:
            os.close(out)
    except BaseException:
        _unlink(dest)
        raise
    return h.hexdigest(), size


def tmp_name(stem: str = "") -> str:
    return f"{TMP_PREFIX}{stem}{os.getpid()}-{secrets.token_hex(6)}"


class ObjectStore:
    def __init__(self, artifacts_dir: Path) -> None:
        self.dir = Path(artifacts_dir) / OBJECTS_DIR

    def path(self, digest: str) -> Path:
        digest = check_digest(digest)
        return self.dir / digest[:2] / digest[2:]

    def has(self, digest: str, size: int | None = None) -> bool:
        try:
            st = os.stat(self.path(digest))
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and (size is None or st.st_size == size)

    def put(self, src: str | os.PathLike, follow: bool = True) -> tuple[str, int]:
        """Store the file at `src`; returns (digest, size) of the bytes actually stored.

        Hashes first, so content already in the store costs one read and no write; the
        copy is hashed again, so a file changing under us is stored under the digest of
        what was copied, never a mismatched name.
        """
        digest, size = hash_file(src, follow)
        if self.has(digest, size):
            self._touch(digest)  # tells `gc` this object is in use again
            return digest, size
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / tmp_name()
        fd = open_regular(src, follow)
        try:
            digest, size = copy_hashing(fd, tmp)
        finally:
            os.close(fd)
        self._publish(tmp, digest, size)
        return digest, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest, len(data)):
            self._touch(digest)
            return digest, len(data)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / tmp_name()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._publish(tmp, digest, len(data))
        return digest, len(data)

    def _publish(self, tmp: Path, digest: str, size: int) -> None:
        final = self.path(digest)
        try:
            final.parent.mkdir(exist_ok=True)
            os.chmod(tmp, 0o444)
            if self.has(digest, size):
                _unlink(tmp)  # another process stored the same bytes meanwhile
                return
            # A wrong-sized object under this name is corrupt: the fresh copy replaces it.
            os.replace(tmp, final)
            fsync_dir(final.parent)
        except BaseException:
            _unlink(tmp)
            raise

    def _touch(self, digest: str) -> None:
        try:
            os.utime(self.path(digest))
        except OSError:
            pass

    def verify(self, digest: str) -> None:
        """Raise ArtifactMissingError / ArtifactCorruptedError unless the object hashes to its name."""
        path = self.path(digest)
        try:
            actual, _ = hash_file(path, follow=False)
        except FileNotFoundError:
            raise ArtifactMissingError(f"store object {digest} is missing ({path})") from None
        if actual != digest:
            raise ArtifactCorruptedError(f"store object {path} is corrupted: its sha256 is {actual}, expected {digest}")

    def copy_out(self, digest: str, dest: Path, link: bool = False, what: str = "") -> None:
        """Materialise object `digest` at `dest` (replaced atomically), verifying its bytes.

        link=True hard-links the (read-only) object instead of copying when possible;
        the object is hashed first either way.
        """
        src = self.path(digest)
        label = f" for {what}" if what else ""
        tmp = dest.with_name(tmp_name(".dl-"))
        if link:
            self.verify(digest)
            try:
                os.link(src, tmp)
                os.replace(tmp, dest)
                return
            except OSError:
                _unlink(tmp)  # other filesystem, or links refused: copy instead
        try:
            fd = open_regular(src, follow=False)
        except FileNotFoundError:
            raise ArtifactMissingError(f"store object {digest}{label} is missing ({src})") from None
        try:
            actual, _ = copy_hashing(fd, tmp)
        except BaseException:
            _unlink(tmp)
            raise
        finally:
            os.close(fd)
        if actual != digest:
            _unlink(tmp)
            raise ArtifactCorruptedError(
                f"store object {src}{label} is corrupted: its sha256 is {actual}, expected {digest}; "
                "the file was not written"
            )
        os.replace(tmp, dest)

    def iter_objects(self):
        """(digest, path, mtime) of every published object; `.tmp-` files are yielded with digest None."""
        try:
            top = list(os.scandir(self.dir))
        except FileNotFoundError:
            return
        for entry in top:
            if entry.name.startswith(TMP_PREFIX):
                yield None, Path(entry.path), _mtime(entry.path)
                continue
            if not entry.is_dir(follow_symlinks=False) or len(entry.name) != 2:
                continue
            with os.scandir(entry.path) as it:
                for obj in it:
                    name = entry.name + obj.name
                    if obj.name.startswith(TMP_PREFIX):
                        yield None, Path(obj.path), _mtime(obj.path)
                    elif len(name) == 64 and all(c in "0123456789abcdef" for c in name):
                        yield name, Path(obj.path), _mtime(obj.path)


def _mtime(path: str) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return time.time()


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def referenced_digests(root: Path, project: str) -> set[str]:
    """Every store object a manifest of `project` references. Raises if any manifest is
    unreadable: a garbage collector must not guess."""
    out: set[str] = set()
    for name in layout.artifact_collections(root, project):
        cdir = layout.artifact_collections_dir(root, project) / name
        for v in layout.listed_versions(cdir):
            rec = journal.read_version_record(cdir, v)  # raises on damage, on purpose
            for e in rec.get("entries") or []:
                if isinstance(e, dict) and e.get("digest") and not e.get("ref"):
                    out.add(e["digest"])
    return out
