"""aiokafka against the embedded broker: producer (plain and idempotent), an assign()-ing
consumer, and its admin client creating and listing topics."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

N_MESSAGES = 2_000
PARTITIONS = 3
BASE_TS = 1_700_000_000_000

pytestmark = pytest.mark.timeout(120)


async def test_admin_client_creates_and_lists_topics(broker):
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("aio-admin", num_partitions=2, replication_factor=1)])
        assert "aio-admin" in await admin.list_topics()
        await admin.delete_topics(["aio-admin"])
        assert "aio-admin" not in await admin.list_topics()
    finally:
        await admin.close()
    assert broker.call(lambda: sorted(broker.broker.topics)) == []


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
async def test_produce_and_assign_consume_round_trip(broker, idempotent):
    topic = f"aio-rt-{'idem' if idempotent else 'plain'}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=10,
                                enable_idempotence=idempotent, request_timeout_ms=10_000)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=f"key-{i % 13}".encode(), value=f"value-{i}".encode(),
                                headers=[("seq", str(i).encode())], timestamp_ms=BASE_TS + i)
            for i in range(N_MESSAGES)
        ]
        metadata = await asyncio.wait_for(asyncio.gather(*futures), 30)
    finally:
        await producer.stop()
    assert all(m.offset >= 0 for m in metadata)

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    received = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()

        async def drain() -> None:
            while len(received) < N_MESSAGES:
                for records in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
                    received.extend(records)

        await asyncio.wait_for(drain(), 60)
    finally:
        await consumer.stop()

    assert len(received) == N_MESSAGES
    by_partition: dict[int, list] = {}
    for r in received:
        i = int(r.value.decode().split("-")[1])
        assert r.key == f"key-{i % 13}".encode()
        assert list(r.headers) == [("seq", str(i).encode())]
        assert r.timestamp == BASE_TS + i
        by_partition.setdefault(r.partition, []).append((r.offset, i))
    assert len(by_partition) == PARTITIONS
    for entries in by_partition.values():
        assert [o for o, _ in entries] == list(range(len(entries)))
        assert [i for _, i in entries] == sorted(i for _, i in entries)
    if idempotent:
        producer_ids = broker.call(lambda: {
            pid for p in broker.broker.topics[topic].partitions for pid in p.producers})
        assert len(producer_ids) == 1
