"""Kafka's old message sets (magic 0 and 1) up-converted to one RecordBatch v2.

Contract:

* :func:`is_legacy` tells from the magic byte (offset 16 in every format) whether a
  Produce request's records are an old message set.
* :func:`upconvert` turns such a message set into one v2 batch, as Kafka's LogValidator
  does when an old producer (librdkafka with ``api.version.request=false`` and a 0.9
  ``broker.version.fallback``, Produce v0-2) writes to a v2 log: every message, the
  inner messages of compressed wrappers included, in order, becomes one record (offset
  deltas 0..n-1; the producer's offsets are not kept). Timestamps: a magic 0 message
  has none (-1, Kafka's NO_TIMESTAMP); a magic 1 message keeps its own, or its
  wrapper's when the wrapper says LogAppendTime. Keys and values are kept as they are
  (null stays null); v2 headers are empty. The batch is compressed with the codec the
  producer used (the last compressed wrapper's), uncompressed when none was; a topic's
  ``compression.type`` and ``message.timestamp.type`` then apply to it like to any
  produced batch (core/produce_rewrite.py). No producer id: old formats carry none.
* Refusals, in Kafka's terms: a truncated message or message set, a message whose
  CRC32 does not match, an unknown codec, a nested compressed wrapper, an inner message
  of another magic, or a wrapper that cannot be inflated -> CORRUPT_MESSAGE (2); a
  magic-2 batch among them or an empty set -> INVALID_RECORD (87). Inflating is
  bounded: all wrappers of one set together inflate to at most ``max_uncompressed``
  bytes (:func:`core.records.uncompressed_limit` of the topic's ``max.message.bytes``),
  past it CORRUPT_MESSAGE. Nothing is appended on a refusal.
* lz4 wrappers of magic 0: Kafka's clients of that era (and librdkafka for MsgVersion
  0) wrote the lz4 frame's header checksum over the magic number too, and Kafka reads
  them ignoring it; the checksum is recomputed here before inflating, so both forms
  read.

Message layout (big-endian)::

    offset i64 | size i32 | crc u32 (CRC32 of magic..end) | magic i8 | attributes i8
    | timestamp i64 (magic 1 only) | key length i32 (-1 null) | key
    | value length i32 (-1 null) | value

attributes: bits 0-2 the codec (0 none, 1 gzip, 2 snappy, 3 lz4), bit 3 (magic 1) the
timestamp type (LogAppendTime). A compressed wrapper's value is a message set of its
inner messages.
"""

from __future__ import annotations

import struct
import zlib

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import Compression, build_batch, decompress_bounded

_OFFSET_SIZE = struct.Struct(">qi")
_CRC_MAGIC_ATTR = struct.Struct(">Ibb")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_MAGIC_AT = 16  # offset i64, size i32, crc u32: the magic byte follows
_LEGACY_CODECS = (Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4)
_TIMESTAMP_TYPE_BIT = 0x08
NO_TIMESTAMP = -1


def is_legacy(records: bytes | bytearray | memoryview) -> bool:
    return len(records) > _MAGIC_AT and records[_MAGIC_AT] in (0, 1)


def _corrupt(message: str) -> KafkaError:
    return KafkaError(ErrorCode.CORRUPT_MESSAGE, message)


class _Budget:
    """What is left of the inflate bound shared by one message set's wrappers."""

    def __init__(self, limit: int) -> None:
        self.left = limit


def _read_bytes(msg: memoryview, pos: int) -> tuple[bytes | None, int]:
    if pos + 4 > len(msg):
        raise _corrupt("Truncated message: its key or value length is cut off")
    (n,) = _I32.unpack_from(msg, pos)
    pos += 4
    if n < 0:
        return None, pos
    if pos + n > len(msg):
        raise _corrupt(f"Truncated message: a field of {n} bytes does not fit")
    return bytes(msg[pos:pos + n]), pos + n


def _messages(data: memoryview, budget: _Budget, inner_of: tuple[int, int] | None,
              out: list[tuple], codecs: list[int]) -> None:
    """Append (key, value, (), timestamp) for every message of the set ``data``;
    ``inner_of`` is (magic, LogAppendTime stamp or None) of the wrapper being read."""
    pos, end = 0, len(data)
    if end == 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, "Produce request carries an empty message set")
    while pos < end:
        if end - pos < 12:
            raise _corrupt(f"Truncated message set: {end - pos} bytes at position {pos}")
        _offset, size = _OFFSET_SIZE.unpack_from(data, pos)
        pos += 12
        if size < 6 or size > end - pos:
            raise _corrupt(f"Message size {size} does not fit the {end - pos} bytes left")
        msg = data[pos:pos + size]
        pos += size
        crc, magic, attributes = _CRC_MAGIC_ATTR.unpack_from(msg, 0)
        if magic == 2:
            raise KafkaError(ErrorCode.INVALID_RECORD,
                             "A v2 record batch inside an old-format message set")
        if magic not in (0, 1):
            raise _corrupt(f"Unknown message magic {magic}")
        if zlib.crc32(msg[4:]) != crc:
            raise _corrupt("Message CRC32 mismatch")
        if inner_of is not None and magic != inner_of[0]:
            raise _corrupt(f"Compressed message set of magic {inner_of[0]} holds a magic "
                           f"{magic} message")
        field = 6
        timestamp = NO_TIMESTAMP
        if magic == 1:
            if size < field + 8:
                raise _corrupt("Truncated message: its timestamp is cut off")
            (timestamp,) = _I64.unpack_from(msg, field)
            field += 8
        key, field = _read_bytes(msg, field)
        value, field = _read_bytes(msg, field)
        codec = attributes & 0x07
        if codec not in _LEGACY_CODECS:
            raise _corrupt(f"Unknown compression codec {codec}")
        if codec == Compression.NONE:
            if inner_of is not None and inner_of[1] is not None:
                timestamp = inner_of[1]
            out.append((key, value, (), timestamp))
            continue
        if inner_of is not None:
            raise _corrupt("A compressed message inside a compressed message set")
        if value is None:
            raise _corrupt("A compressed message without a value")
        codecs.append(codec)
        stamp = timestamp if magic == 1 and attributes & _TIMESTAMP_TYPE_BIT else None
        inner = _inflate(codec, magic, value, budget)
        _messages(memoryview(inner), budget, (magic, stamp), out, codecs)


def _inflate(codec: int, magic: int, value: bytes, budget: _Budget) -> bytes:
    if codec == Compression.LZ4 and magic == 0:
        value = _lz4_fixed_header_checksum(value)
    inner, cut = decompress_bounded(codec, value, budget.left)
    if cut:
        raise _corrupt("Compressed message set inflates past the limit of the topic's "
                       "max.message.bytes")
    budget.left -= len(inner)
    return inner


def upconvert(records: bytes | bytearray | memoryview, *, max_uncompressed: int) -> bytes:
    """One v2 batch holding every message of the old message set ``records`` (module
    docstring); KafkaError as listed there."""
    out: list[tuple] = []
    codecs: list[int] = []
    view = memoryview(records).cast("B") if isinstance(records, memoryview) else \
        memoryview(records)
    _messages(view, _Budget(max_uncompressed), None, out, codecs)
    codec = Compression(codecs[-1]) if codecs else Compression.NONE
    return build_batch(out, compression=codec)


# --- lz4 header checksum ---------------------------------------------------------------

_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
_M32 = 0xFFFFFFFF
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _xxh32_short(data: bytes) -> int:
    """XXH32 with seed 0 of fewer than 16 bytes (an lz4 frame descriptor)."""
    h = (_P5 + len(data)) & _M32
    pos = 0
    while pos + 4 <= len(data):
        (word,) = struct.unpack_from("<I", data, pos)
        h = _rotl((h + word * _P3) & _M32, 17) * _P4 & _M32
        pos += 4
    for b in data[pos:]:
        h = _rotl((h + b * _P5) & _M32, 11) * _P1 & _M32
    h ^= h >> 15
    h = h * _P2 & _M32
    h ^= h >> 13
    h = h * _P3 & _M32
    return h ^ (h >> 16)


def _lz4_fixed_header_checksum(frame: bytes) -> bytes:
    """``frame`` with its header checksum byte computed as the lz4 frame format says
    (over the descriptor, not the magic number); unchanged if it is no lz4 frame."""
    if len(frame) < 7 or frame[:4] != _LZ4_MAGIC:
        return frame
    flags = frame[4]
    length = 2 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0)
    hc_at = 4 + length
    if len(frame) <= hc_at:
        return frame
    checksum = (_xxh32_short(frame[4:hc_at]) >> 8) & 0xFF
    return frame[:hc_at] + bytes([checksum]) + frame[hc_at + 1:]
