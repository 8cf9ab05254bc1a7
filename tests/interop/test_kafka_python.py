"""kafka-python 3 against the embedded broker: its default (idempotent) producer, an
assign()-ing consumer, and its admin client creating, listing and deleting topics."""

from __future__ import annotations

import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

N_MESSAGES = 2_000
PARTITIONS = 3
BASE_TS = 1_700_000_000_000


def test_admin_client_creates_lists_and_deletes_topics(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic("kp-admin", num_partitions=4, replication_factor=1,
                                      topic_configs={"retention.ms": "3600000"})])
        assert "kp-admin" in admin.list_topics()
        (described,) = admin.describe_topics(["kp-admin"])
        assert len(described["partitions"]) == 4
        assert broker.call(lambda: broker.broker.topics["kp-admin"].configs) == {
            "retention.ms": "3600000"}
        try:
            admin.create_topics([NewTopic("kp-admin", 1, 1)])
        except TopicAlreadyExistsError:
            pass
        else:
            raise AssertionError("a second create of the same topic must fail")
        admin.delete_topics(["kp-admin"])
        assert "kp-admin" not in admin.list_topics()
    finally:
        admin.close()


def test_default_idempotent_producer_and_assign_consumer_round_trip(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic("kp-rt", num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        admin.close()

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=10,
                             request_timeout_ms=10_000)
    try:
        futures = [
            producer.send("kp-rt", key=f"key-{i % 31}".encode(), value=f"value-{i}".encode(),
                          headers=[("seq", str(i).encode())], timestamp_ms=BASE_TS + i)
            for i in range(N_MESSAGES)
        ]
        producer.flush(timeout=30)
        metadata = [f.get(timeout=10) for f in futures]
    finally:
        producer.close(timeout=10)
    assert all(m.offset >= 0 for m in metadata)

    # The producer really was idempotent: the broker tracked its producer id's sequences.
    producer_ids = broker.call(lambda: {
        pid for p in broker.broker.topics["kp-rt"].partitions for pid in p.producers})
    assert len(producer_ids) == 1 and min(producer_ids) >= 0

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=1000)
    received = []
    try:
        parts = [TopicPartition("kp-rt", p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + 60
        while len(received) < N_MESSAGES and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=1000).values():
                received.extend(records)
    finally:
        consumer.close()

    assert len(received) == N_MESSAGES
    by_partition: dict[int, list] = {}
    for r in received:
        i = int(r.value.decode().split("-")[1])
        assert r.key == f"key-{i % 31}".encode()
        assert r.headers == [("seq", str(i).encode())]
        assert r.timestamp == BASE_TS + i
        by_partition.setdefault(r.partition, []).append((r.offset, i))
    for entries in by_partition.values():
        assert [o for o, _ in entries] == list(range(len(entries)))
        assert [i for _, i in entries] == sorted(i for _, i in entries)
    # The producer's own answers agree with where the consumer found each record.
    assert sorted((m.partition, m.offset) for m in metadata) == sorted(
        (r.partition, r.offset) for r in received)
