"""Helpers shared by the external-cluster tests (admin, browse, poller, clone): small real
confluent-kafka clients (a reader with assign, a group member). The ``cluster`` fixture
(the embedded broker or Tansu) is in conftest.py."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, TopicPartition


def read_all(bootstrap: str, topic: str, partition: int, start: int, count: int,
             timeout_s: float = 15.0) -> list:
    """``count`` messages of one partition from ``start`` (assign, no group commit)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader",
                  "enable.auto.commit": False, "isolation.level": "read_uncommitted",
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, partition, start)])
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count:
            assert time.monotonic() < deadline, f"read {len(out)} of {count}"
            m = c.poll(0.2)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            assert m.error() is None, m.error()
            out.append(m)
        return out
    finally:
        c.close()


def join_group(bootstrap: str, group: str, topic: str, *, short: bool) -> Consumer:
    """A subscribed member of ``group`` that owns partitions of ``topic``. ``short``: a
    6 s rebalance bound (Tansu holds a JoinGroup for most of it)."""
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "client.id": f"{group}-client"}
    if short:
        conf |= {"session.timeout.ms": 6000, "max.poll.interval.ms": 6000}
    c = Consumer(conf)
    c.subscribe([topic])
    deadline = time.monotonic() + 30
    while not c.assignment():
        assert time.monotonic() < deadline, f"{group} got no assignment"
        c.poll(0.2)
    return c
