"""A run's latest images and histograms for the report, through viewer.data.media_index.

    run_media(info, index) -> {"run": index, "images": [...], "histograms": [...], "skipped": n}

Images are inlined as data: URIs (the page may load nothing else), so they count
against the report's size: at most MAX_IMAGE_KEYS keys a run, the images of each key's
last step (at most IMAGES_PER_KEY), each at most MAX_IMAGE_BYTES, and at most
RUN_IMAGE_BYTES a run; what does not fit is counted in "skipped".
"""

from __future__ import annotations

import base64
import math
from typing import Any

from recorder import layout
from viewer.data import media_index
from viewer.data.runs_table import RunInfo
from viewer.data.sanitize import sanitize

MAX_IMAGE_KEYS = 8
IMAGES_PER_KEY = 4
MAX_IMAGE_BYTES = 200 << 10
RUN_IMAGE_BYTES = 400 << 10
MAX_HISTOGRAM_KEYS = 8
# Only types every browser shows inline; anything else is skipped (an SVG could carry script).
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


def run_media(info: RunInfo, index: int) -> dict[str, Any]:
    try:
        keys = media_index.keys(info.path)
    except OSError:
        keys = []
    images: list[dict[str, Any]] = []
    skipped = 0
    budget = RUN_IMAGE_BYTES
    image_keys = [k for k in keys if k.kind == layout.MEDIA_KIND_IMAGE]
    skipped += sum(k.count for k in image_keys[MAX_IMAGE_KEYS:])
    for key in image_keys[:MAX_IMAGE_KEYS]:
        items = media_index.images(info.path, key.key, step=key.last_step)
        skipped += max(0, len(items) - IMAGES_PER_KEY)
        for item in items[:IMAGES_PER_KEY]:
            src = _data_uri(item, budget)
            if src is None:
                skipped += 1
                continue
            budget -= len(src)
            caption = sanitize(item.caption or "")[:200]
            images.append({"key": sanitize(key.key), "step": item.step, "caption": caption, "src": src})
    histograms = []
    for key in [k for k in keys if k.kind == layout.MEDIA_KIND_HISTOGRAM][:MAX_HISTOGRAM_KEYS]:
        latest = media_index.histogram_series(info.path, key.key).latest()
        if latest is None:
            continue
        step, edges, counts = latest
        if len(edges) != len(counts) + 1 or not counts:
            continue
        histograms.append({"key": sanitize(key.key), "step": step, "edges": _finite(edges), "counts": _finite(counts)})
    return {"run": index, "images": images, "histograms": histograms, "skipped": skipped}


def _data_uri(item: media_index.ImageItem, budget: int) -> str | None:
    if item.path is None or not item.exists:
        return None
    mime = MIME.get(item.path.suffix.lower())
    if mime is None:
        return None
    try:
        size = item.path.stat().st_size
        if size > MAX_IMAGE_BYTES or size * 4 // 3 > budget:  # base64 grows it by a third
            return None
        data = item.path.read_bytes()
    except OSError:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _finite(values: list[float]) -> list[float | None]:
    return [float(f"{v:.6g}") if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]
