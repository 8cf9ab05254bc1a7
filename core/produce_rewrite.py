"""The produce path's per-topic rewrites: ``compression.type``, ``message.timestamp.type``
and the ``min.insync.replicas`` and ``message.timestamp.*.max.ms`` checks, called by
core/api/produce.py before each append.

Contract:

* :func:`prepare_records` is the only place where the broker changes the bytes of a
  produced batch; everywhere else (and for every topic that asks for neither rewrite,
  unless the client sent an old-format message set)
  the stored batches stay the bytes the client sent. A topic whose ``compression.type``
  is ``producer`` and whose ``message.timestamp.type`` is ``CreateTime`` costs one
  dict lookup and nothing more.
* ``compression.type`` other than ``producer`` (``uncompressed``, ``gzip``, ``snappy``,
  ``lz4``, ``zstd``): a batch in another codec is decompressed (bounded by the topic's
  ``max.message.bytes``, :func:`core.records.uncompressed_limit`) and recompressed in
  the topic's codec at the topic's ``compression.<codec>.level``, as Kafka's
  LogValidator does; a batch already in the topic's codec passes as it is. The records
  themselves (offset deltas, timestamps, keys, values, headers) are not touched.
  Recompressing into zstd for a Produce request below v7 (a client that may not read
  zstd) is UNSUPPORTED_COMPRESSION_TYPE (76), as Kafka answers.
* ``message.timestamp.type=LogAppendTime``: each batch gets attribute bit 3 and the
  append time as its maxTimestamp, and its CRC32C is recomputed; the Produce answer
  carries that time as ``log_append_time_ms`` (-1 for CreateTime topics).
* Every header field an idempotent or transactional producer relies on is kept:
  producer id, epoch, base sequence, record count, the transactional bit, base
  timestamp, partition leader epoch.
* The client's batches are validated (CRC32C included) before any rewrite, so a
  corrupt batch is refused (CORRUPT_MESSAGE) and never re-sealed with a fresh CRC;
  the rewritten batches go through :meth:`Broker.produce`'s checks like any others
  (e.g. MESSAGE_TOO_LARGE after recompression).
* Old message sets (magic 0/1, Produce v0-2 only: Produce v3+ carrying them is
  INVALID_RECORD, as Kafka answers) are up-converted to one v2 batch first
  (:func:`core.legacy_records.upconvert`, decoding them; in a worker thread past
  :data:`THREAD_BYTES`), as Kafka's LogValidator does; the topic's rewrites below then
  apply to that batch (LogAppendTime stamps it, ``compression.type`` recompresses it).
* ``min.insync.replicas`` above 1 with ``acks=-1`` (all): NOT_ENOUGH_REPLICAS (19), as
  Kafka answers when the ISR (here the one broker) is smaller; nothing is appended.
* CreateTime topics with ``message.timestamp.before.max.ms`` / ``after.max.ms`` (or the
  deprecated ``difference.max.ms`` standing for both) set: a record whose timestamp lies
  further from the broker's clock gets the partition INVALID_TIMESTAMP (32) in Kafka's
  words, nothing appended. Checking decodes the records (bounded), so only topics that
  set a bound pay for it.
* Recompressing more than :data:`THREAD_BYTES` of batches runs in a worker thread, so
  a large request does not stall the loop; smaller ones run on the loop (a thread hop
  would cost more than the work). LogAppendTime alone is a header write and one CRC32C
  pass per batch, done in place in the request's buffer, on the loop (as
  :meth:`Broker.produce` patches offsets).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import crc32c
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.legacy_records import is_legacy, upconvert
from streamscope.core.records import (
    BATCH_HEADER_SIZE,
    BatchHeader,
    Compression,
    compress,
    decompress_bounded,
    iter_all_records,
    seal_batch,
    uncompressed_limit,
    validate_batches,
)

if TYPE_CHECKING:
    from streamscope.core.broker import Broker
    from streamscope.core.config import LogConfig

Records = bytes | bytearray | memoryview

#: Recompressing more than this many bytes of batches goes to a worker thread (a 15 KB
#: lz4 batch may hold 1 MiB of records: milliseconds of zstd, benchmarks/produce_rewrite.py).
THREAD_BYTES = 8 * 1024

CODECS = {
    "uncompressed": Compression.NONE,
    "gzip": Compression.GZIP,
    "snappy": Compression.SNAPPY,
    "lz4": Compression.LZ4,
    "zstd": Compression.ZSTD,
}
_TIMESTAMP_TYPE_BIT = 0x08
_TRANSACTIONAL_BIT = 0x10
_CRC_START = 21
_ATTRIBUTES = struct.Struct(">h")
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
LONG_MAX = 2**63 - 1


def needs_rewrite(config: LogConfig) -> bool:
    return (config.compression_type != "producer" or config.timestamp_type == "LogAppendTime"
            or timestamp_bounds(config) is not None)


def timestamp_bounds(config: LogConfig) -> tuple[int, int] | None:
    """(before, after) bounds in ms of a CreateTime topic's record timestamps around the
    broker's clock, or None when unbounded (Kafka's default) or LogAppendTime. As
    Kafka 3.6+: an unset before/after falls back to the deprecated difference.max.ms."""
    if config.timestamp_type != "CreateTime":
        return None
    diff = config.timestamp_difference_max_ms
    before = config.timestamp_before_max_ms
    after = config.timestamp_after_max_ms
    before = diff if before == LONG_MAX else before
    after = diff if after == LONG_MAX else after
    if before == LONG_MAX and after == LONG_MAX:
        return None
    return before, after


async def prepare_records(
    broker: Broker, topic: str, index: int, records: Records, acks: int,
    version: int = 9, clock: Callable[[], float] = time.time,
) -> tuple[Records, int]:
    """(the batches to append, ``log_append_time_ms`` or -1) for one partition's records.

    KafkaError: NOT_ENOUGH_REPLICAS (module docstring) and the refusals of
    :func:`core.records.validate_batches` for batches that are to be rewritten. An
    unknown topic passes through untouched (:meth:`Broker.produce` answers it).
    """
    t = broker.topics.get(topic)
    if t is None:
        return records, -1
    config = t.log_config
    if acks == -1 and config.min_insync_replicas > 1:
        raise KafkaError(
            ErrorCode.NOT_ENOUGH_REPLICAS,
            f"The size of the current ISR Set({broker.node_id}) is insufficient to satisfy"
            f" the min.isr requirement of {config.min_insync_replicas} for partition"
            f" {topic}-{index}",
        )
    if is_legacy(records):
        records = await _upconvert(config, records, version)
    if not needs_rewrite(config):
        return records, -1
    # The same check Broker.produce makes, first: nothing corrupt is ever re-sealed.
    headers = validate_batches(records, max_batch_bytes=None)
    bounds = timestamp_bounds(config)
    if bounds is not None:
        if len(records) > THREAD_BYTES:
            await asyncio.to_thread(check_timestamps, config, records, bounds, clock)
        else:
            check_timestamps(config, records, bounds, clock)
    target = CODECS.get(config.compression_type)
    if target is None or all(h.compression == target for h in headers):
        if config.timestamp_type != "LogAppendTime":
            return records, -1  # every batch already in the topic's codec
        return stamp_batches(records, headers, clock)
    if target == Compression.ZSTD and version < 7:
        raise KafkaError(
            ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
            f"Produce requests with version {version} are not allowed to use ZStandard"
            " compression",
        )
    if len(records) > THREAD_BYTES:
        return await asyncio.to_thread(rewrite_batches, config, records, clock, headers)
    return rewrite_batches(config, records, clock, headers)


async def _upconvert(config: LogConfig, records: Records, version: int) -> bytes:
    if version >= 3:
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"Produce requests with version {version} are only allowed to contain record"
            " batches with magic version 2",
        )
    limit = uncompressed_limit(config.max_message_bytes)
    if len(records) > THREAD_BYTES:
        return await asyncio.to_thread(upconvert, records, max_uncompressed=limit)
    return upconvert(records, max_uncompressed=limit)


def check_timestamps(
    config: LogConfig, records: Records, bounds: tuple[int, int],
    clock: Callable[[], float] = time.time,
) -> None:
    """INVALID_TIMESTAMP (Kafka's words) when a record's CreateTime lies more than
    ``bounds`` (before, after) ms from the broker's clock. Decodes the records (bounded
    by the topic's max.message.bytes): only topics that set a bound pay for it."""
    now = int(clock() * 1000)
    low, high = now - bounds[0], now + bounds[1]
    limit = uncompressed_limit(config.max_message_bytes)
    for record in iter_all_records(records, max_uncompressed=limit):
        if not low <= record.timestamp <= high:
            raise KafkaError(
                ErrorCode.INVALID_TIMESTAMP,
                f"Timestamp {record.timestamp} of message with offset {record.offset} is out"
                f" of range. The timestamp should be within [{low}, {high}]",
            )


def stamp_batches(
    records: Records, headers: list[BatchHeader], clock: Callable[[], float] = time.time,
) -> tuple[Records, int]:
    """LogAppendTime on every batch of ``records`` (validated into ``headers``), in
    place when the buffer is writable (the server's frame buffer is), else on a copy."""
    if isinstance(records, bytearray) or (
            isinstance(records, memoryview) and not records.readonly):
        buf = records
    else:
        buf = bytearray(records)
    append_time = int(clock() * 1000)
    pos = 0
    for h in headers:
        _stamp(buf, pos, append_time)
        pos += h.size
    return buf, append_time


def rewrite_batches(
    config: LogConfig, records: Records, clock: Callable[[], float] = time.time,
    headers: list[BatchHeader] | None = None,
) -> tuple[Records, int]:
    """The batches of ``records`` in the topic's codec and timestamp type (module
    docstring), and the log append time (-1 for CreateTime topics). ``headers``:
    what :func:`core.records.validate_batches` gave for ``records`` (checked here if
    None). Pure: a new buffer."""
    if headers is None:
        headers = validate_batches(records, max_batch_bytes=None)
    target = CODECS.get(config.compression_type)  # None: "producer"
    stamp = config.timestamp_type == "LogAppendTime"
    append_time = int(clock() * 1000) if stamp else -1
    limit = uncompressed_limit(config.max_message_bytes)
    view = memoryview(records).cast("B") if isinstance(records, memoryview) else memoryview(records)
    out = bytearray()
    pos = 0
    for h in headers:
        batch = view[pos : pos + h.size]
        pos += h.size
        if target is not None and h.compression != target:
            payload = bytes(batch[BATCH_HEADER_SIZE:])
            if h.compression != Compression.NONE:
                payload, cut = decompress_bounded(h.compression, payload, limit)
                if cut:
                    raise KafkaError(
                        ErrorCode.CORRUPT_MESSAGE,
                        f"{h.compression.name} record batch inflates past the limit of"
                        f" {limit} bytes",
                    )
            start = len(out)
            out += seal_batch(
                compress(target, payload, _level(config, target)),
                records_count=h.records_count, compression=target,
                base_offset=h.base_offset, base_timestamp=h.base_timestamp,
                max_timestamp=h.max_timestamp, producer_id=h.producer_id,
                producer_epoch=h.producer_epoch, base_sequence=h.base_sequence,
                partition_leader_epoch=h.partition_leader_epoch,
                transactional=bool(h.attributes & _TRANSACTIONAL_BIT),
            )
        else:
            start = len(out)
            out += batch
        if stamp:
            _stamp(out, start, append_time)
    return out, append_time


def _stamp(buf: bytearray | memoryview, pos: int, append_time: int) -> None:
    """LogAppendTime: set attribute bit 3 and maxTimestamp, then recompute the CRC."""
    (attributes,) = _ATTRIBUTES.unpack_from(buf, pos + 21)
    _ATTRIBUTES.pack_into(buf, pos + 21, attributes | _TIMESTAMP_TYPE_BIT)
    _I64.pack_into(buf, pos + 35, append_time)
    (length,) = struct.unpack_from(">i", buf, pos + 8)
    end = pos + length + 12
    with memoryview(buf) as view:  # released before ``buf`` grows again
        crc = crc32c.crc32c(view.cast("B")[pos + _CRC_START : end])
    _U32.pack_into(buf, pos + 17, crc)


def _level(config: LogConfig, codec: Compression) -> int | None:
    if codec == Compression.GZIP:
        return None if config.gzip_level == -1 else config.gzip_level
    if codec == Compression.LZ4:
        return config.lz4_level
    if codec == Compression.ZSTD:
        return config.zstd_level
    return None
