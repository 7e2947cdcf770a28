"""wandb media values in history rows as recorder media objects.

    {"_type": "image-file", "path": "media/images/...png", "caption": ...}   -> Image
    {"_type": "images/separated", "filenames": [...], "captions": [...]}    -> [Image, ...]
    {"_type": "histogram", "values": counts, "bins": edges}                  -> Histogram
    {"_type": "histogram", "values": counts, "packedBins": {min, size, count}}

Paths are relative to the run's files/ folder and may not leave it. Other kinds (tables,
audio, video, html...) and media whose file is missing give [] and are kept by the
caller as their JSON reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorder.layout import inside
from recorder.media.histogram import Histogram
from recorder.media.image import Image


def media_items(value: dict[str, Any], files: Path) -> list[Any]:
    kind = value.get("_type")
    try:
        if kind == "image-file" and isinstance(value.get("path"), str):
            return [Image(inside(files, value["path"]), caption=value.get("caption"))]
        if kind == "images/separated" and isinstance(value.get("filenames"), list):
            captions = value.get("captions") or []
            return [
                Image(inside(files, name), caption=captions[i] if i < len(captions) else None)
                for i, name in enumerate(value["filenames"])
            ]
        if kind == "histogram" and isinstance(value.get("values"), list):
            bins = value.get("bins")
            packed = value.get("packedBins")
            if not isinstance(bins, list) and isinstance(packed, dict):
                bins = [packed["min"] + packed["size"] * i for i in range(int(packed["count"]) + 1)]
            return [Histogram(np_histogram=(value["values"], bins))]
    except (ValueError, TypeError, KeyError, OSError):
        pass
    return []
