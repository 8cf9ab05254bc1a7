"""Lesson 8's engine: Produce answers dropped on purpose, and what a real client's retries do.

A real confluent-kafka producer talks to a real serving node; the log is read back by a
real confluent-kafka consumer and every update decoded and counted by (partner, seq).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Message, Producer
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node
from streamscope.core.sim.faults import AckDropResult, run_ack_drop

from tests.kafka_clients import topic_partitions


async def _two_acks_dropped(node: Node, *, idempotent: bool, topic: str) -> AckDropResult:
    """200 records produced while the broker drops two Produce responses; the producer's
    retries deliver every one of them in the end."""
    result = await run_ack_drop(node.bootstrap, faults=node.faults, idempotent=idempotent,
                                topic=topic, records=200, drops=2)
    print(f"\n{result}")
    assert result.dropped == 2
    assert (result.delivered, result.failed, result.missing) == (200, 0, 0)
    return result


async def test_dropped_acks_without_idempotence_leave_duplicates(node: Node) -> None:
    result = await _two_acks_dropped(node, idempotent=False, topic="plain")
    assert result.unique == 200
    assert result.duplicates > 0
    assert result.in_log == 200 + result.duplicates
    assert node.faults.pending == 0


async def test_dropped_acks_with_idempotence_leave_every_record_once(node: Node) -> None:
    result = await _two_acks_dropped(node, idempotent=True, topic="idempotent")
    assert (result.in_log, result.unique, result.duplicates) == (200, 200, 0)


async def test_runs_after_a_dropped_ack_count_only_their_own_records(node: Node) -> None:
    first = await run_ack_drop(node.bootstrap, faults=node.faults, idempotent=True,
                               topic="again", records=60, drops=1)
    second = await run_ack_drop(node.bootstrap, faults=node.faults, idempotent=True,
                                topic="again", records=60, drops=1)
    assert (first.in_log, first.duplicates) == (second.in_log, second.duplicates) == (60, 0)
    assert node.faults.dropped == 2


def _send(producer: Producer, topic: str, value: bytes) -> list[KafkaError | None]:
    reports: list[KafkaError | None] = []

    def report(err: KafkaError | None, _msg: Message) -> None:
        reports.append(err)

    producer.produce(topic, value, on_delivery=report)
    assert producer.flush(20) == 0
    return reports


async def test_broker_goes_on_serving_other_connections_while_answers_are_dropped(
    node: Node,
) -> None:
    bystander = Producer({"bootstrap.servers": node.bootstrap, "linger.ms": 1})
    victim = Producer({"bootstrap.servers": node.bootstrap, "linger.ms": 1,
                       "retry.backoff.ms": 50, "logger": logging.getLogger(__name__)})
    assert await asyncio.to_thread(_send, bystander, "t", b"before") == [None]
    node.faults.drop_produce_responses(1)
    # Requests other than Produce, on another connection, are answered as usual.
    assert await asyncio.to_thread(topic_partitions, node.bootstrap, "t") == 1
    assert node.faults.pending == 1
    # The victim's first answer is lost and its connection closed; it retries and is
    # acknowledged on a new connection.
    assert await asyncio.to_thread(_send, victim, "t", b"victim") == [None]
    assert (node.faults.pending, node.faults.dropped) == (0, 1)
    # The bystander's connection was never touched and still works.
    assert await asyncio.to_thread(_send, bystander, "t", b"after") == [None]
    hw = node.broker.partition_offsets("t", 0)[1]
    assert hw == 4  # before, victim twice (a producer without idempotence), after
    await asyncio.to_thread(bystander.flush, 1)
    await asyncio.to_thread(victim.flush, 1)


async def test_faults_need_a_serving_node(tmp_path: Path) -> None:
    n = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d"),
                   serve=False).start()
    try:
        with pytest.raises(RuntimeError):
            n.faults.drop_produce_responses(1)
        assert (n.faults.pending, n.faults.dropped) == (0, 0)
    finally:
        await n.close()
