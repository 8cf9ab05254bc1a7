"""Monitor events name their topic and group as fields, from the broker's own event data.

A real node (broker and group coordinator) does what an administrator does: creates a
topic, deletes records, adds partitions, changes configs, resets a group's offsets and
deletes the group and the topic; an in-process consumer joins a group. Each event of the
observer's snapshot carries ``topic`` and ``group`` as the broker passed them, whatever the
names look like (dashes and digits in a topic name, spaces and the words of a message in a
group id), and an event about neither carries neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamscope.core.clients import Producer
from streamscope.core.config import BrokerConfig
from streamscope.core.groups import OffsetSpec
from streamscope.core.monitor import EventSnapshot
from streamscope.core.node import Node

from tests.core.helpers import consumer, wait_until

# A topic whose name ends like "<topic>-<partition>", and a group id with the words of
# the offsets-reset message in it: a message parser would misread both.
TOPIC = "orders-eu-1"
GROUP = "billing offsets on orders reset"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node(BrokerConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path / "data",
        group_initial_rebalance_delay_ms=50, group_min_session_timeout_ms=100,
    ), serve=False).start()
    try:
        yield n
    finally:
        await n.close()


def one(events: tuple[EventSnapshot, ...], kind: str) -> EventSnapshot:
    (found,) = [e for e in events if e.kind == kind]
    return found


async def test_admin_events_carry_the_topic_and_group_they_are_about(node):
    broker = node.broker
    observer = node.observer()
    broker.create_topic("orders", 1)
    broker.create_topic(TOPIC, 2)
    producer = Producer(broker, linger_ms=0)
    for i in range(5):
        await producer.send(TOPIC, b"%d" % i, partition=1)
    await producer.flush()
    await producer.close()

    assert broker.delete_records(TOPIC, 1, 3) == 3
    broker.add_partitions(TOPIC, 4)
    broker.alter_topic_configs(TOPIC, {"retention.ms": "60000"}, incremental=True)
    await node.groups.reset_offsets(GROUP, TOPIC, OffsetSpec("earliest"))
    assert await node.groups.delete_groups([GROUP]) == {GROUP: 0}
    broker.delete_topic(TOPIC)

    events = observer.snapshot().events
    subjects = {
        kind: (one(events, kind).topic, one(events, kind).group)
        for kind in ("partitions_added", "records_deleted", "topic_configs_changed",
                     "offsets_reset", "group_deleted", "topic_deleted")
    }
    assert subjects == {
        "partitions_added": (TOPIC, None),
        "records_deleted": (TOPIC, None),
        "topic_configs_changed": (TOPIC, None),
        "offsets_reset": (TOPIC, GROUP),
        "group_deleted": (None, GROUP),
        "topic_deleted": (TOPIC, None),
    }
    created = [(e.topic, e.group) for e in events if e.kind == "topic_created"]
    assert created == [("orders", None), (TOPIC, None)]
    # The messages still say it in words, for the event log.
    assert one(events, "records_deleted").message == f"{TOPIC}-1 log start moved to 3"


async def test_group_events_carry_their_group_and_no_topic(node):
    broker = node.broker
    observer = node.observer()
    broker.create_topic("t", 1)
    c = consumer(broker, GROUP, "reader-1")
    await c.start()
    try:
        await wait_until(lambda: c.assignment() == {("t", 0)}, what="assignment")
    finally:
        await c.close()
    events = observer.snapshot().events
    kinds = ("member_joined", "rebalance_started", "rebalance_completed", "member_left")
    about_group = [e for e in events if e.kind in kinds]
    assert {e.kind for e in about_group} == set(kinds)
    assert {(e.topic, e.group) for e in about_group} == {(None, GROUP)}
