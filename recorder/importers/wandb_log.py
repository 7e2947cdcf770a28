"""Record payloads of a wandb transaction log (`run-<id>.wandb`); no protobuf here.

    header   ':W&B'  uint16 0xBEE1  uint8 version (0)                  7 bytes
    records  uint32 crc32, uint16 length, uint8 type, payload           LevelDB's log format

Records never cross a 32 KiB block (counted from the start of the file); fewer than 7
bytes left in a block are zero padding. A payload too large for a block is split into
FIRST, MIDDLE..., LAST pieces. The crc covers the type byte and the payload (wandb 0.31
writes it as plain crc32; LevelDB's masked form is accepted too).

wandb writes the log front to back, so a killed writer can only damage the block it was
writing: damage there is a torn tail (the complete records before it are good, the run
did not end), damage anywhere else is a corrupt file.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from recorder.importers.import_report import SourceError

MAGIC = b":W&B"
IDENT = 0xBEE1
VERSIONS = (0,)
HEADER = struct.Struct("<4sHB")
RECORD_HEADER = struct.Struct("<IHB")
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = [zlib.crc32(bytes([t])) for t in range(5)]


class WandbLog:
    """Iterate over the payloads of `data`; afterwards `torn` says whether the log ended
    inside a record and `offset` how far it was read (for progress)."""

    def __init__(self, data: bytes) -> None:
        if len(data) < HEADER.size:
            raise SourceError(f"not a wandb transaction log: {len(data)} bytes, shorter than its 7-byte header")
        magic, ident, version = HEADER.unpack_from(data)
        if magic != MAGIC or ident != IDENT:
            raise SourceError("not a wandb transaction log (no ':W&B' header)")
        if version not in VERSIONS:
            raise SourceError(f"unknown wandb transaction log version {version} (this Loupe reads version 0)")
        self.data = data
        self.offset = HEADER.size
        self.torn = False

    def __iter__(self) -> Iterator[bytes]:
        data = self.data
        n = len(data)
        pos = HEADER.size
        # Locals: a 100k-step run has 300k records, each a few lookups.
        unpack = RECORD_HEADER.unpack_from
        size = RECORD_HEADER.size
        crc32 = zlib.crc32
        type_crc = _TYPE_CRC
        pieces: list[bytes] | None = None
        while True:
            left = BLOCK - pos % BLOCK
            if left < size:
                pos += left
                continue
            if pos + size > n:
                # Ended cleanly between records, or inside a record header (torn).
                self.torn = pieces is not None or any(data[pos:n])
                self.offset = n
                return
            crc, length, kind = unpack(data, pos)
            start = pos + size
            end = start + length
            payload = data[start:end]
            good = FULL <= kind <= LAST and length <= left - size and end <= n
            if good:
                got = crc32(payload, type_crc[kind])
                good = got == crc or got == _unmasked(crc)
            if not good:
                if kind == 0 and length == 0 and not any(data[pos : min(n, pos + left)]):
                    # A zero-filled rest of the block: padding or space never written.
                    pos += left
                    if pos >= n:
                        self.torn = pieces is not None
                        self.offset = n
                        return
                    continue
                if pos - pos % BLOCK + BLOCK < n:
                    raise SourceError(f"corrupt record at byte {pos} (bad checksum or length)")
                self.torn = True
                self.offset = n
                return
            pos = end
            self.offset = pos
            if kind == FULL:
                pieces = None
                yield payload
            elif kind == FIRST:
                pieces = [payload]
            elif pieces is None:
                raise SourceError(f"corrupt record at byte {start - size} (a continuation without a start)")
            elif kind == MIDDLE:
                pieces.append(payload)
            else:
                pieces.append(payload)
                whole = b"".join(pieces)
                pieces = None
                yield whole


def _unmasked(crc: int) -> int:
    # LevelDB stores crc rotated right by 15 bits plus a constant; undo that.
    rot = (crc - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
