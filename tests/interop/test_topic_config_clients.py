"""Topic and broker configs with real clients: confluent-kafka (librdkafka 2.x) and
kafka-python's admin over 127.0.0.1 against the embedded broker.

AdminClient creates a topic with many of Kafka's topic configs, describes them (types,
documentation), alters them on the topic and on the broker (cluster-wide and per
broker); producers write to topics whose ``compression.type`` names a codec and to a
LogAppendTime topic, and a consumer reads the records back: the stored batches are in
the topic's codec and stamped with the append time.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
    ResourceType,
)
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource as KafkaConfigResource
from streamscope.core.records import Compression, iter_batches, iter_records

BASE_TS = 1_700_000_000_000


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create(client: AdminClient, name: str, config: dict[str, str]) -> None:
    client.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(timeout=15)


def consume(bootstrap: str, topic: str, expected: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                         "enable.auto.commit": False})
    messages = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30  # only a hang reaches it
        while len(messages) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error():
                    raise KafkaException(msg.error())
                messages.append(msg)
    finally:
        consumer.close()
    return messages


def stored_batches(bt, topic: str) -> list:
    """(header, records) of every stored batch of ``topic``-0."""
    def read():
        data = bt.broker.topics[topic].partitions[0].log.read(0, 1 << 30)
        return [(h, list(iter_records(view))) for h, view in iter_batches(data)]
    return bt.call(read)


def produce(bootstrap: str, topic: str, n: int, **settings) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **settings})
    failures = []
    for i in range(n):
        producer.produce(topic, key=f"k{i}".encode(), value=f"value-{i}".encode() * 20,
                         partition=0, timestamp=BASE_TS + i,
                         on_delivery=lambda err, msg: err and failures.append(err))
    assert producer.flush(15) == 0
    assert failures == []


@pytest.mark.parametrize(("topic_codec", "producer_codec"), [
    ("zstd", "gzip"), ("lz4", "none"), ("uncompressed", "snappy"), ("snappy", "lz4"),
    ("gzip", "gzip"),
])
def test_the_broker_recompresses_into_the_topics_codec(broker, topic_codec, producer_codec):
    topic = f"codec-{topic_codec}-{producer_codec}"
    client = admin(broker.bootstrap)
    create(client, topic, {"compression.type": topic_codec})
    # Idempotent: the rewritten batches keep producer id and sequences.
    produce(broker.bootstrap, topic, 300, **{"compression.type": producer_codec,
                                             "enable.idempotence": True})
    messages = consume(broker.bootstrap, topic, 300)
    assert [m.value() for m in messages] == [f"value-{i}".encode() * 20 for i in range(300)]
    assert [m.timestamp()[1] for m in messages] == [BASE_TS + i for i in range(300)]
    batches = stored_batches(broker, topic)
    want = Compression.NONE if topic_codec == "uncompressed" else Compression[topic_codec.upper()]
    assert {h.compression for h, _ in batches} == {want}
    assert all(h.producer_id >= 0 for h, _ in batches)
    sequences = [h.base_sequence for h, _ in batches]
    assert sequences[0] == 0 and sequences == sorted(sequences)
    assert sum(len(r) for _, r in batches) == 300


def test_log_append_time_topics_are_stamped_by_the_broker(broker):
    client = admin(broker.bootstrap)
    create(client, "stamped", {"message.timestamp.type": "LogAppendTime",
                               "compression.type": "lz4"})
    before = int(time.time() * 1000)
    produce(broker.bootstrap, "stamped", 50, **{"compression.type": "gzip"})
    after = int(time.time() * 1000)
    messages = consume(broker.bootstrap, "stamped", 50)
    assert len(messages) == 50
    for m in messages:
        kind, ts = m.timestamp()
        assert kind == TIMESTAMP_LOG_APPEND_TIME
        assert before <= ts <= after  # the broker's clock, not the producer's BASE_TS
    for h, records in stored_batches(broker, "stamped"):
        assert h.attributes & 0x08 and h.compression == Compression.LZ4
        assert before <= h.max_timestamp <= after
        assert {r.timestamp for r in records} == {h.max_timestamp}
    # ListOffsets by timestamp goes by the append time too (by CreateTime these would be
    # 25, -1, -1).
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "times"})
    try:
        found = [consumer.offsets_for_times([TopicPartition("stamped", 0, ts)],
                                            timeout=15)[0].offset
                 for ts in (BASE_TS + 25, before, after + 1)]
    finally:
        consumer.close()
    assert found == [0, 0, -1]
    # A CreateTime topic keeps the producer's timestamps.
    create(client, "created", {})
    produce(broker.bootstrap, "created", 5)
    assert [m.timestamp()[1] for m in consume(broker.bootstrap, "created", 5)] == [
        BASE_TS + i for i in range(5)]


def test_admin_client_creates_describes_and_alters_many_configs(broker):
    client = admin(broker.bootstrap)
    configs = {"delete.retention.ms": "1000", "flush.ms": "500",
               "message.format.version": "2.8", "min.cleanable.dirty.ratio": "0.3",
               "preallocate": "true", "segment.jitter.ms": "5", "retention.ms": "600000",
               "compression.type": "zstd", "message.timestamp.type": "LogAppendTime"}
    create(client, "many", configs)
    resource = ConfigResource(ResourceType.TOPIC, "many")
    described = client.describe_configs([resource])[resource].result(timeout=15)
    for name, value in configs.items():
        assert described[name].value == value
        assert described[name].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert described["unclean.leader.election.enable"].source == ConfigSource.DEFAULT_CONFIG.value

    bad = client.create_topics([NewTopic("bad", 1, 1, config={"flush.ms": "never"})])
    with pytest.raises(KafkaException) as err:
        bad["bad"].result(timeout=15)
    assert "Not a number of type LONG" in str(err.value)

    # Cluster-wide and per-broker dynamic defaults, seen by topics without overrides.
    # Neither librdkafka nor kafka-python names the cluster-wide default resource ("";
    # kafka-configs.sh --entity-default does, tests/core/test_topic_configs.py sends it
    # on the wire): set it on the broker, describe it through the client.
    broker.call(broker.broker.alter_broker_configs, "", {"log.retention.ms": "120000"})
    node = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[
        ConfigEntry("log.segment.bytes", "300000", incremental_operation=AlterConfigOpType.SET)])
    client.incremental_alter_configs([node])[node].result(timeout=15)
    create(client, "plain", {})
    plain = ConfigResource(ResourceType.TOPIC, "plain")
    described = client.describe_configs([plain])[plain].result(timeout=15)
    assert described["retention.ms"].value == "120000"
    assert described["retention.ms"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    assert described["segment.bytes"].value == "300000"
    assert described["segment.bytes"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    assert broker.call(lambda: broker.broker.topics["plain"].log_config.retention_ms) == 120000
    node_view = ConfigResource(ResourceType.BROKER, "0")
    described = client.describe_configs([node_view])[node_view].result(timeout=15)
    assert described["log.segment.bytes"].value == "300000"
    assert not described["log.segment.bytes"].is_read_only
    assert described["num.partitions"].is_read_only

    refused = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[
        ConfigEntry("num.partitions", "4", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as err:
        client.incremental_alter_configs([refused])[refused].result(timeout=15)
    assert "Cannot update these configs dynamically" in str(err.value)


def test_describe_topics_and_cluster_report_authorized_operations(broker):
    client = admin(broker.bootstrap)
    create(client, "ops", {})
    topics = client.describe_topics(TopicCollection(["ops"]),
                                    include_authorized_operations=True)
    described = topics["ops"].result(timeout=15)
    assert {op.name for op in described.authorized_operations} == {
        "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS"}
    plain = client.describe_topics(TopicCollection(["ops"]))["ops"].result(timeout=15)
    assert not plain.authorized_operations
    cluster = client.describe_cluster(include_authorized_operations=True).result(timeout=15)
    assert {op.name for op in cluster.authorized_operations} == {
        "CREATE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE"}


def test_kafka_python_alters_and_describes_a_dynamic_broker_config(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        assert client.alter_configs([KafkaConfigResource(
            "BROKER", "0", configs={"log.retention.bytes": "123456"})]) == {
                "broker": {"0": "OK"}}
        described = client.describe_configs(
            [KafkaConfigResource("BROKER", "0", configs=["log.retention.bytes"])],
            include_synonyms=True)
    finally:
        client.close()
    entry = described["broker"]["0"]["log.retention.bytes"]
    assert (entry["value"], entry["config_source"], entry["read_only"]) == (
        "123456", "DYNAMIC_BROKER_CONFIG", False)
    assert [s["source"] for s in entry["synonyms"]] == [
        "DYNAMIC_BROKER_CONFIG", "STATIC_BROKER_CONFIG"]
    assert broker.call(lambda: broker.broker.config.log.retention_bytes) == 123456
