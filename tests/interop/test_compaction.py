"""Log compaction seen by confluent-kafka (librdkafka): a compacted topic with small
segments keeps only the latest value per key, with the original offsets (gaps), drops
tombstones after delete.retention.ms, refuses keyless records with INVALID_RECORD, and a
topic switched from delete to compact by IncrementalAlterConfigs gets cleaned."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    OffsetSpec,
    ResourceType,
)
from streamscope.core.monitor import build_snapshot
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.records import Compression, build_batch
from streamscope.core.runtime import BrokerThread

from tests.interop.conftest import make_config

WAIT_S = 60
COMPACT = {
    "cleanup.policy": "compact",
    "segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "0",
}


@pytest.fixture
def broker_config(tmp_path):
    # The cleaner looks for work every 50 ms (Kafka: 15 s) so the tests wait little.
    return make_config(tmp_path / "data", cleaner_interval_ms=50)


def create(bootstrap: str, name: str, configs: dict[str, str]) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    for fut in client.create_topics([NewTopic(name, 1, 1, config=configs)]).values():
        fut.result(timeout=15)


def produce(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes | None]]
            ) -> list[tuple[int, bytes | None, bytes | None]]:
    """Each (key, value) produced, ten to a batch; (offset, key, value) of each."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0,
                         "compression.type": "lz4"})
    out: list = []
    errors: list = []

    def done(err, msg):
        if err is not None:
            errors.append(err)
        else:
            out.append((msg.offset(), msg.key(), msg.value()))

    for i, (key, value) in enumerate(items):
        producer.produce(topic, key=key, value=value, partition=0, on_delivery=done)
        if i % 10 == 9:
            assert producer.flush(15) == 0  # batches of 10: several segments
    assert producer.flush(15) == 0
    assert not errors, errors
    return sorted(out)


def consume(bootstrap: str, topic: str, end: int) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every record from the beginning up to offset ``end`` (exclusive)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    out = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise KafkaException(msg.error())
            out.append((msg.offset(), msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def wait_for(bt: BrokerThread, check, what: str) -> None:
    """Poll a condition on the broker loop until it holds."""
    deadline = time.monotonic() + WAIT_S
    while not bt.call(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def log_of(bt: BrokerThread, topic: str):
    return bt.broker.topics[topic].partitions[0].log


def test_compacted_topic_keeps_latest_per_key_with_offsets(broker: BrokerThread) -> None:
    bs = broker.bootstrap
    create(bs, "state", COMPACT)
    items = [(f"k{i % 5}".encode(), f"v{i}".encode() * 8) for i in range(300)]
    items += [(b"k3", None), (b"k4", None)]  # tombstones
    # Incompressible fillers roll the log well past the tombstones.
    items += [(f"filler{i}".encode(), os.urandom(200)) for i in range(60)]
    sent = produce(bs, "state", items)
    assert [o for o, _k, _v in sent] == list(range(len(items)))
    plog = log_of(broker, "state")
    assert broker.call(lambda: plog.segment_count) >= 4
    # Pass 1 maps the keys and keeps the tombstones; pass 2 (delete.retention.ms=0) drops them.
    active_base = broker.call(lambda: plog.segments()[-1].base_offset)
    # (A pass that ran while records were still coming in does not count: the one that
    # reaches the final active segment's base does.)
    wait_for(broker, lambda: plog.cleaner.clean_offset == active_base
             and plog.cleaner.tombstone_due_ms is None and not plog.cleaner.cleaning,
             "the passes that clean it all")
    # The monitor sees the clean/dirty boundary and the cleaner's progress.
    snap = broker.call(lambda: build_snapshot(broker.broker, broker.node.groups))
    part = snap.topic("state").partitions[0]
    c = part.compaction
    assert c is not None and c.state == "idle" and c.passes >= 2
    assert c.clean_offset == active_base == c.dirty_end_offset and c.dirty_ratio == 0.0
    assert c.bytes_read > c.bytes_written > 0 and c.last_run_ms > 0
    got = consume(bs, "state", len(items))
    latest = {}
    for off, key, value in sent:
        latest[key] = (off, key, value)
    expected = sorted(r for r in latest.values() if r[2] is not None or r[0] >= active_base)
    assert got == expected
    offsets = [o for o, _k, _v in got]
    assert offsets == sorted(offsets) and len(offsets) < len(items)  # gaps
    assert all(k not in (b"k3", b"k4") for _o, k, _v in got)
    client = AdminClient({"bootstrap.servers": bs})
    tp = TopicPartition("state", 0)
    assert client.list_offsets({tp: OffsetSpec.earliest()})[tp].result(timeout=15).offset == 0
    assert client.list_offsets({tp: OffsetSpec.latest()})[tp].result(timeout=15).offset == len(items)
    # A consumer starting inside a gap gets the next record that exists.
    first_gap = next(o for o in range(len(items)) if o not in set(offsets))
    consumer = Consumer({"bootstrap.servers": bs, "group.id": "gap", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition("state", 0, first_gap)])
        msg = None
        deadline = time.monotonic() + WAIT_S
        while msg is None and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
        assert msg is not None and not msg.error()
        assert msg.offset() == min(o for o in offsets if o > first_gap)
    finally:
        consumer.close()


def test_delete_records_refused_on_a_compact_only_topic(broker: BrokerThread) -> None:
    bs = broker.bootstrap
    create(bs, "nodelete", COMPACT)
    produce(bs, "nodelete", [(b"k", b"v")] * 3)
    client = AdminClient({"bootstrap.servers": bs})
    tp = TopicPartition("nodelete", 0, 2)
    with pytest.raises(KafkaException) as err:
        client.delete_records([tp])[tp].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.POLICY_VIOLATION
    assert broker.call(lambda: log_of(broker, "nodelete").log_start_offset) == 0


def test_keyless_record_refused_with_invalid_record(broker: BrokerThread) -> None:
    bs = broker.bootstrap
    create(bs, "keyed", COMPACT)
    producer = Producer({"bootstrap.servers": bs, "linger.ms": 0})
    errors = []
    producer.produce("keyed", value=b"no key", partition=0,
                     on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(15) == 0
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].code() == KafkaError.INVALID_RECORD
    assert broker.call(lambda: log_of(broker, "keyed").log_end_offset) == 0
    # Keyed records still go in.
    assert produce(bs, "keyed", [(b"k", b"v")])[0][0] == 0


@pytest.mark.parametrize("how", ["incremental", "alter"])
def test_switching_delete_to_compact_cleans_the_topic(broker: BrokerThread, how: str) -> None:
    bs = broker.bootstrap
    create(bs, "switch", {"segment.bytes": "2048"})
    items = [(f"k{i % 3}".encode(), f"v{i}".encode() * 8) for i in range(200)]
    sent = produce(bs, "switch", items)
    plog = log_of(broker, "switch")
    assert broker.call(lambda: plog.cleaner.passes) == 0
    client = AdminClient({"bootstrap.servers": bs})
    if how == "incremental":
        change = ConfigResource(ResourceType.TOPIC, "switch", incremental_configs=[
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("min.cleanable.dirty.ratio", "0.01",
                        incremental_operation=AlterConfigOpType.SET),
        ])
        client.incremental_alter_configs([change])[change].result(timeout=15)
        policy = "compact"
    else:  # AlterConfigs replaces the overrides: segment.bytes is given again
        change = ConfigResource(ResourceType.TOPIC, "switch", set_config={
            "cleanup.policy": "compact,delete", "min.cleanable.dirty.ratio": "0.01",
            "segment.bytes": "2048"})
        client.alter_configs([change])[change].result(timeout=15)
        policy = "compact,delete"
    described = client.describe_configs([ConfigResource(ResourceType.TOPIC, "switch")])
    values = next(iter(described.values())).result(timeout=15)
    assert values["cleanup.policy"].value == policy
    wait_for(broker, lambda: plog.cleaner.passes >= 1, "a cleaner pass")
    active_base = broker.call(lambda: plog.segments()[-1].base_offset)
    got = consume(bs, "switch", len(items))
    cleaned = [r for r in got if r[0] < active_base]
    assert len({k for _o, k, _v in cleaned}) == len(cleaned) <= 3
    assert [r for r in got if r[0] >= active_base] == [r for r in sent if r[0] >= active_base]


def _answer(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    return exactly(struct.unpack(">i", exactly(4))[0])


@pytest.mark.parametrize("version", [7, 9])
def test_keyless_answer_by_produce_version(broker: BrokerThread, version: int) -> None:
    """v8+ names each keyless record (INVALID_RECORD, record_errors); v3-7 get
    CORRUPT_MESSAGE. A compressed batch is looked into too; nothing is appended."""
    create(broker.bootstrap, "raw", COMPACT)
    batch = build_batch([(b"k", b"1"), (None, b"2"), (b"k", b"3"), (None, b"4")],
                        compression=Compression.GZIP)
    body = {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
        {"name": "raw", "partition_data": [{"index": 0, "records": batch}]}]}
    host, port = broker.bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(encode_request(0, version, 5, "raw", body, size_prefix=True))
        _cid, answer = decode_response(0, version, _answer(sock))
    part = answer["responses"][0]["partition_responses"][0]
    assert part["base_offset"] == -1
    if version >= 8:
        assert part["error_code"] == KafkaError.INVALID_RECORD
        assert [e["batch_index"] for e in part["record_errors"]] == [1, 3]
        assert "without key" in part["error_message"]
    else:
        assert part["error_code"] == 2  # CORRUPT_MESSAGE
    assert broker.call(lambda: log_of(broker, "raw").log_end_offset) == 0


def test_idempotent_producer_batches_emptied_by_cleaning_are_read_past(
        broker: BrokerThread) -> None:
    """An idempotent producer's last batch in the cleaned part stays as an empty batch
    (its sequence state); confluent-kafka and kafka-python both read past it."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTopicPartition

    bs = broker.bootstrap
    create(bs, "idem", COMPACT)
    producer = Producer({"bootstrap.servers": bs, "enable.idempotence": True,
                         "linger.ms": 0})
    for i in range(200):
        producer.produce("idem", key=b"same", value=f"v{i}".encode() * 20, partition=0)
        if i % 10 == 9:
            assert producer.flush(15) == 0
    # A second producer overwrites the key (so the first one's last batch empties) and
    # rolls the log past it with other keys.
    produce(bs, "idem", [(b"same", b"final")]
            + [(f"o{i}".encode(), os.urandom(200)) for i in range(40)])
    plog = log_of(broker, "idem")
    def emptied() -> list:
        return [h for seg in plog.segments()[:-1] for _p, h in seg.headers_from(0)
                if h[12] == 0]

    # The producer's last batch, emptied by a pass that mapped "final", is kept.
    wait_for(broker, lambda: bool(emptied()), "the producer's last batch to empty")
    kept = broker.call(emptied)
    assert len(kept) == 1 and kept[0][9] >= 0  # only its last batch, with its producer id
    end = broker.call(lambda: plog.log_end_offset)
    got = consume(bs, "idem", end)
    assert got[-1][0] == end - 1
    keys = [k for _o, k, _v in got]
    assert len(set(keys)) == len(keys)  # one record per key left
    consumer = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, group_id=None)
    kp: list = []
    try:
        tp = KTopicPartition("idem", 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + WAIT_S
        while (not kp or kp[-1][0] < end - 1) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                kp += [(m.offset, m.key, m.value) for m in batch]
    finally:
        consumer.close()
    assert kp == got
