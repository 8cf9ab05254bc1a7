"""Kafka RecordBatch v2 (magic 2): parse, validate, patch, build and decode.

Contract:

* The produce path uses only :func:`validate_batches` and :func:`patch_batch`. They read
  the fixed 61-byte header with one ``struct.unpack_from`` and check the CRC32C with one
  ``crc32c`` call over a memoryview slice per batch; records are never decoded there.
* :func:`patch_batch` overwrites baseOffset (bytes 0-7) and partitionLeaderEpoch (bytes
  12-15) in place. The CRC covers bytes 21 onward, so it stays valid.
* :func:`build_batch` makes batches for in-process producers (and tests), through
  :func:`seal_batch` (header and CRC around an encoded payload);
  :func:`iter_records` decodes one batch (decompressing as needed) for consumers and
  tests; :func:`decode_records` decodes a batch body already decompressed (records of a
  LogAppendTime batch, attribute bit 3, take the batch's max timestamp, as clients read
  them); :func:`compress` compresses a payload at a codec's level.
  Garbage is refused with ``KafkaError(CORRUPT_MESSAGE)``.
* Every decompression has an OUTPUT bound (:func:`decompress_bounded`): a batch never
  inflates to more than ``max_uncompressed`` bytes (default :data:`MAX_UNCOMPRESSED`;
  :func:`uncompressed_limit` of a topic's ``max.message.bytes`` where the topic is
  known), whatever its codec or its header claims; past the bound :func:`iter_records`
  raises ``KafkaError(CORRUPT_MESSAGE)``. A zstd batch of a few tens of KB once inflated to
  1 GiB on the broker loop; now it costs at most the bound, once.
* Log compaction is the exception to "never decoded": :func:`keyless_records` reads the
  records of batches produced to compacted topics (only those) for their keys;
  :func:`batch_body`, :func:`scan_records` and :func:`reseal_batch` let the log cleaner
  (core/log/cleaner.py) rebuild a batch from its surviving records' bytes verbatim,
  keeping every header field but the count, max timestamp and CRC.
* :func:`first_record_at_time` decodes the candidate batches a ListOffsets by timestamp
  found (bytes read on the broker loop, decoded in a worker thread): pure, no state.

Batch layout (big-endian)::

    baseOffset i64 @0 | batchLength i32 @8 (= size - 12) | partitionLeaderEpoch i32 @12
    magic i8 @16 | crc u32 @17 (CRC32C of bytes 21..end) | attributes i16 @21
    lastOffsetDelta i32 @23 | baseTimestamp i64 @27 | maxTimestamp i64 @35
    producerId i64 @43 | producerEpoch i16 @51 | baseSequence i32 @53
    recordsCount i32 @57 | records @61 (compressed as one block when attributes say so)

Record: length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
keyLength varint (-1 null), key, valueLength varint (-1 null), value, headers count
varint, then per header keyLength varint, key (UTF-8), valueLength varint (-1 null),
value. All varints are zigzag encoded.

Codecs (all through ``cramjam``): gzip; snappy, written with the xerial framing Java
and librdkafka clients use, read in both xerial and raw block form
(:func:`snappy_decompress`); lz4 frame format; zstd. gzip, lz4 and zstd are inflated by
cramjam's streaming ``decompress_into`` into a buffer of fixed size (it stops when the
buffer is full); snappy states each block's length up front, so a block that would pass
the bound is never inflated.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import cramjam
import crc32c
from streamscope.core.errors import ErrorCode, KafkaError

BATCH_HEADER_SIZE = 61
# batchLength counts from partitionLeaderEpoch on: the smallest legal batch is a header.
MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - 12
MAGIC = 2

_CRC_START = 21
_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == BATCH_HEADER_SIZE
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")

_COMPRESSION_MASK = 0x07
_TIMESTAMP_TYPE_MASK = 0x08
_TRANSACTIONAL_MASK = 0x10
_CONTROL_MASK = 0x20


class Compression(IntEnum):
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


@dataclass(slots=True)
class BatchHeader:
    """The 61-byte batch header, field for field (see the module docstring)."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Bytes the whole batch occupies."""
        return self.batch_length + 12

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> Compression:
        return Compression(self.attributes & _COMPRESSION_MASK)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & _CONTROL_MASK)


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record with absolute offset and timestamp (ms)."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


def _corrupt(message: str) -> KafkaError:
    return KafkaError(ErrorCode.CORRUPT_MESSAGE, message)


def parse_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """The header of the batch at ``pos``; only checks that 61 bytes are there."""
    if len(buf) - pos < BATCH_HEADER_SIZE:
        raise _corrupt(f"Record batch header needs {BATCH_HEADER_SIZE} bytes")
    return BatchHeader(*_HEADER.unpack_from(buf, pos))


def validate_batches(
    buf: bytes | bytearray | memoryview,
    *,
    max_batch_bytes: int | None = None,
    require_zero_base_offset: bool = True,
) -> list[BatchHeader]:
    """Check a Produce request's records field (whole batches, back to back).

    Refusals, in Kafka's words: an empty field, a control batch from a client, a
    negative lastOffsetDelta or a recordsCount that disagrees with it (Kafka's
    LogValidator insists count == lastOffsetDelta + 1, so offsets never overlap), or
    a non-zero baseOffset -> INVALID_RECORD; magic 0/1 -> UNSUPPORTED_FOR_MESSAGE_FORMAT
    (Produce v0-2 up-converts old message sets before this: core/legacy_records.py);
    a truncated batch, an inconsistent batchLength, an unknown magic or codec, a CRC32C
    mismatch -> CORRUPT_MESSAGE; a batch larger than ``max_batch_bytes`` ->
    MESSAGE_TOO_LARGE. Records are never decoded.
    """
    view = memoryview(buf)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    end = len(view)
    if end == 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, "Produce request carries no record batch")
    headers: list[BatchHeader] = []
    unpack = _HEADER.unpack_from
    checksum = crc32c.crc32c
    pos = 0
    while pos < end:
        remaining = end - pos
        if remaining < 17:
            raise _corrupt(f"Truncated record batch: {remaining} bytes at position {pos}")
        magic = view[pos + 16]
        if magic != MAGIC:
            if magic in (0, 1):
                raise KafkaError(
                    ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
                    f"Message format v{magic} is not supported; this log stores v2 batches",
                )
            raise _corrupt(f"Unknown record batch magic {magic}")
        if remaining < BATCH_HEADER_SIZE:
            raise _corrupt(f"Truncated record batch header: {remaining} bytes")
        h = BatchHeader(*unpack(view, pos))
        size = h.batch_length + 12
        if h.batch_length < MIN_BATCH_LENGTH or size > remaining:
            raise _corrupt(
                f"Record batch length {h.batch_length} does not fit the {remaining} bytes left"
            )
        if max_batch_bytes is not None and size > max_batch_bytes:
            raise KafkaError(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"Record batch of {size} bytes exceeds the limit of {max_batch_bytes}",
            )
        if checksum(view[pos + _CRC_START : pos + size]) != h.crc:
            raise _corrupt(f"Record batch CRC32C mismatch at position {pos}")
        if h.attributes & _COMPRESSION_MASK > Compression.ZSTD:
            raise _corrupt(f"Unknown compression codec {h.attributes & _COMPRESSION_MASK}")
        if require_zero_base_offset and h.base_offset != 0:
            raise KafkaError(
                ErrorCode.INVALID_RECORD, f"Produced batch has base offset {h.base_offset}, not 0"
            )
        if h.attributes & _CONTROL_MASK:
            raise KafkaError(ErrorCode.INVALID_RECORD, "Clients may not write control batches")
        if h.last_offset_delta < 0 or h.records_count != h.last_offset_delta + 1:
            raise KafkaError(
                ErrorCode.INVALID_RECORD,
                f"Batch has {h.records_count} records but lastOffsetDelta {h.last_offset_delta}",
            )
        headers.append(h)
        pos += size
    return headers


def patch_batch(
    buf: bytearray | memoryview,
    pos: int,
    base_offset: int,
    partition_leader_epoch: int | None = None,
) -> None:
    """Overwrite baseOffset (and partitionLeaderEpoch) of the batch at ``pos`` in place."""
    _I64.pack_into(buf, pos, base_offset)
    if partition_leader_epoch is not None:
        _I32.pack_into(buf, pos + 12, partition_leader_epoch)


def iter_batches(
    buf: bytes | bytearray | memoryview, pos: int = 0
) -> Iterator[tuple[BatchHeader, memoryview]]:
    """Each complete batch in ``buf`` from ``pos``: (header, view of the whole batch).

    Stops at an incomplete tail (a Fetch may legally end mid-batch). Does not check CRCs.
    """
    view = memoryview(buf)
    end = len(view)
    while end - pos >= BATCH_HEADER_SIZE:
        h = BatchHeader(*_HEADER.unpack_from(view, pos))
        size = h.batch_length + 12
        if h.batch_length < MIN_BATCH_LENGTH:
            raise _corrupt(f"Record batch length {h.batch_length} is too small")
        if pos + size > end:
            return
        yield h, view[pos : pos + size]
        pos += size


# --- varints --------------------------------------------------------------------------


def _write_varint(out: bytearray, n: int) -> None:
    """Append zigzag varint/varlong ``n``."""
    z = (n << 1) ^ (n >> 63)
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a zigzag varint at ``pos``: (value, next position). IndexError if cut off."""
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos
    result = b & 0x7F
    shift = 7
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise _corrupt("Varint longer than 10 bytes")


def _read_bytes(buf: bytes, pos: int) -> tuple[bytes | None, int]:
    """Decode what :func:`_encode_bytes` wrote at ``pos``: (bytes or None, next position).
    Cut off, the bytes come back short and the position past the end: callers check it."""
    n, pos = _read_varint(buf, pos)
    if n < 0:
        return None, pos
    end = pos + n
    return buf[pos:end], end


# --- compression ----------------------------------------------------------------------

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = struct.Struct(">8sii")
# xerial's default block size (uncompressed bytes per block).
_XERIAL_BLOCK = 32 * 1024


def _snappy_compress(data: bytes) -> bytes:
    out = bytearray(_XERIAL_HEADER.pack(_XERIAL_MAGIC, 1, 1))
    for i in range(0, len(data), _XERIAL_BLOCK):
        block = bytes(cramjam.snappy.compress_raw(data[i : i + _XERIAL_BLOCK]))
        out += struct.pack(">i", len(block))
        out += block
    return bytes(out)


def snappy_decompress(data: bytes, limit: int | None = None) -> tuple[bytes, bool]:
    """``data`` (xerial framing or one raw block) decompressed: (output, whether cut off).

    With ``limit``, a block whose declared length would take the output past it is not
    inflated (snappy states each block's length up front), so at most ``limit`` bytes are
    allocated; the blocks before it are returned. Broken framing raises
    ``KafkaError(CORRUPT_MESSAGE)``, a broken block cramjam's error.
    """
    if not data.startswith(_XERIAL_MAGIC):
        return _snappy_block(data, limit)
    pos = _XERIAL_HEADER.size
    parts: list[bytes] = []
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise _corrupt("Truncated xerial snappy block length")
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if n < 0 or pos + n > end:
            raise _corrupt("Truncated xerial snappy block")
        out, cut = _snappy_block(data[pos : pos + n], limit)
        parts.append(out)
        if cut:
            return b"".join(parts), True
        if limit is not None:
            limit -= len(out)
        pos += n
    return b"".join(parts), False


def _snappy_block(raw: bytes, room: int | None) -> tuple[bytes, bool]:
    if room is not None and cramjam.snappy.decompress_raw_len(raw) > room:
        return b"", True
    return bytes(cramjam.snappy.decompress_raw(raw)), False


# Kafka's default max.message.bytes (message.max.bytes): the bound's base when the topic
# is not known.
DEFAULT_MAX_MESSAGE_BYTES = 1048588
# How many times its topic's max.message.bytes one batch may inflate to. Real batches of
# text or JSON inflate 3-10x; 32x leaves room for very repetitive data and still keeps a
# bomb to a few tens of MiB.
INFLATE_RATIO = 32
# A bound never below this (a topic with a tiny max.message.bytes still reads its data).
MIN_UNCOMPRESSED = 1024 * 1024


def uncompressed_limit(max_message_bytes: int) -> int:
    """How far one batch of a topic with this ``max.message.bytes`` may inflate."""
    return max(MIN_UNCOMPRESSED, max_message_bytes * INFLATE_RATIO)


#: The bound where no topic config is at hand (in-process consumers, tools).
MAX_UNCOMPRESSED = uncompressed_limit(DEFAULT_MAX_MESSAGE_BYTES)

# The first output buffer tried, as a multiple of the compressed size; it grows 4x a
# try (so at most ~1.33x the work of one pass), up to the bound.
_FIRST_RATIO = 8
_MIN_FIRST = 64 * 1024
_OVERFLOW = "failed to write whole buffer"  # cramjam's words for "the output is full"

_STREAMED = {
    Compression.GZIP: cramjam.gzip,
    Compression.LZ4: cramjam.lz4,
    Compression.ZSTD: cramjam.zstd,
}
_COMPRESSORS: dict[int, Callable[[bytes], bytes]] = {
    Compression.GZIP: lambda d: bytes(cramjam.gzip.compress(d)),
    Compression.SNAPPY: _snappy_compress,
    Compression.LZ4: lambda d: bytes(cramjam.lz4.compress(d)),
    Compression.ZSTD: lambda d: bytes(cramjam.zstd.compress(d)),
}


def _compress(codec: Compression, data: bytes) -> bytes:
    fn = _COMPRESSORS.get(codec)
    return fn(data) if fn is not None else data


def compress(codec: Compression, data: bytes, level: int | None = None) -> bytes:
    """``data`` compressed with ``codec`` (NONE: as is) at ``level`` (None: the codec's
    default; snappy has no levels). Gzip, lz4 frame, zstd and xerial snappy, as the
    clients write them."""
    if level is None or codec in (Compression.NONE, Compression.SNAPPY):
        return _compress(codec, data)
    module = _STREAMED[codec]
    return bytes(module.compress(data, level=level))


def decompress_bounded(codec: int, data: bytes, limit: int) -> tuple[bytes, bool]:
    """``data`` decompressed with ``codec``: (at most ``limit`` bytes, whether cut off).

    Never allocates more than about ``limit`` bytes of output (twice that, briefly, for
    the final copy), whatever the input claims. Corrupt input or an unknown codec raises
    ``KafkaError(CORRUPT_MESSAGE)`` with the codec's reason. When cut off, the output
    holds what fitted (a prefix of the whole; for snappy, the whole blocks that fitted).
    """
    return _inflate(codec, data, limit, keep_cut=True)


def _inflate(codec: int, data: bytes, limit: int, *, keep_cut: bool) -> tuple[bytes, bool]:
    if codec == Compression.SNAPPY:
        try:
            return snappy_decompress(data, limit)
        except KafkaError:
            raise
        except Exception as exc:  # cramjam.DecompressionError, and its kin
            raise _corrupt(f"Cannot decompress SNAPPY records: {exc}") from None
    module = _STREAMED.get(codec)
    if module is None:
        raise _corrupt(f"Unknown compression codec {codec}")
    size = min(limit, max(_MIN_FIRST, len(data) * _FIRST_RATIO))
    while True:
        out = bytearray(size)
        try:
            n = module.decompress_into(data, out)
        except Exception as exc:  # cramjam.DecompressionError, and its kin
            if _OVERFLOW not in str(exc):
                name = Compression(codec).name
                raise _corrupt(f"Cannot decompress {name} records: {exc}") from None
            if size >= limit:
                # cramjam filled the buffer before it stopped; a caller that refuses the
                # batch anyway is spared the copy (half the peak memory of a bomb).
                return (bytes(out) if keep_cut else b""), True
            del out  # before the next, larger buffer
            size = min(limit, size * 4)
            continue
        if n == size:
            return bytes(out), False
        return bytes(memoryview(out)[:n]), False


def _decompress(codec: int, data: bytes, limit: int = MAX_UNCOMPRESSED) -> bytes:
    """``data`` decompressed, or CORRUPT_MESSAGE when it inflates past ``limit``."""
    out, cut = _inflate(codec, data, limit, keep_cut=False)
    if cut:
        raise _corrupt(
            f"{Compression(codec).name} record batch of {len(data)} bytes inflates past "
            f"the limit of {limit} bytes"
        )
    return out


# --- build ----------------------------------------------------------------------------

# One record to build: (key, value), (key, value, headers) or (key, value, headers,
# timestamp_ms). headers is a sequence of (str key, bytes | None value).
RecordInput = tuple[Any, ...]


def _encode_bytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        out.append(1)  # zigzag(-1)
    else:
        _write_varint(out, len(data))
        out += data


def build_batch(
    records: Sequence[RecordInput],
    *,
    base_offset: int = 0,
    base_timestamp: int | None = None,
    compression: Compression = Compression.NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
    transactional: bool = False,
) -> bytes:
    """One v2 batch of ``records`` with a valid CRC32C, compressed if asked.

    Each record is ``(key, value[, headers[, timestamp_ms]])``; a record without its
    own timestamp gets ``base_timestamp`` (default: now). As Java's builder does, the
    header's baseTimestamp is the first record's timestamp.
    """
    if not records:
        raise ValueError("a record batch needs at least one record")
    default_ts = int(time.time() * 1000) if base_timestamp is None else base_timestamp
    stamps = [r[3] if len(r) > 3 and r[3] is not None else default_ts for r in records]
    first_ts = stamps[0]
    body = bytearray()
    rec = bytearray()
    for i, r in enumerate(records):
        key, value = r[0], r[1]
        headers = r[2] if len(r) > 2 and r[2] is not None else ()
        rec.clear()
        rec.append(0)  # record attributes: unused
        _write_varint(rec, stamps[i] - first_ts)
        _write_varint(rec, i)
        _encode_bytes(rec, key)
        _encode_bytes(rec, value)
        _write_varint(rec, len(headers))
        for hkey, hvalue in headers:
            _encode_bytes(rec, hkey.encode("utf-8"))
            _encode_bytes(rec, hvalue)
        _write_varint(body, len(rec))
        body += rec
    codec = Compression(compression)
    return seal_batch(
        _compress(codec, bytes(body)),
        records_count=len(records),
        compression=codec,
        base_offset=base_offset,
        base_timestamp=first_ts,
        max_timestamp=max(stamps),
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        partition_leader_epoch=partition_leader_epoch,
        transactional=transactional,
    )


def seal_batch(
    payload: bytes,
    *,
    records_count: int,
    compression: Compression = Compression.NONE,
    base_offset: int = 0,
    base_timestamp: int = 0,
    max_timestamp: int | None = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
    transactional: bool = False,
) -> bytes:
    """A v2 batch around ``payload`` (the records, already encoded and compressed with
    ``compression``) with a valid CRC32C; lastOffsetDelta is ``records_count - 1``.

    :func:`build_batch` uses it; tests use it to wrap payloads no client would send
    (a decompression bomb) in a batch the broker's validation accepts.
    """
    attributes = int(compression) | (_TRANSACTIONAL_MASK if transactional else 0)
    out = bytearray(BATCH_HEADER_SIZE + len(payload))
    _HEADER.pack_into(
        out,
        0,
        base_offset,
        BATCH_HEADER_SIZE - 12 + len(payload),
        partition_leader_epoch,
        MAGIC,
        0,
        attributes,
        records_count - 1,
        base_timestamp,
        base_timestamp if max_timestamp is None else max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        records_count,
    )
    out[BATCH_HEADER_SIZE:] = payload
    struct.pack_into(">I", out, 17, crc32c.crc32c(memoryview(out)[_CRC_START:]))
    return bytes(out)


# --- decode ---------------------------------------------------------------------------


def iter_records(
    batch: bytes | bytearray | memoryview,
    pos: int = 0,
    *,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> Iterator[Record]:
    """The records of the ONE batch at ``pos``, with absolute offsets and timestamps.

    Checks magic, length and CRC32C first, decompresses (at most ``max_uncompressed``
    bytes of output), then decodes; anything that does not parse exactly, or inflates
    past the bound, raises ``KafkaError(CORRUPT_MESSAGE)``. Control batches are
    decoded like any other (this broker writes none). See :func:`iter_all_records` for
    a run of batches.
    """
    view = memoryview(batch)
    h = parse_header(view, pos)
    if h.magic != MAGIC:
        raise _corrupt(f"Record batch magic {h.magic} is not 2")
    size = h.batch_length + 12
    if h.batch_length < MIN_BATCH_LENGTH or pos + size > len(view):
        raise _corrupt("Record batch is truncated")
    if crc32c.crc32c(view[pos + _CRC_START : pos + size]) != h.crc:
        raise _corrupt("Record batch CRC32C mismatch")
    data = bytes(view[pos + BATCH_HEADER_SIZE : pos + size])
    codec = h.attributes & _COMPRESSION_MASK
    if codec:
        data = _decompress(codec, data, max_uncompressed)
    return decode_records(h, data)


def iter_all_records(
    buf: bytes | bytearray | memoryview, *, max_uncompressed: int = MAX_UNCOMPRESSED
) -> Iterator[Record]:
    """Records of every complete batch in ``buf`` (e.g. a Fetch response's records)."""
    for _h, view in iter_batches(buf):
        yield from iter_records(view, max_uncompressed=max_uncompressed)


def first_record_at_time(
    batches: Sequence[bytes | bytearray | memoryview],
    ts_ms: int,
    log_start: int,
    *,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record at or after ``log_start`` whose timestamp
    is >= ``ts_ms`` in ``batches`` (whole batches in offset order), or None.

    ListOffsets by timestamp: the log finds the candidate batches by their headers and
    reads them; this decodes them, in a worker thread. A batch that cannot be decoded
    (corrupt, or inflating past ``max_uncompressed``) raises CORRUPT_MESSAGE.
    """
    for batch in batches:
        for r in iter_records(batch, max_uncompressed=max_uncompressed):
            if r.offset >= log_start and r.timestamp >= ts_ms:
                return r.offset, r.timestamp
    return None


def decode_records(h: BatchHeader, data: bytes) -> Iterator[Record]:
    """The records of the batch with header ``h`` from its body ``data``, already
    decompressed (the message browser decompresses under an output limit of its own).
    Yields each record as it parses: on garbage, the records before it have been yielded
    when ``KafkaError(CORRUPT_MESSAGE)`` is raised."""
    base_offset = h.base_offset
    base_ts = h.base_timestamp
    # LogAppendTime batches: every record's timestamp is the batch's max timestamp.
    log_append_time = h.max_timestamp if h.attributes & _TIMESTAMP_TYPE_MASK else None
    read = _read_varint
    read_bytes = _read_bytes
    pos = 0
    end = len(data)
    try:
        for _ in range(h.records_count):
            length, pos = read(data, pos)
            stop = pos + length
            if length < 0 or stop > end:
                raise _corrupt("Record length runs past the batch")
            pos += 1  # record attributes: unused in v2
            ts_delta, pos = read(data, pos)
            off_delta, pos = read(data, pos)
            key, pos = read_bytes(data, pos)
            value, pos = read_bytes(data, pos)
            count, pos = read(data, pos)
            if count < 0:
                raise _corrupt("Negative header count")
            headers: list[tuple[str, bytes | None]] = []
            for _ in range(count):
                raw_key, pos = read_bytes(data, pos)
                if raw_key is None:
                    raise _corrupt("Null header key")
                hkey = raw_key.decode("utf-8")
                hvalue, pos = read_bytes(data, pos)
                headers.append((hkey, hvalue))
            if pos != stop:
                raise _corrupt("Record length disagrees with its fields")
            ts = log_append_time if log_append_time is not None else base_ts + ts_delta
            yield Record(base_offset + off_delta, ts, key, value, tuple(headers))
    except IndexError:
        raise _corrupt("Record runs past the end of the batch") from None
    except UnicodeDecodeError:
        raise _corrupt("Header key is not UTF-8") from None
    if pos != end:
        raise _corrupt(f"{end - pos} stray bytes after the last record")


# --- raw records (log compaction) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of a decompressed batch body, located but not copied: its absolute
    offset and timestamp, its key (None when null), whether its value is null (a
    tombstone), and ``start:end``, the record's bytes in the body with its length
    prefix (kept verbatim when the log cleaner rebuilds a batch)."""

    offset: int
    timestamp: int
    key: bytes | None
    null_value: bool
    start: int
    end: int


def batch_body(batch: bytes | bytearray | memoryview, *, max_uncompressed: int) -> bytes:
    """The records section of the ONE batch ``batch``, decompressed (at most
    ``max_uncompressed`` bytes, else CORRUPT_MESSAGE); the CRC is checked first."""
    view = memoryview(batch)
    h = parse_header(view)
    if h.magic != MAGIC or h.batch_length < MIN_BATCH_LENGTH or h.size > len(view):
        raise _corrupt("Record batch is truncated or not magic 2")
    if crc32c.crc32c(view[_CRC_START : h.size]) != h.crc:
        raise _corrupt("Record batch CRC32C mismatch")
    data = bytes(view[BATCH_HEADER_SIZE : h.size])
    codec = h.attributes & _COMPRESSION_MASK
    return _decompress(codec, data, max_uncompressed) if codec else data


def scan_records(h: BatchHeader, body: bytes) -> Iterator[RawRecord]:
    """Each record of a decompressed ``body`` (see :func:`batch_body`) located, its key
    read and its value only checked for null; headers are skipped, not decoded. Garbage
    raises CORRUPT_MESSAGE."""
    read = _read_varint
    pos = 0
    end = len(body)
    try:
        for _ in range(h.records_count):
            start = pos
            length, pos = read(body, pos)
            stop = pos + length
            if length < 0 or stop > end:
                raise _corrupt("Record length runs past the batch")
            pos += 1  # record attributes
            ts_delta, pos = read(body, pos)
            off_delta, pos = read(body, pos)
            key, pos = _read_bytes(body, pos)
            vlen, pos = read(body, pos)
            if pos > stop or (vlen > 0 and pos + vlen > stop):
                raise _corrupt("Record fields run past the record")
            yield RawRecord(h.base_offset + off_delta, h.base_timestamp + ts_delta, key,
                            vlen < 0, start, stop)
            pos = stop
    except IndexError:
        raise _corrupt("Record runs past the end of the batch") from None
    if pos != end:
        raise _corrupt(f"{end - pos} stray bytes after the last record")


def reseal_batch(h: BatchHeader, payload: bytes, *, records_count: int,
                 max_timestamp: int) -> bytes:
    """A batch with ``h``'s header fields (base offset, lastOffsetDelta, attributes with
    codec and control/transactional bits, base timestamp, producer id, epoch, base
    sequence, leader epoch) around a new ``payload`` (records already encoded and
    compressed with ``h``'s codec), with its own count, max timestamp and CRC32C. The log
    cleaner's only way to write a batch no client sent."""
    out = bytearray(BATCH_HEADER_SIZE + len(payload))
    _HEADER.pack_into(
        out, 0, h.base_offset, BATCH_HEADER_SIZE - 12 + len(payload),
        h.partition_leader_epoch, MAGIC, 0, h.attributes, h.last_offset_delta,
        h.base_timestamp, max_timestamp, h.producer_id, h.producer_epoch,
        h.base_sequence, records_count,
    )
    out[BATCH_HEADER_SIZE:] = payload
    struct.pack_into(">I", out, 17, crc32c.crc32c(memoryview(out)[_CRC_START:]))
    return bytes(out)


def keyless_records(buf: bytes | bytearray | memoryview, headers: Sequence[BatchHeader], *,
                    max_uncompressed: int = MAX_UNCOMPRESSED) -> list[int]:
    """Indexes (counted across ``buf``'s batches, as Kafka's ``batch_index``) of the
    records without a key in ``buf``, whose batches ``headers`` describe (already
    validated). The one place the produce path decodes records: only for compacted
    topics, which refuse such records. Control batches are skipped."""
    view = memoryview(buf)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    found: list[int] = []
    index = 0
    pos = 0
    for h in headers:
        size = h.batch_length + 12
        if not h.attributes & _CONTROL_MASK:
            data = bytes(view[pos + BATCH_HEADER_SIZE : pos + size])
            codec = h.attributes & _COMPRESSION_MASK
            if codec:
                data = _decompress(codec, data, max_uncompressed)
            found += _keyless_in(h, data, index)
            index += h.records_count
        pos += size
    return found


def _keyless_in(h: BatchHeader, body: bytes, first_index: int) -> list[int]:
    """:func:`keyless_records` for one decompressed body: only each record's length,
    three varints and its key length are read (no objects per record: this runs on the
    produce path of compacted topics)."""
    read = _read_varint
    found: list[int] = []
    pos = 0
    end = len(body)
    try:
        for i in range(h.records_count):
            length, pos = read(body, pos)
            stop = pos + length
            if length < 0 or stop > end:
                raise _corrupt("Record length runs past the batch")
            p = pos + 1  # record attributes
            _ts, p = read(body, p)
            _off, p = read(body, p)
            klen, p = read(body, p)
            if p > stop:
                raise _corrupt("Record fields run past the record")
            if klen < 0:
                found.append(first_index + i)
            pos = stop
    except IndexError:
        raise _corrupt("Record runs past the end of the batch") from None
    if pos != end:
        raise _corrupt(f"{end - pos} stray bytes after the last record")
    return found
