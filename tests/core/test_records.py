"""RecordBatch v2 codec: round trips, validation refusals, and interop with a real client.

The cross-checks use kafka-python's own encoder and decoder (``DefaultRecordBatchBuilder``
/ ``DefaultRecordBatch``), with its codec libraries (python-snappy, lz4, zstandard).
"""

from __future__ import annotations

import struct

import crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import codec as kafka_codec
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import (
    BATCH_HEADER_SIZE,
    Compression,
    Record,
    build_batch,
    iter_all_records,
    iter_batches,
    iter_records,
    parse_header,
    patch_batch,
    validate_batches,
)

ALL_CODECS = list(Compression)

SAMPLE = [
    (b"key-1", b"value-1", [("trace", b"abc"), ("h\u00e9ader-\u2603", b"\x00\xff")], 1_000),
    (None, b"value without key", [], 1_005),
    (b"key without value", None, [("null-header", None)], 999),
    (b"", b"", [("", b"")], 1_010),
    (b"big", b"x" * 50_000, [], 1_002),
]


def _rewrap(batch: bytes, attributes: int, payload: bytes) -> bytes:
    """The same header with new attributes and records payload, and a fresh CRC."""
    out = bytearray(batch[:BATCH_HEADER_SIZE]) + payload
    struct.pack_into(">i", out, 8, len(out) - 12)
    struct.pack_into(">h", out, 21, attributes)
    struct.pack_into(">I", out, 17, crc32c.crc32c(bytes(out[21:])))
    return bytes(out)


def _expect(exc: pytest.ExceptionInfo[KafkaError], code: ErrorCode) -> None:
    assert exc.value.code == code, str(exc.value)


# --- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_build_then_iter_round_trips_every_codec(codec: Compression) -> None:
    batch = build_batch(SAMPLE, base_offset=40, compression=codec)
    [header] = validate_batches(batch, require_zero_base_offset=False)
    assert header.compression == codec
    assert header.records_count == len(SAMPLE)
    assert header.last_offset == 40 + len(SAMPLE) - 1
    assert header.base_timestamp == 1_000  # the first record's, as Java's builder does
    assert header.max_timestamp == 1_010
    assert header.size == len(batch)
    records = list(iter_records(batch))
    assert records == [
        Record(40 + i, ts, key, value, tuple(headers))
        for i, (key, value, headers, ts) in enumerate(SAMPLE)
    ]


def test_compression_actually_shrinks_repetitive_records() -> None:
    plain = build_batch([(b"k", b"abc" * 5000)])
    for codec in ALL_CODECS[1:]:
        assert len(build_batch([(b"k", b"abc" * 5000)], compression=codec)) < len(plain) // 10


def test_build_batch_sets_producer_fields_and_default_timestamp() -> None:
    batch = build_batch(
        [(b"k", b"v"), (b"k2", b"v2", None)],
        base_timestamp=123,
        producer_id=7,
        producer_epoch=3,
        base_sequence=42,
        partition_leader_epoch=5,
        transactional=True,
    )
    h = parse_header(batch)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (7, 3, 42)
    assert h.partition_leader_epoch == 5
    assert h.is_transactional and not h.is_control
    assert h.base_timestamp == h.max_timestamp == 123
    assert [r.timestamp for r in iter_records(batch)] == [123, 123]


def test_build_batch_refuses_an_empty_batch() -> None:
    with pytest.raises(ValueError):
        build_batch([])


header_keys = st.text(max_size=8)
optional_bytes = st.none() | st.binary(max_size=64)
record_strategy = st.tuples(
    optional_bytes,
    optional_bytes,
    st.lists(st.tuples(header_keys, optional_bytes), max_size=3),
    st.integers(min_value=0, max_value=2**41),
)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(record_strategy, min_size=1, max_size=20),
    codec=st.sampled_from(ALL_CODECS),
    base_offset=st.integers(min_value=0, max_value=2**40),
)
def test_random_records_round_trip(records, codec, base_offset) -> None:
    batch = build_batch(records, base_offset=base_offset, compression=codec)
    validate_batches(batch, require_zero_base_offset=False)
    decoded = list(iter_records(batch))
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in decoded] == [
        (base_offset + i, ts, k, v, tuple(h)) for i, (k, v, h, ts) in enumerate(records)
    ]


# --- CRC and patching -----------------------------------------------------------------


def test_a_flipped_bit_anywhere_from_byte_21_fails_the_crc() -> None:
    batch = build_batch([(b"k", b"value", [("h", b"1")])], base_timestamp=5)
    for pos in range(21, len(batch)):
        for bit in (0x01, 0x80):
            bad = bytearray(batch)
            bad[pos] ^= bit
            with pytest.raises(KafkaError) as exc:
                validate_batches(bad)
            _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_a_flipped_crc_byte_fails_the_crc() -> None:
    bad = bytearray(build_batch([(b"k", b"v")]))
    bad[19] ^= 0x10
    with pytest.raises(KafkaError) as exc:
        validate_batches(bad)
    _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_patch_batch_rewrites_offset_and_epoch_and_keeps_crc_valid() -> None:
    first = build_batch([(b"a", b"1"), (b"b", b"2")])
    second = build_batch([(b"c", b"3")])
    buf = bytearray(first + second)
    patch_batch(buf, 0, 1_000_000_000_000, 7)
    patch_batch(buf, len(first), 1_000_000_000_002)
    headers = validate_batches(buf, require_zero_base_offset=False)
    assert [h.base_offset for h in headers] == [1_000_000_000_000, 1_000_000_000_002]
    assert headers[0].partition_leader_epoch == 7
    assert headers[1].partition_leader_epoch == -1  # untouched when not given
    assert [r.offset for r in iter_all_records(buf)] == [
        1_000_000_000_000,
        1_000_000_000_001,
        1_000_000_000_002,
    ]


# --- refusals -------------------------------------------------------------------------


def test_validate_accepts_concatenated_batches() -> None:
    batches = [build_batch([(b"k", b"v" * n)] * (n + 1)) for n in range(4)]
    headers = validate_batches(b"".join(batches))
    assert [h.records_count for h in headers] == [1, 2, 3, 4]
    assert [h.size for h in headers] == [len(b) for b in batches]


def test_validate_accepts_a_memoryview_slice() -> None:
    batch = build_batch([(b"k", b"v")])
    framed = b"\x00" * 5 + batch + b"\x00" * 3
    [h] = validate_batches(memoryview(framed)[5 : 5 + len(batch)])
    assert h.size == len(batch)


@pytest.mark.parametrize(
    ("magic", "code"),
    [
        (0, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
        (1, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
        (3, ErrorCode.CORRUPT_MESSAGE),
    ],
)
def test_wrong_magic_is_refused(magic: int, code: ErrorCode) -> None:
    bad = bytearray(build_batch([(b"k", b"v")]))
    bad[16] = magic
    with pytest.raises(KafkaError) as exc:
        validate_batches(bad)
    _expect(exc, code)


def test_a_short_legacy_message_set_is_refused_as_old_format() -> None:
    # A magic-0 message is shorter than a v2 header; the magic byte is still at 16.
    legacy = struct.pack(">qiIbb", 0, 14, 0, 0, 0) + struct.pack(">ii", -1, -1)
    with pytest.raises(KafkaError) as exc:
        validate_batches(legacy)
    _expect(exc, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT)


def test_truncated_or_inconsistent_lengths_are_corrupt() -> None:
    batch = build_batch([(b"k", b"value")])
    cases = [
        batch[:-1],  # cut inside the records
        batch[:40],  # cut inside the header
        batch + batch[:10],  # a stray partial second batch
        batch + build_batch([(b"k", b"v")])[:-3],
    ]
    too_long = bytearray(batch)
    struct.pack_into(">i", too_long, 8, len(batch))  # claims 12 more bytes than exist
    cases.append(bytes(too_long))
    too_short = bytearray(batch)
    struct.pack_into(">i", too_short, 8, 20)  # shorter than a header
    cases.append(bytes(too_short))
    for case in cases:
        with pytest.raises(KafkaError) as exc:
            validate_batches(case)
        _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_non_zero_base_offset_is_an_invalid_record_unless_allowed() -> None:
    batch = build_batch([(b"k", b"v")], base_offset=5)
    with pytest.raises(KafkaError) as exc:
        validate_batches(batch)
    _expect(exc, ErrorCode.INVALID_RECORD)
    assert validate_batches(batch, require_zero_base_offset=False)[0].base_offset == 5


def test_a_batch_over_the_limit_is_too_large() -> None:
    batch = build_batch([(b"k", b"v" * 1000)])
    assert validate_batches(batch, max_batch_bytes=len(batch))
    with pytest.raises(KafkaError) as exc:
        validate_batches(batch, max_batch_bytes=len(batch) - 1)
    _expect(exc, ErrorCode.MESSAGE_TOO_LARGE)


@pytest.mark.parametrize("buf", [b"", bytearray(), memoryview(b"")])
def test_empty_records_are_refused(buf) -> None:
    with pytest.raises(KafkaError) as exc:
        validate_batches(buf)
    _expect(exc, ErrorCode.INVALID_RECORD)


def _with_header_field(batch: bytes, fmt: str, pos: int, value: int) -> bytes:
    out = bytearray(batch)
    struct.pack_into(fmt, out, pos, value)
    struct.pack_into(">I", out, 17, crc32c.crc32c(bytes(out[21:])))
    return bytes(out)


def test_record_count_disagreeing_with_last_offset_delta_is_invalid() -> None:
    batch = build_batch([(b"a", b"1"), (b"b", b"2")])
    for fmt, pos, value in [(">i", 57, 3), (">i", 57, 0), (">i", 23, -1), (">i", 23, 5)]:
        with pytest.raises(KafkaError) as exc:
            validate_batches(_with_header_field(batch, fmt, pos, value))
        _expect(exc, ErrorCode.INVALID_RECORD)


def test_control_batches_from_clients_are_invalid() -> None:
    batch = build_batch([(b"a", b"1")])
    with pytest.raises(KafkaError) as exc:
        validate_batches(_with_header_field(batch, ">h", 21, 0x20))
    _expect(exc, ErrorCode.INVALID_RECORD)


def test_unknown_codec_is_corrupt() -> None:
    batch = build_batch([(b"a", b"1")])
    with pytest.raises(KafkaError) as exc:
        validate_batches(_with_header_field(batch, ">h", 21, 6))
    _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_parse_header_needs_61_bytes() -> None:
    batch = build_batch([(b"a", b"1")])
    assert parse_header(batch).records_count == 1
    with pytest.raises(KafkaError) as exc:
        parse_header(batch[:60])
    _expect(exc, ErrorCode.CORRUPT_MESSAGE)


# --- decoding garbage -----------------------------------------------------------------


def test_iter_records_refuses_garbage_with_a_valid_crc() -> None:
    batch = build_batch([(b"key", b"value", [("h", b"v")])])
    body = batch[BATCH_HEADER_SIZE:]
    garbage = [
        _rewrap(batch, 0, body[:-2]),  # records cut short
        _rewrap(batch, 0, body + b"\x00"),  # stray byte after the last record
        _rewrap(batch, 0, b"\xff" * 12),  # varint that never ends
        _rewrap(batch, 1, b"not gzip at all"),
        _rewrap(batch, 2, b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x10\x00xx"),
        _rewrap(batch, 3, b"not an lz4 frame"),
        _rewrap(batch, 4, b"not zstd"),
    ]
    for bad in garbage:
        with pytest.raises(KafkaError) as exc:
            list(iter_records(bad))
        _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_iter_records_checks_the_crc() -> None:
    bad = bytearray(build_batch([(b"k", b"v")]))
    bad[-1] ^= 1
    with pytest.raises(KafkaError) as exc:
        list(iter_records(bad))
    _expect(exc, ErrorCode.CORRUPT_MESSAGE)


def test_iter_batches_stops_at_an_incomplete_tail() -> None:
    a = build_batch([(b"a", b"1")], base_offset=0)
    b = build_batch([(b"b", b"2"), (b"c", b"3")], base_offset=1)
    got = [(h.base_offset, bytes(view)) for h, view in iter_batches(a + b + b[:30])]
    assert got == [(0, a), (1, b)]
    assert [r.key for r in iter_all_records(a + b[:-1])] == [b"a"]


# --- interop with a real client's encoder and decoder ---------------------------------

KAFKA_PYTHON_CODEC = {
    Compression.NONE: 0,
    Compression.GZIP: DefaultRecordBatch.CODEC_GZIP,
    Compression.SNAPPY: DefaultRecordBatch.CODEC_SNAPPY,
    Compression.LZ4: DefaultRecordBatch.CODEC_LZ4,
    Compression.ZSTD: DefaultRecordBatch.CODEC_ZSTD,
}


def _kafka_python_batch(codec: Compression, records) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=KAFKA_PYTHON_CODEC[codec],
        is_transactional=False,
        producer_id=1001,
        producer_epoch=2,
        base_sequence=17,
        batch_size=1 << 22,
    )
    for i, (key, value, headers, ts) in enumerate(records):
        assert builder.append(i, timestamp=ts, key=key, value=value, headers=headers)
    return bytes(builder.build())


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_decodes_batches_built_by_kafka_python(codec: Compression) -> None:
    data = _kafka_python_batch(codec, SAMPLE)
    [h] = validate_batches(data)
    assert h.compression == codec
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (1001, 2, 17)
    patched = bytearray(data)
    patch_batch(patched, 0, 500, 0)
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in iter_records(patched)] == [
        (500 + i, ts, k, v, tuple(hs)) for i, (k, v, hs, ts) in enumerate(SAMPLE)
    ]


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_kafka_python_decodes_our_batches(codec: Compression) -> None:
    data = build_batch(SAMPLE, base_offset=77, compression=codec)
    theirs = DefaultRecordBatch(data)
    assert theirs.validate_crc()
    assert theirs.compression_type == KAFKA_PYTHON_CODEC[codec]
    assert [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in theirs] == [
        (77 + i, ts, k, v, list(hs)) for i, (k, v, hs, ts) in enumerate(SAMPLE)
    ]


def test_decodes_raw_unframed_snappy() -> None:
    plain = build_batch(SAMPLE)
    raw = kafka_codec.snappy_encode(plain[BATCH_HEADER_SIZE:], xerial_compatible=False)
    assert not raw.startswith(b"\x82SNAPPY")
    batch = _rewrap(plain, int(Compression.SNAPPY), raw)
    validate_batches(batch)
    assert list(iter_records(batch)) == list(iter_records(plain))


def test_our_snappy_uses_xerial_framing_in_32k_blocks() -> None:
    batch = build_batch([(b"k", bytes(range(256)) * 600)], compression=Compression.SNAPPY)
    payload = batch[BATCH_HEADER_SIZE:]
    assert payload.startswith(b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")
    # kafka-python's xerial reader (independent of ours) gets the same bytes back.
    body = kafka_codec.snappy_decode(payload)
    assert (
        body
        == build_batch(
            [(b"k", bytes(range(256)) * 600)], base_timestamp=parse_header(batch).base_timestamp
        )[BATCH_HEADER_SIZE:]
    )
