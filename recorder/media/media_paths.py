"""Names of the media part of a run directory (docs/format.md, "media").

    <run>/media/images/<key-dir>/<step>-<n>-<writer>.png
    <run>/media/tables/<key-dir>/<step>-<n>-<writer>.parquet
    <run>/media/tables/<key-dir>/<step>-<n>-<writer>.files/<row>-<col>.png   images in table cells
    <run>/media/index/part-<w>-<lo>-<hi>.parquet, journal-<w>-<seq>.jsonl

A logged key may hold anything ("../../etc", "a b", markup); it becomes a directory
path of safe segments that can never leave the media directory.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

MEDIA_DIR = "media"
IMAGES_DIR = "images"
TABLES_DIR = "tables"
INDEX_DIR = "index"

KIND_IMAGE = "image"
KIND_HISTOGRAM = "histogram"
KIND_TABLE = "table"
KIND_PLOT = "plot"
KINDS = (KIND_IMAGE, KIND_HISTOGRAM, KIND_TABLE, KIND_PLOT)

_SAFE_SEGMENT = re.compile(r"[^A-Za-z0-9_.\-]")
_MAX_SEGMENT = 80
_MAX_SEGMENTS = 8


def key_dir(key: str) -> str:
    """A relative POSIX path for `key`: safe characters only, no '.', '..' or empty segments.

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


def inside(base: Path, rel: str) -> Path:
    """`base / rel`, refusing any relative path that would leave `base`."""
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or "\\" in rel:
        raise ValueError(f"media path {rel!r} escapes the run directory")
    return base.joinpath(*p.parts)


def file_stem(step: int, n: int, writer: str) -> str:
    return f"{step}-{n}-{writer}"
