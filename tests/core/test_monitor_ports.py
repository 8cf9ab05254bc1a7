"""The embedded observer reads a broker through typed read-only views (core.monitor.ports).

The real Broker, running with a topic, a group, a socket connection, an in-process client
and events, is each view all the way down; and a broker lacking any attribute the observer
reads makes the snapshot fail with AttributeError instead of showing zeros.
"""

from __future__ import annotations

import socket
import time

import pytest
from streamscope.core.broker import Broker
from streamscope.core.clients import Consumer
from streamscope.core.config import BrokerConfig
from streamscope.core.monitor import EmbeddedObserver
from streamscope.core.monitor.ports import (
    BrokerConfigView,
    BrokerView,
    ConnectionView,
    CountersView,
    EventView,
    GroupsView,
    LocalClientView,
    LogConfigView,
    LogView,
    PartitionView,
    TopicView,
)
from streamscope.core.runtime import BrokerThread

BROKER_READS = ("config", "node_id", "cluster_id", "listener", "started_at", "counters",
                "topics", "connections", "local_clients", "events")
COUNTERS_READ = ("records_in", "bytes_in", "records_out", "bytes_out", "requests",
                 "connections_total", "errors", "connections_refused")


def public_members(protocol: type) -> set[str]:
    """A protocol's own members: properties and methods, and plain attribute annotations."""
    names = {*vars(protocol), *vars(protocol).get("__annotations__", {})}
    return {name for name in names if not name.startswith("_")}


@pytest.fixture
async def broker(tmp_path):
    b = Broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                            group_initial_rebalance_delay_ms=0))
    await b.start()
    try:
        yield b
    finally:
        await b.close()


class Without:
    """Forwards every attribute to ``target`` except ``hidden`` (a renamed attribute)."""

    def __init__(self, target: object, hidden: str) -> None:
        self._target = target
        self._hidden = hidden

    def __getattr__(self, name: str) -> object:
        if name == self._hidden:
            raise AttributeError(name)
        return getattr(self._target, name)


def test_the_views_name_exactly_what_the_observer_reads():
    assert public_members(BrokerView) == set(BROKER_READS)
    assert public_members(CountersView) == set(COUNTERS_READ)


def test_the_running_broker_is_a_broker_view_all_the_way_down(tmp_path):
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                          group_initial_rebalance_delay_ms=0)
    with BrokerThread(config) as bt:
        broker, node = bt.broker, bt.node
        assert broker is not None and node is not None
        bt.call(broker.create_topic, "t", 2)
        consumer = bt.submit(Consumer(broker, "g", ["t"], client_id="c1").start).result(30)
        try:
            host, port = bt.bootstrap.rsplit(":", 1)
            with socket.create_connection((host, int(port))):
                deadline = time.monotonic() + 15
                while not bt.call(lambda: bool(
                    broker.connections and broker.local_clients and broker.events
                    and node.groups.snapshot()
                )):
                    assert time.monotonic() < deadline, "no connection, client, event or group"
                    time.sleep(0.02)
                bt.call(assert_views_all_the_way_down, broker)
                assert isinstance(node.groups, GroupsView)
                snap = bt.call(lambda: node.observer().snapshot())
        finally:
            bt.submit(consumer.close).result(30)
    assert snap.broker.port == int(port) and snap.broker.cluster_id
    assert snap.group("g") is not None and len(snap.connections) == 2


def assert_views_all_the_way_down(broker: Broker) -> None:
    assert isinstance(broker, BrokerView)
    assert isinstance(broker.config, BrokerConfigView)
    assert isinstance(broker.counters, CountersView)
    topic = broker.topics["t"]
    assert isinstance(topic, TopicView)
    assert isinstance(topic.log_config, LogConfigView)
    for partition in topic.partitions:
        assert isinstance(partition, PartitionView)
        assert isinstance(partition.log, LogView)
    assert all(isinstance(c, ConnectionView) for c in broker.connections.values())
    assert all(isinstance(c, LocalClientView) for c in broker.local_clients.values())
    assert all(isinstance(e, EventView) for e in broker.events)


@pytest.mark.parametrize("name", BROKER_READS)
async def test_a_broker_without_an_attribute_the_observer_reads_fails_loudly(broker, name):
    renamed = Without(broker, name)
    assert not isinstance(renamed, BrokerView)
    with pytest.raises(AttributeError, match=name):
        EmbeddedObserver(renamed, None).snapshot()  # type: ignore[arg-type]


@pytest.mark.parametrize("name", COUNTERS_READ)
async def test_a_missing_counter_is_an_error_not_a_zero(broker, name):
    class Renamed(Without):
        counters = Without(broker.counters, name)

    assert not isinstance(Renamed.counters, CountersView)
    with pytest.raises(AttributeError, match=name):
        EmbeddedObserver(Renamed(broker, ""), None).snapshot()  # type: ignore[arg-type]
