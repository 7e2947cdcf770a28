"""PNG without Pillow: a tiny zlib encoder for uint8 arrays, and a header reader.

Pillow is used when installed (it is faster at nothing here, but handles modes and
formats); this keeps `recorder.Image(array)` working on a bare numpy install.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(array: Any, level: int = 6) -> bytes:
    """Encode a uint8 array shaped (H, W) or (H, W, C), C in 1..4, as PNG bytes."""
    import numpy as np

    a = np.ascontiguousarray(array, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOUR_TYPE:
        raise ValueError(f"cannot encode an array of shape {array.shape} as PNG")
    h, w, c = a.shape
    rows = np.empty((h, 1 + w * c), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" for every scanline
    rows[:, 1:] = a.reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOUR_TYPE[c], 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first 24 bytes of a PNG file, or None if it is not one."""
    if len(head) >= 24 and head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    return None
