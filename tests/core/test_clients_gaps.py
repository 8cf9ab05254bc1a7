"""The in-process consumer reads across offsets that hold no record: a compacted log's
gaps and transaction markers (issue 14). Its first record after such a gap lies past its
position; it must hand it out and move on, not wait for a record at the position forever.

Real confluent-kafka producers write the logs over a real socket; the real cleaner
compacts; the in-process consumer (core/clients) reads in a group.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from streamscope.core.clients import Consumer
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node

from tests.core.helpers import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                cleaner_interval_ms=50)).start()
    try:
        yield n
    finally:
        await n.close()


async def read_all(node: Node, topic: str, group: str, want: int) -> list[int]:
    consumer = Consumer(node.broker, group, [topic], auto_offset_reset="earliest")
    got: list[int] = []
    try:
        await consumer.start()

        async def enough() -> bool:
            for records in (await consumer.getmany(200)).values():
                got.extend(r.offset for r in records)
            return len(got) >= want

        for _ in range(200):
            if await enough():
                break
    finally:
        await consumer.close()
    return got


async def test_a_compacted_log_is_read_across_its_gaps(node: Node) -> None:
    node.broker.create_topic("latest", 1, {"cleanup.policy": "compact", "segment.bytes": "2048",
                                           "min.cleanable.dirty.ratio": "0.01"})

    def produce() -> None:
        p = Producer({"bootstrap.servers": node.bootstrap, "linger.ms": 0})
        for i in range(300):
            p.produce("latest", b"value-%03d" % i, b"key-%d" % (i % 4))
            p.flush(10)  # a batch per record: the 2 KiB segments roll every few dozen

    await asyncio.to_thread(produce)
    log = node.broker.partition("latest", 0).log
    await wait_until(lambda: (c := log.compaction()) is not None and c.clean_offset > 100)
    got = await read_all(node, "latest", "g-compacted", 4)
    assert got[0] > 0  # the log starts with a gap: offset 0 was compacted away
    assert got == sorted(got) and len(set(got)) == len(got)
    assert got[-1] == 299  # read to the end, past every gap


async def test_records_after_a_transaction_marker_are_read(node: Node) -> None:
    node.broker.create_topic("txns", 1)

    def produce() -> None:
        p = Producer({"bootstrap.servers": node.bootstrap, "transactional.id": "t-1"})
        p.init_transactions(10)
        for batch in range(3):
            p.begin_transaction()
            for i in range(5):
                p.produce("txns", b"%d-%d" % (batch, i), b"k")
            p.commit_transaction(10)

    await asyncio.to_thread(produce)
    # 3 x (5 records + 1 COMMIT marker): records at 0-4, 6-10, 12-16.
    got = await read_all(node, "txns", "g-txns", 15)
    assert got == [*range(0, 5), *range(6, 11), *range(12, 17)]
