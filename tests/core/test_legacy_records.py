"""core/legacy_records.py: old message sets (magic 0/1) up-converted to a v2 batch, and
the refusals of malformed ones (the interop tests drive it with real old-format
producers: tests/interop/test_legacy_produce.py)."""

from __future__ import annotations

import struct
import zlib

import pytest
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.legacy_records import is_legacy, upconvert
from streamscope.core.records import Compression, compress, iter_records, parse_header

LIMIT = 1 << 20


def _bytes(data: bytes | None) -> bytes:
    return struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data


def message(key: bytes | None, value: bytes | None, *, magic: int = 1, attributes: int = 0,
            timestamp: int = 0, offset: int = 0) -> bytes:
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    body += _bytes(key) + _bytes(value)
    body = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", offset, len(body)) + body


def test_magic_1_messages_keep_keys_values_and_timestamps():
    msgs = message(b"a", b"1", timestamp=10) + message(None, b"2", timestamp=12) + \
        message(b"c", None, timestamp=11, offset=7)
    assert is_legacy(msgs)
    batch = upconvert(msgs, max_uncompressed=LIMIT)
    assert not is_legacy(batch)
    h = parse_header(batch)
    assert (h.magic, h.records_count, h.producer_id, h.max_timestamp) == (2, 3, -1, 12)
    got = [(r.offset, r.timestamp, r.key, r.value) for r in iter_records(batch)]
    assert got == [(0, 10, b"a", b"1"), (1, 12, None, b"2"), (2, 11, b"c", None)]


def test_a_compressed_wrapper_is_unpacked_and_its_codec_kept():
    inner = b"".join(message(f"k{i}".encode(), b"v" * 50, magic=0, offset=i) for i in range(5))
    wrapper = message(None, compress(Compression.GZIP, inner), magic=0,
                      attributes=Compression.GZIP)
    batch = upconvert(message(b"plain", b"x", magic=0) + wrapper, max_uncompressed=LIMIT)
    assert parse_header(batch).compression == Compression.GZIP
    records = list(iter_records(batch))
    assert [r.key for r in records] == [b"plain"] + [f"k{i}".encode() for i in range(5)]
    assert {r.timestamp for r in records} == {-1}  # magic 0: no timestamp


def test_a_log_append_time_wrapper_gives_its_time_to_the_inner_messages():
    inner = message(b"a", b"1", timestamp=5) + message(b"b", b"2", timestamp=6, offset=1)
    wrapper = message(None, compress(Compression.GZIP, inner),
                      attributes=Compression.GZIP | 0x08, timestamp=99)
    assert {r.timestamp for r in iter_records(upconvert(wrapper, max_uncompressed=LIMIT))} \
        == {99}


def _refused(data: bytes, code: ErrorCode, words: str, limit: int = LIMIT) -> None:
    with pytest.raises(KafkaError) as exc:
        upconvert(data, max_uncompressed=limit)
    assert exc.value.code == code
    assert words in exc.value.message


def test_malformed_message_sets_are_refused():
    good = message(b"k", b"v")
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 1
    _refused(bytes(bad_crc), ErrorCode.CORRUPT_MESSAGE, "CRC32")
    _refused(good[:-2], ErrorCode.CORRUPT_MESSAGE, "does not fit")
    _refused(good + good[:8], ErrorCode.CORRUPT_MESSAGE, "Truncated message set")
    _refused(b"", ErrorCode.INVALID_RECORD, "empty message set")
    nested = message(None, compress(Compression.GZIP, message(
        None, compress(Compression.GZIP, good), attributes=Compression.GZIP)),
        attributes=Compression.GZIP)
    _refused(nested, ErrorCode.CORRUPT_MESSAGE, "compressed message inside")
    mixed = message(None, compress(Compression.GZIP, message(b"k", b"v", magic=0)),
                    attributes=Compression.GZIP)
    _refused(mixed, ErrorCode.CORRUPT_MESSAGE, "holds a magic 0 message")
    _refused(message(b"k", b"v", attributes=5), ErrorCode.CORRUPT_MESSAGE, "codec 5")
    _refused(message(None, b"not gzip", attributes=Compression.GZIP),
             ErrorCode.CORRUPT_MESSAGE, "GZIP")


def test_inflating_is_bounded_across_the_wrappers_of_a_set():
    inner = message(b"k", b"\0" * 300_000)
    wrapper = message(None, compress(Compression.GZIP, inner), attributes=Compression.GZIP)
    assert len(wrapper) < 2000
    upconvert(wrapper * 3, max_uncompressed=LIMIT)  # 3 x 300 KB fit in 1 MiB
    _refused(wrapper * 4, ErrorCode.CORRUPT_MESSAGE, "inflates past the limit")
