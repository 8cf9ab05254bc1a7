"""The produce path's per-topic rewrites (core/produce_rewrite.py): recompression into
the topic's codec, LogAppendTime stamping, min.insync.replicas; and Produce over the
wire answering log_append_time_ms."""

from __future__ import annotations

import struct
import time

import cramjam
import pytest
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.produce_rewrite import rewrite_batches
from streamscope.core.protocol.api_keys import ApiKey
from streamscope.core.records import (
    Compression,
    build_batch,
    iter_batches,
    iter_records,
    seal_batch,
    validate_batches,
)

from tests.core.test_server import produce_body

RECORDS = [(f"k{i}".encode(), f"value {i} ".encode() * 30, [("h", b"x")], 1000 + i)
           for i in range(20)]


def idempotent_batch(codec: Compression) -> bytes:
    return build_batch(RECORDS, compression=codec, producer_id=7, producer_epoch=2,
                       base_sequence=40, partition_leader_epoch=-1)


def decoded(data) -> list:
    return [(r.key, r.value, r.headers, r.timestamp) for _h, v in iter_batches(data)
            for r in iter_records(v)]


@pytest.mark.parametrize("source", list(Compression))
@pytest.mark.parametrize("target", ["uncompressed", "gzip", "snappy", "lz4", "zstd"])
def test_batches_are_recompressed_into_the_topics_codec_keeping_their_fields(source, target):
    config = LogConfig(compression_type=target)
    data = idempotent_batch(source) + build_batch(RECORDS[:3], compression=source)
    out, append_time = rewrite_batches(config, data)
    assert append_time == -1
    headers = validate_batches(out)  # CRCs are right
    want = Compression.NONE if target == "uncompressed" else Compression[target.upper()]
    assert [h.compression for h in headers] == [want, want]
    first = headers[0]
    assert (first.producer_id, first.producer_epoch, first.base_sequence) == (7, 2, 40)
    assert (first.records_count, first.last_offset_delta) == (20, 19)
    assert (first.base_timestamp, first.max_timestamp) == (1000, 1019)
    assert decoded(out) == decoded(data)
    if source == want:
        assert bytes(out) == data  # already in the topic's codec: untouched


def test_levels_are_applied_and_transactional_bit_kept():
    payload = b"".join(r[1] for r in RECORDS)  # compressible
    data = seal_batch(payload, records_count=1, compression=Compression.NONE,
                      transactional=True, producer_id=3, producer_epoch=0, base_sequence=0)
    fast, _ = rewrite_batches(LogConfig(compression_type="zstd", zstd_level=1), data)
    assert validate_batches(fast)[0].is_transactional
    low, _ = rewrite_batches(LogConfig(compression_type="gzip", gzip_level=1), data)
    high, _ = rewrite_batches(LogConfig(compression_type="gzip", gzip_level=9), data)
    assert len(high) <= len(low)


def test_log_append_time_sets_the_bit_max_timestamp_and_crc():
    data = idempotent_batch(Compression.LZ4)
    out, append_time = rewrite_batches(LogConfig(timestamp_type="LogAppendTime"), data,
                                       clock=lambda: 1_800_000_000.5)
    assert append_time == 1_800_000_000_500
    (h,) = validate_batches(out)
    assert h.attributes & 0x08 and h.compression == Compression.LZ4
    assert (h.base_timestamp, h.max_timestamp) == (1000, append_time)
    assert {r.timestamp for r in iter_records(out)} == {append_time}
    assert bytes(out[61:]) == data[61:]  # records untouched


def test_a_corrupt_batch_is_refused_not_resealed():
    data = bytearray(idempotent_batch(Compression.NONE))
    data[-1] ^= 0xFF
    with pytest.raises(KafkaError) as err:
        rewrite_batches(LogConfig(compression_type="gzip"), data)
    assert err.value.code == ErrorCode.CORRUPT_MESSAGE


def test_a_batch_inflating_past_the_bound_is_refused():
    bomb = seal_batch(zstd_bomb(8 << 20), records_count=1,
                      compression=Compression.ZSTD)
    with pytest.raises(KafkaError) as err:
        rewrite_batches(LogConfig(compression_type="gzip", max_message_bytes=1 << 16), bomb)
    assert err.value.code == ErrorCode.CORRUPT_MESSAGE
    assert "inflates past" in err.value.message


def zstd_bomb(size: int) -> bytes:
    return bytes(cramjam.zstd.compress(b"\0" * size))


async def test_produce_answers_log_append_time_and_min_insync_replicas(served, wire):
    broker, _ = served
    broker.create_topic("lat", 1, {"message.timestamp.type": "LogAppendTime"})
    broker.create_topic("isr", 1, {"min.insync.replicas": "2"})
    broker.create_topic("ct", 1)
    answer = await wire.call(ApiKey.PRODUCE, 9, produce_body("lat", 0, build_batch(RECORDS)))
    part = answer["responses"][0]["partition_responses"][0]
    assert part["error_code"] == 0 and part["log_append_time_ms"] > 0
    stored = broker.read_stored("lat", 0, 0, 1 << 20)
    assert struct.unpack_from(">q", stored, 35)[0] == part["log_append_time_ms"]
    answer = await wire.call(ApiKey.PRODUCE, 9, produce_body("ct", 0, build_batch(RECORDS)))
    assert answer["responses"][0]["partition_responses"][0]["log_append_time_ms"] == -1

    refused = await wire.call(ApiKey.PRODUCE, 9, produce_body("isr", 0, build_batch(RECORDS)))
    part = refused["responses"][0]["partition_responses"][0]
    assert part["error_code"] == ErrorCode.NOT_ENOUGH_REPLICAS
    assert "min.isr requirement of 2" in part["error_message"]
    assert broker.partition_offsets("isr", 0) == (0, 0)
    # acks=1 does not need the ISR.
    ok = await wire.call(ApiKey.PRODUCE, 9, produce_body("isr", 0, build_batch(RECORDS), acks=1))
    assert ok["responses"][0]["partition_responses"][0]["error_code"] == 0


async def test_a_large_request_is_rewritten_off_the_loop_and_appended_whole(served, wire):
    broker, _ = served
    broker.create_topic("big", 1, {"compression.type": "zstd", "max.message.bytes": "4000000"})
    big = [(None, bytes([i % 251]) * 4000) for i in range(200)]  # ~800 KB, over THREAD_BYTES
    answer = await wire.call(ApiKey.PRODUCE, 9, produce_body("big", 0, build_batch(big)))
    assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0
    stored = broker.read_stored("big", 0, 0, 1 << 24)
    (h,) = validate_batches(stored, require_zero_base_offset=False)
    assert h.compression == Compression.ZSTD and h.records_count == 200
    assert [r.value for r in iter_records(stored)] == [v for _, v in big]


async def test_timestamp_bounds_refuse_records_too_far_from_the_clock(served, wire):
    broker, _ = served
    hour = 3_600_000  # margins of an hour: the test never races the broker's clock
    broker.create_topic("bounded", 1, {"message.timestamp.before.max.ms": str(hour),
                                       "message.timestamp.after.max.ms": "1000"})
    broker.create_topic("legacy", 1, {"message.timestamp.difference.max.ms": str(hour)})
    broker.create_topic("stamped", 1, {"message.timestamp.type": "LogAppendTime",
                                       "message.timestamp.difference.max.ms": "1"})
    now = int(time.time() * 1000)

    async def produce(topic: str, stamps: list[int], codec=Compression.NONE) -> dict:
        batch = build_batch([(None, b"v", [], ts) for ts in stamps], compression=codec)
        answer = await wire.call(ApiKey.PRODUCE, 9, produce_body(topic, 0, batch))
        return answer["responses"][0]["partition_responses"][0]

    assert (await produce("bounded", [now - 60_000, now]))["error_code"] == 0
    # The second record (not the batch's first) is two hours old.
    late = await produce("bounded", [now, now - 2 * hour], Compression.GZIP)
    assert late["error_code"] == ErrorCode.INVALID_TIMESTAMP
    assert f"Timestamp {now - 2 * hour} of message with offset 1 is out of range" in late[
        "error_message"]
    early = await produce("bounded", [now + 2 * hour])
    assert early["error_code"] == ErrorCode.INVALID_TIMESTAMP
    assert broker.partition_offsets("bounded", 0) == (0, 2)
    # difference.max.ms bounds both sides where before/after are unset.
    ahead = await produce("legacy", [now + 2 * hour])
    assert ahead["error_code"] == ErrorCode.INVALID_TIMESTAMP
    assert (await produce("legacy", [now]))["error_code"] == 0
    # LogAppendTime topics take any producer timestamp: the broker's replaces it.
    assert (await produce("stamped", [0]))["error_code"] == 0


async def test_recompressing_into_zstd_for_produce_below_v7_is_refused(served, wire):
    broker, _ = served
    broker.create_topic("z", 1, {"compression.type": "zstd"})
    old = await wire.call(ApiKey.PRODUCE, 6, produce_body("z", 0, build_batch(RECORDS)))
    assert old["responses"][0]["partition_responses"][0]["error_code"] == (
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)
    new = await wire.call(ApiKey.PRODUCE, 7, produce_body("z", 0, build_batch(RECORDS)))
    assert new["responses"][0]["partition_responses"][0]["error_code"] == 0
