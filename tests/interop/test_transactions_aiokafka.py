"""Transactions with aiokafka 0.14 (its own protocol code, asyncio): committed records reach
a read_committed consumer, aborted ones only a read_uncommitted one, and offsets sent in a
transaction reach the group on commit only."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.timeout(90)


async def create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def read_to_end(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level=isolation)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    values: list[bytes] = []
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        async with asyncio.timeout(30):  # only reached by a hang
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                values.extend(r.value for r in batch.get(tp, []))
    finally:
        await consumer.stop()
    return values


async def test_commit_abort_and_offsets_in_a_transaction(broker):
    bootstrap = broker.bootstrap
    await create_topic(bootstrap, "aio-tx")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id="aio-tx-id")
    await producer.start()
    groups = broker.node.groups
    try:
        async with producer.transaction():
            await producer.send_and_wait("aio-tx", b"kept")
        await producer.begin_transaction()
        await producer.send_and_wait("aio-tx", b"dropped")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait("aio-tx", b"kept too")
            await producer.send_offsets_to_transaction({TopicPartition("aio-tx", 0): 2},
                                                       "aio-group")
            pending = broker.call(groups.fetch_offsets, "aio-group", [("aio-tx", 0)])
            assert pending == {("aio-tx", 0): None}
    finally:
        await producer.stop()
    committed = broker.call(groups.fetch_offsets, "aio-group", [("aio-tx", 0)])[("aio-tx", 0)]
    assert committed is not None and committed.offset == 2
    assert await read_to_end(bootstrap, "aio-tx", "read_committed") == [b"kept", b"kept too"]
    assert await read_to_end(bootstrap, "aio-tx", "read_uncommitted") == [
        b"kept", b"dropped", b"kept too"]
