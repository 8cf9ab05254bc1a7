"""confluent-kafka (librdkafka 2.x from the wheel) against the embedded broker.

Admin: create/delete topics, create partitions, describe and alter configs, list offsets,
delete records, describe cluster. Producer: acks 0/1/all, idempotence, each compression
codec, 10,000 keyed messages with headers and timestamps into 3 partitions; a Consumer
using assign() reads every one back, in order per partition, and keys land where Kafka's
default (murmur2) partitioner puts them (as core.clients.partitioner computes it).
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.records import Compression, parse_header

N_MESSAGES = 10_000
PARTITIONS = 3
BASE_TS = 1_700_000_000_000


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create_topic(bootstrap: str, name: str, partitions: int = PARTITIONS) -> None:
    client = admin(bootstrap)  # kept alive until the result is in (else it is destroyed)
    for future in client.create_topics(
            [NewTopic(name, partitions, 1)], operation_timeout=10).values():
        future.result(timeout=15)


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int,
                deadline_s: float = 60) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"assign-{topic}",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    messages = []
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + deadline_s
        while len(messages) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=2000, timeout=0.5):
                if msg.error():
                    raise KafkaException(msg.error())
                messages.append(msg)
    finally:
        consumer.close()
    return messages


PRODUCER_SETTINGS = {
    "acks0": {"acks": 0},
    "acks1": {"acks": 1},
    "acks_all": {"acks": "all"},
    "idempotent": {"enable.idempotence": True},
    "gzip": {"compression.type": "gzip"},
    "snappy": {"compression.type": "snappy"},
    "lz4": {"compression.type": "lz4"},
    "zstd": {"compression.type": "zstd"},
}


@pytest.mark.parametrize("setting", list(PRODUCER_SETTINGS))
def test_keyed_messages_round_trip_with_headers_timestamps_and_partitioning(broker, setting):
    topic = f"rt-{setting}"
    create_topic(broker.bootstrap, topic)
    producer = Producer({
        "bootstrap.servers": broker.bootstrap, "partitioner": "murmur2_random",
        "linger.ms": 20, "batch.num.messages": 5000, **PRODUCER_SETTINGS[setting]})
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(err)

    for i in range(N_MESSAGES):
        producer.produce(topic, key=f"key-{i % 97}".encode(), value=f"value-{i}".encode(),
                         headers=[("seq", str(i).encode()), ("kind", b"test")],
                         timestamp=BASE_TS + i, on_delivery=report)
        if i % 2000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []

    messages = consume_all(broker.bootstrap, topic, PARTITIONS, N_MESSAGES)
    assert len(messages) == N_MESSAGES
    seen: dict[int, list[tuple[int, int]]] = {p: [] for p in range(PARTITIONS)}
    for msg in messages:
        i = int(msg.headers()[0][1])
        assert msg.key() == f"key-{i % 97}".encode()
        assert msg.value() == f"value-{i}".encode()
        assert msg.headers() == [("seq", str(i).encode()), ("kind", b"test")]
        assert msg.timestamp() == (TIMESTAMP_CREATE_TIME, BASE_TS + i)
        # librdkafka's murmur2_random is Kafka's default partitioner; so is ours.
        assert msg.partition() == partition_for_key(msg.key(), PARTITIONS)
        seen[msg.partition()].append((msg.offset(), i))
    for part, entries in seen.items():
        assert entries, f"partition {part} got nothing"
        offsets = [o for o, _ in entries]
        assert offsets == list(range(len(entries))), "offsets are dense from 0"
        sequence = [i for _, i in entries]
        assert sequence == sorted(sequence), "produce order kept per partition"
    assert sorted(i for entries in seen.values() for _, i in entries) == list(range(N_MESSAGES))

    def stored_batch_facts():
        facts = []
        for p in broker.broker.topics[topic].partitions:
            data = p.log.read(0, 1 << 30)
            h = parse_header(data)
            facts.append((h.compression, h.producer_id, len(p.producers)))
        return facts

    facts = broker.call(stored_batch_facts)
    codec = PRODUCER_SETTINGS[setting].get("compression.type")
    if codec:
        assert {f[0] for f in facts} == {Compression[codec.upper()]}
    if setting == "idempotent":
        # InitProducerId gave out an id, and the broker tracks its sequences per partition.
        assert all(f[1] >= 0 and f[2] == 1 for f in facts)


def test_admin_client_manages_topics_configs_offsets_and_records(broker):
    client = admin(broker.bootstrap)
    futures = client.create_topics([
        NewTopic("admin-a", 3, 1, config={"retention.ms": "600000"}),
        NewTopic("admin-rf3", 1, 3),
    ], operation_timeout=10)
    assert futures["admin-a"].result(timeout=15) is None
    with pytest.raises(KafkaException) as excinfo:
        futures["admin-rf3"].result(timeout=15)
    assert excinfo.value.args[0].code() == KafkaError.INVALID_REPLICATION_FACTOR
    with pytest.raises(KafkaException) as excinfo:
        client.create_topics([NewTopic("admin-a", 1, 1)])["admin-a"].result(timeout=15)
    assert excinfo.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    metadata = client.list_topics(timeout=10)
    assert len(metadata.topics["admin-a"].partitions) == 3
    assert metadata.controller_id == 0 and list(metadata.brokers) == [0]

    client.create_partitions([NewPartitions("admin-a", 5)])["admin-a"].result(timeout=15)
    assert len(client.list_topics("admin-a", timeout=10).topics["admin-a"].partitions) == 5

    resource = ConfigResource(ResourceType.TOPIC, "admin-a")
    configs = client.describe_configs([resource])[resource].result(timeout=15)
    assert configs["retention.ms"].value == "600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    node = ConfigResource(ResourceType.BROKER, "0")
    broker_configs = client.describe_configs([node])[node].result(timeout=15)
    assert broker_configs["auto.create.topics.enable"].value == "true"
    assert broker_configs["num.partitions"].is_read_only

    change = ConfigResource(ResourceType.TOPIC, "admin-a", incremental_configs=[
        ConfigEntry("retention.ms", "900000", incremental_operation=AlterConfigOpType.SET)])
    client.incremental_alter_configs([change])[change].result(timeout=15)
    configs = client.describe_configs([resource])[resource].result(timeout=15)
    assert configs["retention.ms"].value == "900000"

    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(5):
        producer.produce("admin-a", value=b"v", partition=0, timestamp=BASE_TS + i * 100)
    assert producer.flush(15) == 0
    tp = TopicPartition("admin-a", 0)
    specs = {"earliest": OffsetSpec.earliest(), "latest": OffsetSpec.latest(),
             "max_ts": OffsetSpec.max_timestamp(), "by_time": OffsetSpec.for_timestamp(BASE_TS + 150)}
    answers = {name: client.list_offsets({tp: spec})[tp].result(timeout=15)
               for name, spec in specs.items()}
    assert answers["earliest"].offset == 0
    assert answers["latest"].offset == 5
    assert (answers["max_ts"].offset, answers["max_ts"].timestamp) == (4, BASE_TS + 400)
    assert answers["by_time"].offset == 2

    deleted = client.delete_records([TopicPartition("admin-a", 0, 3)])
    assert deleted[TopicPartition("admin-a", 0, 3)].result(timeout=15).low_watermark == 3
    assert client.list_offsets({tp: OffsetSpec.earliest()})[tp].result(timeout=15).offset == 3

    cluster = client.describe_cluster().result(timeout=15)
    assert cluster.cluster_id == broker.broker.cluster_id
    assert cluster.controller.id == 0 and [n.id for n in cluster.nodes] == [0]

    client.delete_topics(["admin-a"], operation_timeout=10)["admin-a"].result(timeout=15)
    assert "admin-a" not in client.list_topics(timeout=10).topics
    with pytest.raises(KafkaException) as excinfo:
        client.delete_topics(["admin-a"])["admin-a"].result(timeout=15)
    assert excinfo.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
