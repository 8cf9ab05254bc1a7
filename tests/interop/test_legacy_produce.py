"""Old-format producers (magic 0 and 1 message sets, Produce v0-2) against the broker,
with real clients over 127.0.0.1: confluent-kafka (librdkafka 2.x) told the broker is
0.9 (``api.version.request=false``) and kafka-python pinned to ``api_version`` (0, 9)
and (0, 10). The broker up-converts what they send into v2 batches, as Kafka does
(core/legacy_records.py); a modern consumer reads the records back with their keys,
values and (for magic 1) timestamps, and LogAppendTime topics stamp them.
"""

from __future__ import annotations

import pytest
from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Producer,
)
from kafka import KafkaProducer
from streamscope.core.records import Compression

from tests.interop.test_topic_config_clients import admin, consume, create, stored_batches

BASE_TS = 1_700_000_000_000
CODECS = {"none": Compression.NONE, "gzip": Compression.GZIP, "lz4": Compression.LZ4}


def records(n: int) -> list[tuple[bytes | None, bytes]]:
    # One record without a key: null must stay null through the conversion.
    return [(None if i == 3 else f"k{i}".encode(), f"value-{i}".encode() * 10)
            for i in range(n)]


# librdkafka writes magic-0 lz4 with the old, wrong frame header checksum, as Kafka's
# clients of that era did.
@pytest.mark.parametrize("codec", ["none", "gzip", "lz4"])
def test_librdkafka_speaking_0_9_writes_records_without_timestamps(broker, codec):
    topic = f"old-{codec}"
    create(admin(broker.bootstrap), topic, {})
    producer = Producer({"bootstrap.servers": broker.bootstrap,
                         "api.version.request": False, "broker.version.fallback": "0.9.0.0",
                         "enable.idempotence": False, "compression.codec": codec,
                         "batch.num.messages": 7, "linger.ms": 5})
    failures = []
    sent = records(40)
    for key, value in sent:
        producer.produce(topic, key=key, value=value, partition=0, timestamp=BASE_TS,
                         on_delivery=lambda err, msg: err and failures.append(err))
    assert producer.flush(15) == 0
    assert failures == []
    messages = consume(broker.bootstrap, topic, 40)
    assert [(m.key(), m.value()) for m in messages] == sent
    assert [m.offset() for m in messages] == list(range(40))
    # Magic 0 has no timestamp: the producer's BASE_TS never reached the broker, and the
    # v2 batch says CreateTime -1 (Kafka's NO_TIMESTAMP), as Kafka's conversion leaves it.
    assert {m.timestamp() for m in messages} == {(TIMESTAMP_CREATE_TIME, -1)}
    batches = stored_batches(broker, topic)
    assert len(batches) > 1  # several message sets, each its own v2 batch
    assert {(h.magic, h.compression, h.producer_id) for h, _ in batches} == {
        (2, CODECS[codec], -1)}


@pytest.mark.parametrize(("api_version", "codec"), [
    ((0, 10), "gzip"), ((0, 10), "none"), ((0, 10), "lz4"), ((0, 9), "gzip"),
])
def test_kafka_python_old_formats_keep_keys_values_and_magic_1_timestamps(
        broker, api_version, codec):
    topic = f"kp-{api_version[1]}-{codec}"
    create(admin(broker.bootstrap), topic, {})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version,
                             compression_type=None if codec == "none" else codec,
                             linger_ms=5, batch_size=2000)
    sent = records(30)
    try:
        futures = [producer.send(topic, key=k, value=v, partition=0, timestamp_ms=BASE_TS + i)
                   for i, (k, v) in enumerate(sent)]
        producer.flush(15)
        offsets = [f.get(timeout=15).offset for f in futures]
    finally:
        producer.close(5)
    assert offsets == list(range(30))
    messages = consume(broker.bootstrap, topic, 30)
    assert [(m.key(), m.value()) for m in messages] == sent
    if api_version == (0, 10):
        assert [m.timestamp() for m in messages] == [
            (TIMESTAMP_CREATE_TIME, BASE_TS + i) for i in range(30)]
    else:
        assert {m.timestamp()[1] for m in messages} == {-1}
    assert {h.compression for h, _ in stored_batches(broker, topic)} == {CODECS[codec]}


def test_old_format_records_on_a_log_append_time_topic_get_the_append_time(broker):
    create(admin(broker.bootstrap), "stamped-old", {"message.timestamp.type": "LogAppendTime",
                                                    "compression.type": "lz4"})
    producer = Producer({"bootstrap.servers": broker.bootstrap,
                         "api.version.request": False, "broker.version.fallback": "0.9.0.0",
                         "enable.idempotence": False, "compression.codec": "gzip"})
    for key, value in records(10):
        producer.produce("stamped-old", key=key, value=value, partition=0)
    assert producer.flush(15) == 0
    messages = consume(broker.bootstrap, "stamped-old", 10)
    batches = stored_batches(broker, "stamped-old")
    assert {(h.compression, bool(h.attributes & 0x08)) for h, _ in batches} == {
        (Compression.LZ4, True)}
    stamps = {h.max_timestamp for h, _ in batches}
    assert -1 not in stamps
    assert {m.timestamp()[0] for m in messages} == {TIMESTAMP_LOG_APPEND_TIME}
    assert {m.timestamp()[1] for m in messages} <= stamps
