"""Pipelined durable produces on one connection (issue 13): with ``--fsync always`` a
connection goes on to its next Produce while an earlier one waits for its sync, so one
producer's requests share sync rounds; answers still come back strictly in request order.

A real broker and server on this test's loop (127.0.0.1 port 0), requests over one real
socket (tests/core/test_server.py's Wire). A file layer that holds the segment's
fdatasync at a gate (tests.core.helpers.GatedFiles, which can also fail it) makes "the first
request's sync is still running" a state the test controls, not a race.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from streamscope.core import server as server_module
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode
from streamscope.core.node import Node, start_node

from tests.core.helpers import GATE_S, gated
from tests.core.test_server import (
    API_VERSIONS,
    FETCH,
    PRODUCE,
    Wire,
    batch,
    fetch_body,
    only_partition,
    produce_body,
    until,
)

pytestmark = pytest.mark.timeout(60)

API_VERSIONS_BODY = {"client_software_name": "t", "client_software_version": "1"}


@pytest.fixture
async def durable(tmp_path) -> AsyncIterator[Node]:
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                         fsync="always"))
    try:
        yield node
    finally:
        await node.close()


async def settle() -> None:
    """Let the loop run a few turns (for asserting that something did not happen)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def send_produces(wire: Wire, topic: str, values: list[bytes]) -> list[int]:
    return [await wire.send(PRODUCE, 8, produce_body(topic, 0, batch(v))) for v in values]


async def produce_answers(wire: Wire, n: int) -> list[tuple[int, dict]]:
    """The next ``n`` Produce answers: (correlation id, the one partition's answer)."""
    out = []
    for _ in range(n):
        correlation, body = await wire.recv(PRODUCE, 8, timeout=GATE_S)
        out.append((correlation, only_partition(body, "responses", "partition_responses")))
    return out


async def test_a_pipelined_produce_is_appended_while_the_one_before_waits_for_its_sync(durable):
    broker = durable.broker
    broker.create_topic("piped", 1)
    wire = await Wire.connect(durable.server)
    try:
        with gated("piped-0", closed=True) as gate:
            first = await wire.send(PRODUCE, 8, produce_body("piped", 0, batch(b"a")))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            rounds = broker._group_sync.rounds
            rest = await send_produces(wire, "piped", [b"b", b"c"])
            plog = broker.topics["piped"].partitions[0].log
            # Appended on the same connection while the first request's sync is held.
            await until(lambda: plog.next_offset == 3)
            assert broker._group_sync.rounds == rounds  # that sync has not completed
            assert broker.partition_offsets("piped", 0) == (0, 0)  # nothing visible yet
            gate.open_gate.set()
            answers = await produce_answers(wire, 3)
        assert [c for c, _ in answers] == [first, *rest]
        assert [(a["error_code"], a["base_offset"]) for _, a in answers] == [
            (0, 0), (0, 1), (0, 2)]
        assert broker.partition_offsets("piped", 0) == (0, 3)
    finally:
        await wire.close()


async def test_a_failed_sync_answers_storage_error_to_the_requests_it_covered_in_order(durable):
    broker = durable.broker
    broker.create_topic("failing", 1)
    wire = await Wire.connect(durable.server)
    try:
        with gated("failing-0", closed=True) as gate:
            sent = await send_produces(wire, "failing", [b"a"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            sent += await send_produces(wire, "failing", [b"b", b"c"])
            plog = broker.topics["failing"].partitions[0].log
            await until(lambda: plog.next_offset == 3)
            # The held sync (request 1) succeeds; the next one, covering 2 and 3, fails.
            gate.fail_next("fdatasync", path_contains="failing-0")
            gate.open_gate.set()
            answers = await produce_answers(wire, 3)
        assert [c for c, _ in answers] == sent
        assert [(a["error_code"], a["base_offset"]) for _, a in answers] == [
            (0, 0), (ErrorCode.KAFKA_STORAGE_ERROR, -1), (ErrorCode.KAFKA_STORAGE_ERROR, -1)]
        assert "fsync" in answers[1][1]["error_message"]
    finally:
        await wire.close()


async def test_another_request_after_a_pending_produce_is_answered_after_it(durable):
    broker = durable.broker
    broker.create_topic("mixed", 1)
    wire = await Wire.connect(durable.server)
    try:
        with gated("mixed-0", closed=True) as gate:
            produced = await send_produces(wire, "mixed", [b"a"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            versions = await wire.send(API_VERSIONS, 3, API_VERSIONS_BODY)
            fetched = await wire.send(FETCH, 11, fetch_body([("mixed", 0, 0)]))
            reply = asyncio.create_task(wire.recv(PRODUCE, 8, timeout=GATE_S))
            await settle()
            assert not reply.done()  # nothing, not even ApiVersions, overtakes the produce
            gate.open_gate.set()
            correlation, body = await reply
        assert correlation == produced[0]
        assert only_partition(body, "responses", "partition_responses")["error_code"] == 0
        correlation, body = await wire.recv(API_VERSIONS, 3)
        assert correlation == versions and body["error_code"] == 0
        # The Fetch was handled after the produce's answer: it sees the durable record.
        correlation, body = await wire.recv(FETCH, 11)
        part = only_partition(body, "responses")
        assert correlation == fetched and part["high_watermark"] == 1 and part["records"]
    finally:
        await wire.close()


async def test_a_connection_holds_at_most_the_pending_answer_limit(durable):
    broker = durable.broker
    broker.create_topic("bounded", 1)
    limit = server_module.MAX_PENDING_ANSWERS
    wire = await Wire.connect(durable.server)
    try:
        with gated("bounded-0", closed=True) as gate:
            sent = await send_produces(wire, "bounded", [b"0"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            sent += await send_produces(wire, "bounded", [b"%d" % i for i in range(1, limit + 4)])
            plog = broker.topics["bounded"].partitions[0].log
            await until(lambda: plog.next_offset == limit)
            await settle()
            assert plog.next_offset == limit  # the rest wait until answers go out
            gate.open_gate.set()
            answers = await produce_answers(wire, limit + 4)
        assert [c for c, _ in answers] == sent
        assert [a["base_offset"] for _, a in answers] == list(range(limit + 4))
    finally:
        await wire.close()


async def test_a_dropped_answer_closes_the_connection_after_the_pending_ones(durable):
    broker = durable.broker
    server = durable.server
    broker.create_topic("dropped", 1)
    wire = await Wire.connect(server)
    try:
        with gated("dropped-0", closed=True) as gate:
            sent = await send_produces(wire, "dropped", [b"a"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            server.drop_produce_responses = 1
            await send_produces(wire, "dropped", [b"b"])
            plog = broker.topics["dropped"].partitions[0].log
            await until(lambda: plog.next_offset == 2)  # appended, answer withheld
            gate.open_gate.set()
            answers = await produce_answers(wire, 1)
            assert [c for c, _ in answers] == sent and answers[0][1]["error_code"] == 0
            assert await asyncio.wait_for(wire.reader.read(), GATE_S) == b""  # then closed
        assert server.produce_responses_dropped == 1 and server.drop_produce_responses == 0
    finally:
        await wire.close()


async def test_a_client_resetting_with_answers_pending_leaves_nothing_behind(durable):
    broker = durable.broker
    server = durable.server
    broker.create_topic("gone", 1)
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    wire = await Wire.connect(server)
    try:
        with gated("gone-0", closed=True) as gate:
            await send_produces(wire, "gone", [b"a"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            await send_produces(wire, "gone", [b"b", b"c"])
            p = broker.topics["gone"].partitions[0]
            await until(lambda: p.log.next_offset == 3)
            (conn,) = server._connections.values()
            task = conn.task
            # The peer resets the connection (SO_LINGER 0): the broker ends it at once,
            # its answers dropped, while their sync is still held.
            sock = wire.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            wire.writer.transport.abort()
            await until(task.done)
            assert not server._connections and not conn._answers
            gate.fail_next("fdatasync", path_contains="gone-0")  # nobody hears of this failure
            gate.open_gate.set()
            await until(lambda: any(e.kind == "storage" for e in broker.events))
        await until(lambda: p.storage_error is None and not p.sync_waiters)  # retry heals it
        assert broker.partition_offsets("gone", 0) == (0, 3)
        assert not task.cancelled() and task.exception() is None
        assert errors == []  # no unretrieved exception, no failing callback
    finally:
        loop.set_exception_handler(None)


async def test_a_client_half_closing_after_its_requests_still_gets_every_answer(durable):
    broker = durable.broker
    server = durable.server
    broker.create_topic("half", 1)
    wire = await Wire.connect(server)
    try:
        with gated("half-0", closed=True) as gate:
            sent = await send_produces(wire, "half", [b"a"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            sent += await send_produces(wire, "half", [b"b", b"c"])
            plog = broker.topics["half"].partitions[0].log
            await until(lambda: plog.next_offset == 3)
            wire.writer.write_eof()  # no more requests; the answers are still wanted
            await settle()
            gate.open_gate.set()
            answers = await produce_answers(wire, 3)
        assert [c for c, _ in answers] == sent
        assert [a["base_offset"] for _, a in answers] == [0, 1, 2]
        assert await asyncio.wait_for(wire.reader.read(), GATE_S) == b""  # then it closes
        await until(lambda: not server._connections)
    finally:
        await wire.close()


async def test_close_writes_the_pending_answers_before_it_closes_the_connection(durable):
    broker = durable.broker
    broker.create_topic("closing", 1)
    wire = await Wire.connect(durable.server)
    try:
        with gated("closing-0", closed=True) as gate:
            sent = await send_produces(wire, "closing", [b"a", b"b"])
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            plog = broker.topics["closing"].partitions[0].log
            await until(lambda: plog.next_offset == 2)
            closing = asyncio.create_task(durable.server.close(grace_s=GATE_S))
            await settle()
            assert not closing.done()  # waiting for the answers, not cutting them off
            gate.open_gate.set()
            answers = await produce_answers(wire, 2)
            await closing
        assert [c for c, _ in answers] == sent
        assert [(a["error_code"], a["base_offset"]) for _, a in answers] == [(0, 0), (0, 1)]
        assert await asyncio.wait_for(wire.reader.read(), GATE_S) == b""
    finally:
        await wire.close()
