"""The bridge from Run.log() to media storage (called by Run._media_handler)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from recorder.media.media_store import get_store
from recorder.warn import warn_once

if TYPE_CHECKING:
    from recorder.run_api import Run


def to_row_values(run: Run, key: str, value: Any, step: int) -> dict[str, Any] | None:
    """Store the media object(s) under `key`; the row gets a JSON reference as text.

    A single object gives its reference ({"_type": "image-file", "path": ...}); a list
    gives {"_type": "<kind>s", "count": n, "items": [references]}.
    """
    store = get_store(run)
    now = time.time()
    if isinstance(value, (list, tuple)):
        refs = []
        for i, item in enumerate(value):
            if not getattr(item, "_loupe_media", False):
                warn_once(
                    f"media-list:{key}", f"log(): {key!r} mixes media with {type(item).__name__}; those are skipped"
                )
                continue
            ref = store.log_item(key, step, i, item, now)
            if ref is not None:
                refs.append(ref)
        if not refs:
            return {}
        kind = refs[0]["_type"].split("-")[0]
        ref_value: dict[str, Any] = {"_type": f"{kind}s", "count": len(refs), "items": refs}
    else:
        ref_value = store.log_item(key, step, 0, value, now)
        if ref_value is None:
            return {}
    return {key: orjson.dumps(ref_value).decode()}
