"""Stored record batches decoded for the message browser, with bounded decompression.

Contract:

* :func:`decode_batch` turns ONE stored RecordBatch v2 into :class:`BrowsedRecord` rows:
  partition, offset, timestamp and its type, key, value, headers, size and the batch's
  attributes (codec, transactional, control). It runs in a worker thread, never on the
  broker loop or the GUI thread. It never raises for what a batch holds: a batch that
  cannot be read (CRC mismatch, unknown codec, garbage) becomes one row with a ``note``
  saying why, so a bad batch is seen rather than hiding the rest of the page.
* Decompression has an OUTPUT limit (:func:`decompress_bounded`): a batch that inflates
  past ``max_uncompressed`` bytes (a decompression bomb, or just a huge batch) allocates
  at most that much; the records that fit whole are shown and one note row says where
  the rest begins. Every codec Kafka has is read: gzip, snappy (xerial framing or raw
  block), lz4 (frame format) and zstd, through ``core.records.decompress_bounded``.
* Control batches (transaction markers) and transactional batches are shown, not hidden:
  a control record's key is decoded into its marker (``COMMIT``/``ABORT``) in ``note``.
* Timestamps follow Kafka: with LogAppendTime (attribute bit 3) every record of a batch
  has the batch's maxTimestamp.
* ``size`` is the record's payload: key, value, header names and header values, in bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

import crc32c
from streamscope.core.errors import KafkaError
from streamscope.core.records import (
    BATCH_HEADER_SIZE,
    MAGIC,
    MIN_BATCH_LENGTH,
    BatchHeader,
    Compression,
    Record,
    decode_records,
    parse_header,
)
from streamscope.core.records import decompress_bounded as records_decompress_bounded

# What one batch may inflate to before the browser stops decompressing it: far above a
# real batch (Kafka's message.max.bytes is 1 MiB), far below what would hurt the app.
MAX_UNCOMPRESSED = 64 * 1024 * 1024
_CRC_START = 21
_TIMESTAMP_TYPE_MASK = 0x08
_CONTROL_KEY = struct.Struct(">hh")
_CONTROL_TYPES = {0: "ABORT", 1: "COMMIT"}


class TimestampType(StrEnum):
    CREATE_TIME = "CreateTime"
    LOG_APPEND_TIME = "LogAppendTime"


@dataclass(frozen=True, slots=True)
class BrowsedRecord:
    """One record as the browser shows it (or, with ``note`` set, a batch it could not
    show whole: ``offset`` is where the unreadable part begins)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms since the epoch
    timestamp_type: TimestampType
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    size: int
    compression: str  # "none", "gzip", "snappy", "lz4", "zstd"
    transactional: bool
    control: bool
    producer_id: int = -1
    note: str = ""
    # A row that stands for offsets missing from the log (compaction removed their
    # records): how many, from ``offset`` on. 0 for every other row.
    gap: int = 0

    @property
    def placeholder(self) -> bool:
        """True for a row that stands for records that could not be decoded, or for a
        gap in the offsets."""
        return bool(self.note) and not self.control


def gap_row(topic: str, partition: int, first: int, last: int, before: BrowsedRecord) -> BrowsedRecord:
    """A row for offsets ``first``..``last`` missing from a partition's log, shown just
    before ``before`` (the record after them; its timestamp places the row in a page
    merged by time)."""
    n = last - first + 1
    what = f"offset {first:,}" if n == 1 else f"offsets {first:,} to {last:,}"
    return BrowsedRecord(
        topic, partition, first, before.timestamp, before.timestamp_type, None, None, (), 0,
        "none", False, False,
        note=f"{what}: not in the log (compaction removed {'it' if n == 1 else 'them'})",
        gap=n,
    )


def decompress_bounded(codec: int, data: bytes, limit: int) -> tuple[bytes, bool]:
    """``data`` decompressed with ``codec``: (at most ``limit`` bytes, whether cut off).

    :func:`core.records.decompress_bounded` (one bounded inflater for the broker and the
    browser); corrupt input raises ``ValueError`` with the codec's reason here.
    """
    try:
        return records_decompress_bounded(codec, data, limit)
    except KafkaError as exc:
        raise ValueError(exc.message) from None


def decode_batch(
    topic: str,
    partition: int,
    batch: bytes | bytearray | memoryview,
    *,
    min_offset: int = 0,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> list[BrowsedRecord]:
    """The records of the ONE batch ``batch`` at offsets >= ``min_offset`` (module doc)."""
    view = memoryview(batch)
    try:
        h = parse_header(view)
    except KafkaError as exc:
        return [_note(topic, partition, min_offset, 0, f"unreadable batch: {exc.message}")]
    codec_name = _codec_name(h.attributes)

    def note(text: str, offset: int | None = None) -> BrowsedRecord:
        at = max(h.base_offset, min_offset) if offset is None else offset
        return BrowsedRecord(
            topic, partition, at, h.max_timestamp, _ts_type(h), None, None, (), 0,
            codec_name, h.is_transactional, False, h.producer_id, text,
        )

    size = h.batch_length + 12
    if h.magic != MAGIC:
        return [note(f"record batch magic {h.magic} is not 2: not decoded")]
    if h.batch_length < MIN_BATCH_LENGTH or size > len(view):
        return [note("record batch is truncated")]
    if crc32c.crc32c(view[_CRC_START:size]) != h.crc:
        return [note("record batch CRC32C mismatch: not decoded")]
    data = bytes(view[BATCH_HEADER_SIZE:size])
    codec = h.attributes & 0x07
    cut = False
    if codec:
        try:
            data, cut = decompress_bounded(codec, data, max_uncompressed)
        except ValueError as exc:
            return [note(f"cannot decompress {codec_name} records: {exc}")]
    out: list[BrowsedRecord] = []
    last = h.base_offset - 1
    problem = ""
    try:
        for r in decode_records(h, data):
            last = r.offset
            if r.offset >= min_offset:
                out.append(_row(topic, partition, h, r, codec_name))
    except KafkaError as exc:
        problem = exc.message
    if last < h.last_offset:
        span = _span(last + 1, h.last_offset)
        if cut:
            problem = (
                f"the batch inflates to more than {_mib(max_uncompressed)}: {span} not decoded"
            )
        elif not problem:
            problem = f"{span} missing from the batch"
        else:
            problem = f"{span} cannot be decoded: {problem}"
        if last + 1 >= min_offset or not out:
            out.append(note(problem, max(last + 1, min_offset)))
    return out


def _row(topic: str, partition: int, h: BatchHeader, r: Record, codec: str) -> BrowsedRecord:
    size = len(r.key or b"") + len(r.value or b"")
    for name, value in r.headers:
        size += len(name.encode("utf-8")) + len(value or b"")
    ts = h.max_timestamp if h.attributes & _TIMESTAMP_TYPE_MASK else r.timestamp
    marker = _control_marker(r.key) if h.is_control else ""
    return BrowsedRecord(
        topic, partition, r.offset, ts, _ts_type(h), r.key, r.value, r.headers, size, codec,
        h.is_transactional, h.is_control, h.producer_id, marker,
    )


def _control_marker(key: bytes | None) -> str:
    if key is None or len(key) < _CONTROL_KEY.size:
        return "control record (unknown marker)"
    version, kind = _CONTROL_KEY.unpack_from(key)
    return f"control record: {_CONTROL_TYPES.get(kind, f'type {kind}')} marker (v{version})"


def _note(topic: str, partition: int, offset: int, ts: int, text: str) -> BrowsedRecord:
    return BrowsedRecord(
        topic, partition, offset, ts, TimestampType.CREATE_TIME, None, None, (), 0, "none",
        False, False, -1, text,
    )


def _ts_type(h: BatchHeader) -> TimestampType:
    if h.attributes & _TIMESTAMP_TYPE_MASK:
        return TimestampType.LOG_APPEND_TIME
    return TimestampType.CREATE_TIME


def _codec_name(attributes: int) -> str:
    codec = attributes & 0x07
    try:
        return Compression(codec).name.lower()
    except ValueError:
        return f"codec {codec}"


def _span(first: int, last: int) -> str:
    return f"record {first} is" if first == last else f"records {first} to {last} are"


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"
