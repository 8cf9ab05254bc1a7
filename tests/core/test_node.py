"""The composition root (core/node.py) and the typed seams it wires (issue 10).

A bare ``Broker`` is storage only; the node builds the group coordinator over it and
attaches it through ``core.ports.BrokerGroups``; the server reports connections and
counts through ``core.ports.ServerStats``; the runtime thread and ``streamscope broker``
build their node here; the snapshot is an observer's, never the broker's; and the import
contracts, the layers inside core among them, hold.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.groups import GroupCoordinator
from streamscope.core.node import Node, start_node
from streamscope.core.ports import BrokerGroups, ConnectionInfo, ServerStats
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.runtime import BrokerThread
from streamscope.core.server import Server

from tests.core.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]
API_VERSIONS = 18


def config(tmp_path: Path, **kw) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data", **kw)


class RecordingGroups:
    """A BrokerGroups that remembers what the broker told it."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.closed = 0

    def on_topic_deleted(self, topic: str) -> None:
        self.deleted.append(topic)

    async def close(self) -> None:
        self.closed += 1


class RecordingStats:
    """A ServerStats that remembers what the server reported."""

    def __init__(self) -> None:
        self.listener: tuple[str, int] | None = None
        self.open: dict[int, ConnectionInfo] = {}
        self.closed: list[int] = []
        self.requests = 0
        self.failures = 0

    def listener_changed(self, address: tuple[str, int] | None) -> None:
        self.listener = address

    def connection_opened(self, info: ConnectionInfo) -> None:
        self.open[info.conn_id] = info

    def connection_closed(self, conn_id: int) -> None:
        self.open.pop(conn_id, None)
        self.closed.append(conn_id)

    def connection_refused(self, host: str, why: str) -> None:
        self.refused = getattr(self, "refused", 0) + 1

    def request_handled(self) -> None:
        self.requests += 1

    def request_failed(self) -> None:
        self.failures += 1


async def test_a_bare_broker_is_storage_and_the_node_attaches_its_group_coordinator(tmp_path):
    bare = Broker(config(tmp_path))
    await bare.start()
    try:
        assert bare.groups is None  # the broker no longer builds a coordinator itself
    finally:
        await bare.close()
    node = await start_node(config(tmp_path), serve=False)
    try:
        assert isinstance(node.groups, GroupCoordinator)
        assert node.broker.groups is node.groups
        assert isinstance(node.groups, BrokerGroups)
        with pytest.raises(RuntimeError, match="not serving"):
            node.server  # noqa: B018 -- serve=False builds no listener
    finally:
        await node.close()
    assert node.groups.closed  # closed with the broker


async def test_deleting_a_topic_tells_the_attached_groups_and_closing_closes_them(tmp_path):
    broker = Broker(config(tmp_path))
    groups = RecordingGroups()
    assert isinstance(groups, BrokerGroups)
    await broker.start()
    try:
        broker.attach_groups(groups)
        broker.create_topic("orders", 2)
        broker.delete_topic("orders")
        assert groups.deleted == ["orders"]
    finally:
        await broker.close()
    assert groups.closed == 1


async def test_the_server_reports_connections_and_requests_through_its_stats(tmp_path):
    node = await start_node(config(tmp_path), serve=False)
    stats = RecordingStats()
    assert isinstance(stats, ServerStats) and isinstance(node.broker, ServerStats)
    server = Server(node.broker, node.groups, stats=stats)
    await server.start()
    try:
        assert stats.listener == (server.host, server.port)
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(encode_request(API_VERSIONS, 3, 5, "probe", {}, size_prefix=True))
        await writer.drain()
        size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), 10))[0]
        correlation, body = decode_response(API_VERSIONS, 3, await reader.readexactly(size))
        assert correlation == 5 and body["error_code"] == 0
        (info,) = stats.open.values()
        assert info.client_id == "probe" and stats.requests == 1
        writer.close()
        await wait_until(lambda: stats.closed == [info.conn_id], what="the connection closed")
        # The server wrote nothing on the broker: everything went through ``stats``.
        assert node.broker.connections == {}
        assert node.broker.counters.requests == node.broker.counters.connections_total == 0
    finally:
        await server.close()
        await node.close()
    assert stats.listener is None


async def test_a_node_serves_kafka_and_the_broker_counts_what_its_server_reports(tmp_path):
    async with Node(config(tmp_path)) as node:
        reader, writer = await asyncio.open_connection(node.server.host, node.server.port)
        writer.write(encode_request(API_VERSIONS, 3, 1, "c", {}, size_prefix=True))
        await writer.drain()
        await asyncio.wait_for(reader.readexactly(4), 10)
        assert node.broker.listener == (node.server.host, node.server.port)
        assert len(node.broker.connections) == 1
        assert node.broker.counters.requests == 1
        writer.close()
        await wait_until(lambda: not node.broker.connections, what="no connections")


async def test_a_node_that_cannot_listen_releases_its_data_dir(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        with pytest.raises(OSError):
            await Node(replace(config(tmp_path), port=busy.getsockname()[1])).start()
    finally:
        busy.close()
    node = await start_node(config(tmp_path))  # the data dir is free again
    await node.close()


def test_the_broker_thread_runs_a_node(tmp_path):
    with BrokerThread(config(tmp_path)) as bt:
        assert isinstance(bt.node, Node)
        assert bt.broker is bt.node.broker and bt.server is bt.node.server
        assert bt.call(lambda: bt.broker.groups) is bt.node.groups


async def test_snapshots_come_from_a_kept_observer_not_the_broker(tmp_path):
    assert not hasattr(Broker, "snapshot")  # it built a throwaway observer per call
    async with Node(config(tmp_path), serve=False) as node:
        observer = node.observer()
        node.broker.create_topic("t", 3)
        first = observer.snapshot()
        second = observer.snapshot()
        assert [t.name for t in second.topics] == ["t"]
        # A kept observer reuses what did not change (a throwaway one could not).
        assert second.topics[0] is first.topics[0]


def test_the_import_contracts_hold_with_core_layered():
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert "core is layered: protocol and storage at the bottom" in run.stdout
    assert run.returncode == 0, run.stdout[-3000:]
