"""A broker restarted on the same data dir loses nothing: a real client produces, the broker
stops and starts again, and a real client reads back exactly what was acknowledged, at the
same offsets; new records continue after them."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.interop.conftest import restart_broker

PARTITIONS = 3
N_MESSAGES = 3_000


def produce(bootstrap: str, topic: str, values: list[str]) -> list[tuple[int, int, bytes, bytes]]:
    acked: list[tuple[int, int, bytes, bytes]] = []
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10, "acks": "all",
                         "partitioner": "murmur2_random"})
    for i, value in enumerate(values):
        producer.produce(topic, key=f"k{i % 17}".encode(), value=value.encode(), on_delivery=report)
    assert producer.flush(30) == 0
    assert errors == []
    return acked


def consume(bootstrap: str, topic: str, expected: int) -> list[tuple[int, int, bytes, bytes]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "restart-check",
                         "enable.auto.commit": False})
    out: list[tuple[int, int, bytes, bytes]] = []
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + 60
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                if msg.error():
                    raise KafkaException(msg.error())
                out.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def test_restart_keeps_every_acknowledged_record_at_its_offset(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("durable", PARTITIONS, 1)])["durable"].result(timeout=15)
    before = produce(broker.bootstrap, "durable", [f"before-{i}" for i in range(N_MESSAGES)])
    ends = broker.call(lambda: [p.log.log_end_offset
                                for p in broker.broker.topics["durable"].partitions])
    topic_id = broker.call(lambda: broker.broker.topics["durable"].topic_id)

    restarted = restart_broker(broker)
    try:
        assert restarted.call(lambda: [p.log.log_end_offset
                                       for p in restarted.broker.topics["durable"].partitions]) == ends
        assert restarted.call(lambda: restarted.broker.topics["durable"].topic_id) == topic_id
        after_restart = consume(restarted.bootstrap, "durable", N_MESSAGES)
        assert sorted(after_restart) == sorted(before)

        more = produce(restarted.bootstrap, "durable", [f"after-{i}" for i in range(30)])
        for partition, offset, _key, _value in more:
            assert offset >= ends[partition], "offsets continue after the restart"
        everything = consume(restarted.bootstrap, "durable", N_MESSAGES + 30)
        assert sorted(everything) == sorted(before + more)
    finally:
        restarted.stop()
