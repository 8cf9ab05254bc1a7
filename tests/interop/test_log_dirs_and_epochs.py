"""DescribeLogDirs (35) and OffsetForLeaderEpoch (23) with real clients over 127.0.0.1:
kafka-python's admin describe_log_dirs; librdkafka (confluent-kafka) validating a
position that carries a leader epoch."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient


def create(bootstrap: str, name: str, partitions: int) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})  # alive until the result is in
    client.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)


def test_kafka_python_describes_the_data_dir_and_partition_sizes(broker):
    create(broker.bootstrap, "dirs", 2)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(20):
        producer.produce("dirs", value=b"x" * 100, partition=i % 2)
    assert producer.flush(15) == 0
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        answer = admin.describe_log_dirs()
    finally:
        admin.close()
    sizes = broker.call(lambda: {p.index: p.log.size_bytes
                                 for p in broker.broker.topics["dirs"].partitions})
    assert all(size > 1000 for size in sizes.values())
    (node,) = answer
    (log_dir,) = node["log_dirs"]
    assert (node["broker"], log_dir["error_code"]) == (0, 0)
    assert log_dir["log_dir"] == str(broker.config.data_dir.absolute())
    (topic,) = log_dir["topics"]
    assert topic["name"] == "dirs"
    assert {p["partition_index"]: (p["partition_size"], p["offset_lag"], p["is_future_key"])
            for p in topic["partitions"]} == {i: (s, 0, False) for i, s in sizes.items()}
    # v4: the disk under the data dir.
    assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]


def test_librdkafka_validates_a_position_with_offset_for_leader_epoch(broker):
    create(broker.bootstrap, "epochs", 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        producer.produce("epochs", value=f"v{i}".encode(), partition=0)
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "epochs",
                         "enable.auto.commit": False})
    try:
        # A position with a leader epoch: librdkafka validates it (OffsetForLeaderEpoch)
        # before it fetches from there.
        consumer.assign([TopicPartition("epochs", 0, 4, leader_epoch=0)])
        got = []
        deadline = time.monotonic() + 30  # only a hang reaches it
        while len(got) < 6 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            got.append((msg.offset(), msg.value(), msg.leader_epoch()))
        asked = broker.call(lambda: sum(c.requests_by_api.get(23, 0)
                                        for c in broker.broker.connections.values()))
    finally:
        consumer.close()
    assert got == [(i, f"v{i}".encode(), 0) for i in range(4, 10)]
    assert asked >= 1
