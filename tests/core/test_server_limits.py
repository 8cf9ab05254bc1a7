"""Issue 13's server limits, in process: a real node on 127.0.0.1 port 0, real sockets.

* Connections past ``max_connections`` / ``max_connections_per_ip`` (with its overrides)
  are closed at once, counted, and logged and evented once per interval, not per socket;
  the default per-address limit holds the 200-connection load test from 127.0.0.1.
* ``queued_max_request_bytes``: a large frame waits for room (its connection stops
  reading) while others hold the budget; over the budget a connection stops reading
  until what it queued is handled; a new connection is still answered.
* ``request_read_timeout_ms``: a frame begun and not finished closes its connection.
* Fetch: ``fetch_max_bytes`` caps the answer over the client's ``max_bytes``; past
  ``max_parked_fetches`` a Fetch is answered at once.
* The advertised listener is what Metadata, FindCoordinator and DescribeCluster say;
  :func:`core.server.listen_warnings` names the risks of a non-loopback bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import uuid

import pytest
from streamscope.core.api.fetch import parked_fetches
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.node import start_node
from streamscope.core.protocol import encode_request
from streamscope.core.server import DIRECT_FRAME_BYTES, listen_warnings

from tests.core.helpers import wait_until
from tests.core.test_server import (
    API_VERSIONS,
    DESCRIBE_CLUSTER,
    FETCH,
    METADATA,
    PRODUCE,
    Wire,
    batch,
    fetch_body,
    parked,
    produce_body,
)

pytestmark = pytest.mark.timeout(90)
FIND_COORDINATOR = 10


@contextlib.asynccontextmanager
async def serving(tmp_path, **config):
    config.setdefault("host", "127.0.0.1")
    node = await start_node(BrokerConfig(port=0, data_dir=tmp_path / "data", **config))
    try:
        yield node.broker, node.server
    finally:
        await node.close(grace_s=1)


async def closed_by_broker(reader: asyncio.StreamReader) -> bool:
    """Whether the broker closed this connection (EOF or reset) before any answer."""
    try:
        data = await asyncio.wait_for(reader.read(1), 30)
    except ConnectionError:
        return True
    return data == b""


async def api_versions_ok(server) -> bool:
    wire = await Wire.connect(server)
    try:
        response = await wire.call(API_VERSIONS, 3, {"client_software_name": "t",
                                                      "client_software_version": "1"},
                                   timeout=30)
        return response["error_code"] == 0
    finally:
        await wire.close()


def produce_frame(correlation: int, topic: str, records: bytes) -> bytes:
    frame = encode_request(PRODUCE, 9, correlation, "limits", produce_body(topic, 0, records, 1))
    return struct.pack(">i", len(frame)) + frame


# --- connection limits -------------------------------------------------------------------


async def test_connections_past_max_connections_are_closed_at_once_counted_and_logged_once(
        tmp_path, caplog):
    async with serving(tmp_path, max_connections=3) as (broker, server):
        wires = [await Wire.connect(server) for _ in range(3)]
        try:
            for w in wires:
                assert (await w.call(API_VERSIONS, 0, {}))["error_code"] == 0
            extra = [await asyncio.open_connection(server.host, server.port) for _ in range(12)]
            for reader, writer in extra:
                assert await closed_by_broker(reader)
                writer.close()
            await wait_until(lambda: broker.counters.connections_refused == 12,
                             what="12 refusals counted")
            assert server.connections_refused == 12
            assert len(broker.connections) == 3
            refusals = [e for e in broker.events if e.kind == "connection"]
            assert len(refusals) == 1 and "max_connections (3)" in refusals[0].message
            warnings = [r for r in caplog.records if "Refused a connection" in r.getMessage()]
            assert len(warnings) == 1
            # A slot freed is a slot given.
            await wires.pop().close()
            await wait_until(lambda: len(broker.connections) == 2, what="a slot freed")
            assert await api_versions_ok(server)
        finally:
            for w in wires:
                await w.close()
    # The rest of the window is summed up in one line (here when the listener closes).
    (summary,) = [e for e in broker.events if e.kind == "connection" and "more" in e.message]
    assert "Refused 11 more connections" in summary.message


async def test_max_connections_per_ip_refuses_one_address_and_its_override_lifts_it(tmp_path):
    async with serving(tmp_path, max_connections_per_ip=2) as (broker, server):
        held = [await asyncio.open_connection(server.host, server.port) for _ in range(2)]
        reader, writer = await asyncio.open_connection(server.host, server.port)
        assert await closed_by_broker(reader)
        writer.close()
        await wait_until(lambda: broker.counters.connections_refused == 1, what="refusal")
        (event,) = [e for e in broker.events if e.kind == "connection"]
        assert "max_connections_per_ip (2)" in event.message and "127.0.0.1" in event.message
        for _, w in held:
            w.close()
    async with serving(tmp_path, max_connections_per_ip=2,
                       max_connections_per_ip_overrides=(("127.0.0.1", 4),)) as (broker, server):
        held = [await Wire.connect(server) for _ in range(4)]
        for w in held:
            assert (await w.call(API_VERSIONS, 0, {}))["error_code"] == 0
        reader, writer = await asyncio.open_connection(server.host, server.port)
        assert await closed_by_broker(reader)
        writer.close()
        for w in held:
            await w.close()


async def test_default_limits_hold_the_load_tests_connections_from_loopback(tmp_path):
    n = 260
    async with serving(tmp_path) as (broker, server):
        request = encode_request(API_VERSIONS, 0, 1, "many", {}, size_prefix=True)
        conns = [await asyncio.open_connection(server.host, server.port) for _ in range(n)]
        try:
            for _, writer in conns:
                writer.write(request)
            for reader, _ in conns:
                size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), 30))[0]
                await asyncio.wait_for(reader.readexactly(size), 30)
            assert len(broker.connections) == n
            assert broker.counters.connections_refused == 0
        finally:
            for _, writer in conns:
                writer.close()


# --- queued.max.request.bytes and the read timeout ----------------------------------------


async def test_a_large_frame_waits_for_room_in_the_request_budget_and_others_are_served(tmp_path):
    records = batch(b"x" * 150_000, key=None)
    async with serving(tmp_path, queued_max_request_bytes=300_000) as (broker, server):
        broker.create_topic("big", 1, {"max.message.bytes": str(1 << 20)})
        a_frame, b_frame = produce_frame(1, "big", records), produce_frame(2, "big", records)
        size = len(a_frame) - 4
        assert size > DIRECT_FRAME_BYTES
        a_reader, a_writer = await asyncio.open_connection(server.host, server.port)
        b_reader, b_writer = await asyncio.open_connection(server.host, server.port)
        try:
            a_writer.write(a_frame[:100_000])
            await wait_until(lambda: server.buffered_bytes == size, what="A's room reserved")
            b_writer.write(b_frame)  # whole, but there is no room for it yet
            await wait_until(lambda: len(server._budget_waiters) == 1, what="B waiting")
            assert server.buffered_bytes == size
            # A connection that holds nothing is still read and answered.
            assert await api_versions_ok(server)
            assert broker.partition_offsets("big", 0)[1] == 0
            a_writer.write(a_frame[100_000:])
            for reader in (a_reader, b_reader):
                head = await asyncio.wait_for(reader.readexactly(4), 30)
                await asyncio.wait_for(reader.readexactly(struct.unpack(">i", head)[0]), 30)
            assert broker.partition_offsets("big", 0)[1] == 2
            await wait_until(lambda: server.buffered_bytes == 0, what="budget drained")
            assert not server._budget_waiters
        finally:
            a_writer.close()
            b_writer.close()


async def test_over_the_request_budget_a_connection_stops_reading_until_its_queue_is_handled(
        tmp_path):
    async with serving(tmp_path, queued_max_request_bytes=20_000) as (broker, server):
        broker.create_topic("q", 1)
        fetch = encode_request(FETCH, 11, 1, "limits",
                               fetch_body([("q", 0, 0)], max_wait_ms=60_000), size_prefix=True)
        produces = [produce_frame(2 + i, "q", batch(b"p" * 10_000, key=None)) for i in range(3)]
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            # A long-poll in hand, then 30 KB of requests queued behind it: over the budget.
            writer.write(fetch + b"".join(produces))
            await wait_until(lambda: parked(broker, "q"), what="the fetch parked")
            await wait_until(lambda: len(server._budget_waiters) == 1, what="reading paused")
            assert server.buffered_bytes > 20_000
            # Another client, holding nothing, is read and answered; its append wakes the
            # long-poll, the queue is handled and the first connection reads again.
            wire = await Wire.connect(server)
            try:
                await wire.call(PRODUCE, 9, produce_body("q", 0, batch(b"wake")))
            finally:
                await wire.close()
            for _ in range(4):
                head = await asyncio.wait_for(reader.readexactly(4), 30)
                await asyncio.wait_for(reader.readexactly(struct.unpack(">i", head)[0]), 30)
            assert broker.partition_offsets("q", 0)[1] == 4
            await wait_until(lambda: server.buffered_bytes == 0, what="budget drained")
            assert not server._budget_waiters
            writer.write(encode_request(API_VERSIONS, 0, 9, "limits", {}, size_prefix=True))
            head = await asyncio.wait_for(reader.readexactly(4), 30)
            assert struct.unpack(">i", head)[0] > 0
        finally:
            writer.close()


async def test_many_clients_over_a_small_request_budget_are_all_answered(tmp_path):
    clients, per_client = 10, 3
    records = batch(b"m" * 100_000, key=None)
    async with serving(tmp_path, queued_max_request_bytes=250_000) as (broker, server):
        broker.create_topic("many", 1, {"max.message.bytes": str(1 << 20)})

        async def client(i: int) -> None:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            try:
                frames = b"".join(produce_frame(i * 10 + k, "many", records)
                                  for k in range(per_client))
                for pos in range(0, len(frames), 40_000):  # cut mid-frame, every client
                    writer.write(frames[pos:pos + 40_000])
                    await writer.drain()
                for _ in range(per_client):
                    head = await asyncio.wait_for(reader.readexactly(4), 30)
                    await asyncio.wait_for(reader.readexactly(struct.unpack(">i", head)[0]), 30)
            finally:
                writer.close()

        await asyncio.gather(*(client(i) for i in range(clients)))
        assert broker.partition_offsets("many", 0)[1] == clients * per_client
        await wait_until(lambda: server.buffered_bytes == 0, what="budget drained")
        assert not server._budget_waiters


@pytest.mark.parametrize("announced", [100, 8 * 1024 * 1024], ids=["small", "large"])
async def test_a_frame_begun_but_not_finished_in_time_closes_its_connection(tmp_path, announced):
    async with serving(tmp_path, request_read_timeout_ms=300) as (broker, server):
        idle_reader, idle_writer = await asyncio.open_connection(server.host, server.port)
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(struct.pack(">i", announced) + b"\0" * 20)
            assert await closed_by_broker(reader)
            await wait_until(lambda: server.buffered_bytes == 0, what="its room given back")
            await wait_until(lambda: len(broker.connections) == 1, what="only the idle one left")
            # An idle connection (no frame begun) is not a slow request: it stays.
            idle_writer.write(encode_request(API_VERSIONS, 0, 5, "idle", {}, size_prefix=True))
            head = await asyncio.wait_for(idle_reader.readexactly(4), 30)
            assert struct.unpack(">i", head)[0] > 0
        finally:
            writer.close()
            idle_writer.close()


# --- Fetch caps ----------------------------------------------------------------------------


async def test_fetch_max_bytes_caps_the_answer_over_the_clients_max_bytes(tmp_path):
    async with serving(tmp_path, fetch_max_bytes=3000) as (broker, server):
        broker.create_topic("f", 3)
        wire = await Wire.connect(server)
        try:
            for p in range(3):
                r = await wire.call(PRODUCE, 9, produce_body("f", p, batch(b"v" * 1200)))
                assert r["responses"][0]["partition_responses"][0]["error_code"] == 0
            body = fetch_body([("f", p, 0) for p in range(3)], max_bytes=50 << 20)
            response = await wire.call(FETCH, 11, body)
            sizes = [len(part["records"]) for part in response["responses"][0]["partitions"]]
            assert sizes[0] > 1200 and sizes[1] == sizes[0] and sizes[2] == 0
            assert sum(sizes) <= 3000
            # The first batch still goes out whole when it alone is over the cap (KIP-74).
            await wire.call(PRODUCE, 9, produce_body("f", 2, batch(b"w" * 5000)))
            response = await wire.call(FETCH, 11, fetch_body([("f", 2, 1)], max_bytes=50 << 20))
            assert len(response["responses"][0]["partitions"][0]["records"]) > 5000
        finally:
            await wire.close()


async def test_fetches_past_max_parked_fetches_are_answered_at_once(tmp_path):
    async with serving(tmp_path, max_parked_fetches=1) as (broker, server):
        broker.create_topic("p", 1)
        first, second = await Wire.connect(server), await Wire.connect(server)
        try:
            long_poll = fetch_body([("p", 0, 0)], max_wait_ms=60_000)
            sent = await first.send(FETCH, 11, long_poll)
            await wait_until(lambda: parked(broker, "p"), what="the first fetch parked")
            # max_wait_ms is 60 s and the read gives up after 30: only the cap answers it.
            response = await second.call(FETCH, 11, long_poll, timeout=30)
            assert response["responses"][0]["partitions"][0]["records"] == b""
            assert parked(broker, "p") and parked_fetches(broker) == 1
            await second.call(PRODUCE, 9, produce_body("p", 0, batch(b"wake")))
            correlation, answer = await first.recv(FETCH, 11, timeout=30)
            assert correlation == sent
            assert answer["responses"][0]["partitions"][0]["records"]
            assert parked_fetches(broker) == 0
        finally:
            await first.close()
            await second.close()


async def test_a_request_naming_more_partitions_than_the_cap_closes_only_its_connection(
        tmp_path, caplog):
    async with serving(tmp_path, max_partitions_per_request=100) as (broker, server):
        broker.create_topic("many", 8)
        wire, other = await Wire.connect(server), await Wire.connect(server)
        try:
            # 8 topics and 71 partitions, 79 entries: served.
            ok = fetch_body([("many", p % 8, 0) for p in range(64)] +
                            [(f"t{t}", 0, 0) for t in range(7)])
            response = await wire.call(FETCH, 11, ok)
            assert sum(len(t["partitions"]) for t in response["responses"]) == 71
            # 101 topics named in one Metadata request: the connection is closed, with why.
            sent = await wire.send(METADATA, 12, {
                "topics": [{"name": f"x{i}", "topic_id": uuid.UUID(int=0)} for i in range(101)],
                "allow_auto_topic_creation": False})
            assert sent and await closed_by_broker(wire.reader)
            assert "over max_partitions_per_request (100)" in caplog.text
            assert "x0" not in broker.topics
            # Others go on, and so does a new connection of the same client.
            assert await api_versions_ok(server)
            response = await other.call(FETCH, 11, fetch_body([("many", 0, 0)]))
            assert response["responses"][0]["partitions"][0]["error_code"] == 0
        finally:
            await wire.close()
            await other.close()


async def test_max_partitions_per_topic_bounds_creation_and_growth(tmp_path):
    async with serving(tmp_path, max_partitions_per_topic=4) as (broker, server):
        broker.create_topic("four", 4)
        with pytest.raises(KafkaError) as created:
            broker.create_topic("five", 5)
        assert created.value.code == ErrorCode.INVALID_PARTITIONS
        assert "between 1 and 4" in created.value.message
        with pytest.raises(KafkaError) as grown:
            broker.add_partitions("four", 5)
        assert grown.value.code == ErrorCode.INVALID_PARTITIONS
        assert "five" not in broker.topics and len(broker.topics["four"].partitions) == 4


# --- listening ---------------------------------------------------------------------------


async def test_the_advertised_listener_is_what_clients_are_told(tmp_path):
    async with serving(tmp_path, advertised_host="broker.example", advertised_port=19092) as (
            broker, server):
        assert server.bound_address[0] == "127.0.0.1" and server.bound_address[1] > 0
        assert (server.host, server.port) == ("broker.example", 19092)
        assert broker.listener == ("broker.example", 19092)
        wire = Wire(*await asyncio.open_connection("127.0.0.1", server.bound_address[1]))
        try:
            metadata = await wire.call(METADATA, 12, {"topics": None,
                                                      "allow_auto_topic_creation": False})
            assert [(b["host"], b["port"]) for b in metadata["brokers"]] == [
                ("broker.example", 19092)]
            coordinator = await wire.call(FIND_COORDINATOR, 3, {"key": "g", "key_type": 0})
            assert (coordinator["host"], coordinator["port"]) == ("broker.example", 19092)
            cluster = await wire.call(DESCRIBE_CLUSTER, 1, {"endpoint_type": 1})
            assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [
                ("broker.example", 19092)]
        finally:
            await wire.close()


def test_listen_warnings_name_the_exposure_and_the_fix():
    assert listen_warnings("127.0.0.1", None, False) == []
    assert listen_warnings("::1", None, False) == []
    (lan,) = listen_warnings("192.168.1.5", None, False)
    assert "not loopback" in lan and "without authentication" in lan
    (lan_auth,) = listen_warnings("192.168.1.5", None, True)
    assert "must authenticate" in lan_auth
    exposed, advertised = listen_warnings("0.0.0.0", None, False)
    assert "not loopback" in exposed
    assert "127.0.0.1" in advertised and "--advertised-listener" in advertised
    assert len(listen_warnings("0.0.0.0", "10.0.0.7", False)) == 1


async def test_a_wildcard_bind_logs_both_warnings(tmp_path, caplog):
    async with serving(tmp_path, host="0.0.0.0") as (_broker, server):
        assert server.host == "127.0.0.1" and server.bound_address[0] == "0.0.0.0"
        text = caplog.text
        assert "not loopback" in text and "--advertised-listener" in text
    with socket.socket() as s:  # nothing left listening
        assert s.connect_ex(("127.0.0.1", server.bound_address[1])) != 0
