"""Issue 10's typed seams and names, on a real node (core.node) with real in-process clients.

* The embedded observer is handed the group coordinator by the composition root
  (``Node.observer()``), beside the broker's read-only view; the broker does not hand it out.
* The in-process consumer joins, heartbeats and commits through the coordinator whoever
  builds it gives it (``groups=``, a :class:`core.groups.GroupCoordinator`; by default the
  node's, attached to its broker), and refuses, when built, a broker with no coordinator to
  default to.
* The ConsumerProtocol codec and the group-member decoders are named for what they are.
* The broker's running counters and the snapshot's frozen ones name the same fields.
"""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
from streamscope.core.broker import Broker, BrokerCounters
from streamscope.core.clients import Consumer
from streamscope.core.config import BrokerConfig
from streamscope.core.groups import GroupConfig, GroupCoordinator, GroupState
from streamscope.core.monitor import EmbeddedObserver
from streamscope.core.monitor.ports import BrokerView, CountersView, GroupsView
from streamscope.core.monitor.snapshot import Counters
from streamscope.core.node import Node

from tests.core.helpers import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def node(tmp_path):
    n = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                          group_initial_rebalance_delay_ms=0,
                          group_min_session_timeout_ms=100), serve=False)
    await n.start()
    try:
        yield n
    finally:
        await n.close()


def test_the_broker_view_carries_no_group_coordinator():
    assert "groups" not in {*vars(BrokerView), *BrokerView.__annotations__}


async def test_the_observer_shows_the_groups_of_the_coordinator_it_is_given(node):
    broker = node.broker
    broker.create_topic("t", 1)
    c = await Consumer(broker, "g", ["t"], client_id="c1", heartbeat_interval_ms=50,
                       session_timeout_ms=1000, groups=node.groups).start()
    try:
        observer = node.observer()
        await wait_until(lambda: observer.snapshot().group("g") is not None, what="group g")
        # The same broker without a coordinator handed in shows no groups: the observer
        # does not reach through the broker for one.
        assert EmbeddedObserver(broker, None).snapshot().groups == ()
        assert isinstance(broker, BrokerView) and isinstance(node.groups, GroupsView)
    finally:
        await c.close()


async def test_a_consumer_joins_and_commits_through_the_coordinator_it_is_given(node):
    broker = node.broker
    broker.create_topic("t", 1)
    # By default a consumer takes the node's coordinator, the one attached to its broker.
    assert Consumer(broker, "g", ["t"]).membership.coordinator is node.groups
    # Given another (a second coordinator over the same storage), it joins, heartbeats and
    # commits through that one alone: the node's never hears of the group.
    assert broker.meta is not None
    given = GroupCoordinator(broker, broker.meta, GroupConfig(initial_rebalance_delay_ms=0,
                                                              min_session_timeout_ms=100))
    await given.start()
    c = await Consumer(broker, "g", ["t"], client_id="c1", heartbeat_interval_ms=50,
                       session_timeout_ms=1000, auto_commit_interval_ms=50,
                       groups=given).start()
    try:
        assert c.membership.coordinator is given

        def stable_and_committed() -> bool:
            g = given.group_info("g")
            return (g is not None and g.state == GroupState.STABLE
                    and given.fetch_offsets("g", [("t", 0)])[("t", 0)] is not None)

        await wait_until(stable_and_committed, what="a stable group with a commit")
        (member,) = given.group_info("g").members
        assert member.member_id == c.membership.member_id
        assert node.groups.group_info("g") is None
    finally:
        await c.close()
        await given.close()
    assert given.group_info("g").members == ()  # it left through the given one too


async def test_a_consumer_of_a_broker_without_a_coordinator_is_refused_when_built(tmp_path):
    broker = Broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    await broker.start()  # storage alone: no coordinator attached
    try:
        with pytest.raises(TypeError, match="group coordinator"):
            Consumer(broker, "g", ["t"])
    finally:
        await broker.close()


@pytest.mark.parametrize(("gone", "now"), [
    ("streamscope.core.protocol.consumer", "streamscope.core.protocol.consumer_protocol"),
    ("streamscope.core.groups.consumer_data", "streamscope.core.groups.member_data"),
])
def test_the_consumer_protocol_modules_are_named_for_what_they_are(gone, now):
    assert importlib.util.find_spec(gone) is None
    assert importlib.util.find_spec(now) is not None


def test_broker_and_snapshot_counters_name_the_same_fields():
    broker_fields = [f.name for f in dataclasses.fields(BrokerCounters)]
    snapshot_fields = [f.name for f in dataclasses.fields(Counters)]
    view_fields = list(CountersView.__annotations__)
    assert broker_fields == snapshot_fields == view_fields


# -- issue 13: storage state, refused connections, users, the listener ----------------------


def test_the_partition_and_connection_views_name_the_fields_the_broker_has():
    from streamscope.core.monitor.ports import ConnectionView, PartitionView
    from streamscope.core.ports import ConnectionInfo
    from streamscope.core.topics import Partition

    partition_fields = {f.name for f in dataclasses.fields(Partition)}
    assert {"storage_error", "offline"} <= set(PartitionView.__annotations__)
    assert {"storage_error", "offline"} <= partition_fields
    assert "user" in ConnectionView.__annotations__
    assert "user" in {f.name for f in dataclasses.fields(ConnectionInfo)}


async def test_a_partitions_storage_state_reaches_the_snapshot_and_clears(node):
    broker = node.broker
    broker.create_topic("t", 2)
    observer = node.observer()
    first = observer.snapshot().topic("t")
    assert first is not None and first.storage_problems == ()
    p1 = broker.topics["t"].partitions[1]
    p1.storage_error = "fdatasync of t-1/00000000000000000000.log failed: [Errno 5] EIO"
    shown = observer.snapshot().topic("t")
    assert shown is not None
    assert shown.partitions[1].storage_error == p1.storage_error
    assert shown.partitions[1].storage_problem == f"disk error: {p1.storage_error}"
    assert [p.index for p in shown.storage_problems] == [1]
    assert shown.partitions[0] is first.partitions[0]  # an untouched partition is reused
    p1.storage_error = None
    broker.topics["t"].partitions[0].offline = "corrupt segment"
    later = observer.snapshot().topic("t")
    assert later is not None
    assert later.partitions[1].storage_problem is None
    assert later.partitions[0].storage_problem == "offline: corrupt segment"


async def test_the_snapshot_says_who_can_reach_the_listener_and_whether_they_log_in(tmp_path):
    config = BrokerConfig(host="0.0.0.0", port=0, data_dir=tmp_path / "data",
                          sasl_mechanisms=("SCRAM-SHA-256",))
    n = Node(config)
    await n.start()
    try:
        info = n.observer().snapshot().broker
        assert info.bind_host == "0.0.0.0"
        assert not info.loopback_only and info.exposed_host == "0.0.0.0"
        assert info.authenticated and info.sasl_mechanisms == ("SCRAM-SHA-256",)
    finally:
        await n.close()


async def test_a_loopback_listener_is_not_exposed(node):
    await node.serve()
    info = node.observer().snapshot().broker
    assert info.listening and info.bind_host == "127.0.0.1"
    assert info.loopback_only and info.exposed_host is None
    assert not info.authenticated
