"""Durable acknowledgements (issue 13): ``--fsync always`` syncs in a flusher thread with
group commit, answers a produce only once it is durable and never shows a reader a record
that is not; interval mode stores a committed offset only after the data it points to is
durable; the MetaStore writes on its own thread.

A real broker and server on this test's loop (127.0.0.1 port 0), requests over a socket
(tests/core/test_server.py's Wire). A file layer (core.log.files) that holds fdatasync
at a gate makes "the sync is still running" a state the test controls, not a race.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode
from streamscope.core.log import files
from streamscope.core.meta import CommittedOffset
from streamscope.core.node import Node

from tests.core.helpers import GATE_S, gated, loopback_node
from tests.core.test_server import (
    API_VERSIONS,
    FETCH,
    LIST_OFFSETS,
    PRODUCE,
    Wire,
    batch,
    fetch_body,
    only_partition,
    produce_body,
    until,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def durable(tmp_path) -> AsyncIterator[Node]:
    node = await loopback_node(tmp_path, fsync="always")
    try:
        yield node
    finally:
        await node.close()


async def answered(task: asyncio.Task) -> bool:
    """Whether ``task`` finished, after letting the loop run a few turns."""
    for _ in range(20):
        await asyncio.sleep(0.01)
    return task.done()


async def test_always_mode_answers_after_the_sync_and_serves_others_while_it_runs(durable):
    broker = durable.broker
    broker.create_topic("acked", 1)
    producer, reader, other = [await Wire.connect(durable.server) for _ in range(3)]
    try:
        with gated("acked-0") as gate:
            gate.open_gate.clear()
            sent = asyncio.create_task(producer.call(PRODUCE, 8, produce_body("acked", 0,
                                                     batch(b"a", b"b")), timeout=GATE_S))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            plog = broker.topics["acked"].partitions[0].log
            assert plog.next_offset == 2  # appended ...
            # ... but neither acknowledged nor visible while the sync runs, and the loop
            # answers another connection meanwhile (the sync is not on it).
            assert (await other.call(API_VERSIONS, 3, {"client_software_name": "t",
                                     "client_software_version": "1"}))["error_code"] == 0
            assert not sent.done()
            fetched = only_partition(await reader.call(FETCH, 11, fetch_body([("acked", 0, 0)])),
                                     "responses")
            assert fetched["high_watermark"] == 0 and not fetched["records"]
            listed = await reader.call(LIST_OFFSETS, 5, {"replica_id": -1, "isolation_level": 0,
                                       "topics": [{"name": "acked", "partitions": [
                                           {"partition_index": 0, "timestamp": -1}]}]})
            assert listed["topics"][0]["partitions"][0]["offset"] == 0
            assert broker.partition_offsets("acked", 0) == (0, 0)
            gate.open_gate.set()
            part = only_partition(await sent, "responses", "partition_responses")
        assert part["error_code"] == 0 and part["base_offset"] == 0
        assert broker.partition_offsets("acked", 0) == (0, 2)
        fetched = only_partition(await reader.call(FETCH, 11, fetch_body([("acked", 0, 0)])),
                                 "responses")
        assert fetched["high_watermark"] == 2 and fetched["records"]
    finally:
        for w in (producer, reader, other):
            await w.close()


async def test_appends_arriving_during_a_sync_share_the_next_one(durable):
    broker = durable.broker
    broker.create_topic("grouped", 1)
    wires = [await Wire.connect(durable.server) for _ in range(6)]
    try:
        with gated("grouped-0") as gate:
            gate.open_gate.clear()
            first = asyncio.create_task(wires[0].call(
                PRODUCE, 8, produce_body("grouped", 0, batch(b"0")), timeout=GATE_S))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            rest = [asyncio.create_task(w.call(PRODUCE, 8, produce_body(
                "grouped", 0, batch(b"%d" % i)), timeout=GATE_S))
                for i, w in enumerate(wires[1:], 1)]
            plog = broker.topics["grouped"].partitions[0].log
            await until(lambda: plog.next_offset == 6)  # all five appended behind the sync
            gate.open_gate.set()
            answers = [only_partition(await t, "responses", "partition_responses")
                       for t in [first, *rest]]
            # The first sync, then one more for the five that came while it ran.
            assert gate.syncs() <= 2
        assert all(a["error_code"] == 0 for a in answers)
        assert sorted(a["base_offset"] for a in answers) == list(range(6))
    finally:
        for w in wires:
            await w.close()


async def test_acks_0_is_not_held_by_a_running_sync(durable):
    broker = durable.broker
    broker.create_topic("quiet", 1)
    wire = await Wire.connect(durable.server)
    try:
        with gated("quiet-0") as gate:
            gate.open_gate.clear()
            await wire.send(PRODUCE, 8, produce_body("quiet", 0, batch(b"x"), acks=0))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            # The same connection's next request is answered while the sync still runs.
            body = await wire.call(API_VERSIONS, 3, {"client_software_name": "t",
                                                     "client_software_version": "1"})
            assert body["error_code"] == 0
            assert broker.topics["quiet"].partitions[0].log.next_offset == 1
            assert broker.partition_offsets("quiet", 0) == (0, 0)
            gate.open_gate.set()
            await until(lambda: broker.partition_offsets("quiet", 0) == (0, 1))
    finally:
        await wire.close()


async def test_a_long_poll_is_woken_when_the_high_watermark_moves(durable):
    broker = durable.broker
    broker.create_topic("polled", 1)
    producer, reader = await Wire.connect(durable.server), await Wire.connect(durable.server)
    try:
        poll = asyncio.create_task(reader.call(
            FETCH, 11, fetch_body([("polled", 0, 0)], max_wait_ms=25_000), timeout=GATE_S))
        await until(lambda: bool(broker.topics["polled"].partitions[0].waiters))
        with gated("polled-0") as gate:
            gate.open_gate.clear()
            sent = asyncio.create_task(producer.call(
                PRODUCE, 8, produce_body("polled", 0, batch(b"v")), timeout=GATE_S))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            assert not await answered(poll)  # appended, not durable: nothing to hand out
            gate.open_gate.set()
            await sent
        part = only_partition(await poll, "responses")
        assert part["high_watermark"] == 1 and part["records"]
        assert not sent.exception()
    finally:
        await producer.close()
        await reader.close()


async def test_a_failed_sync_answers_storage_error_and_shows_nothing_until_one_succeeds(
        durable, caplog):
    broker = durable.broker
    broker.create_topic("flaky", 1)
    wire = await Wire.connect(durable.server)
    faulty = files.FaultyFiles()
    try:
        with files.installed(faulty):
            faulty.fail_next("fsync", path_contains="flaky-0")
            part = only_partition(await wire.call(PRODUCE, 8, produce_body(
                "flaky", 0, batch(b"lost?"))), "responses", "partition_responses")
            assert part["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
            p = broker.topics["flaky"].partitions[0]
            assert p.storage_error and "fsync" in p.storage_error
            assert [e for e in broker.events if e.kind == "storage"][-1].data["partition"] == 0
            assert "flaky-0" in caplog.text
            # The retry (by the flusher itself) succeeds: the partition heals, and only
            # now does the record become visible.
            await until(lambda: p.storage_error is None)
            assert broker.partition_offsets("flaky", 0) == (0, 1)
            part = only_partition(await wire.call(PRODUCE, 8, produce_body(
                "flaky", 0, batch(b"next"))), "responses", "partition_responses")
            assert part["error_code"] == 0 and part["base_offset"] == 1
    finally:
        await wire.close()


# --- interval mode: offsets no earlier than their data --------------------------------


async def test_interval_commit_is_stored_only_after_the_data_it_covers_is_flushed(tmp_path):
    node = await loopback_node(tmp_path, fsync="interval", fsync_interval_ms=600_000)
    try:
        broker = node.broker
        broker.create_topic("data", 1)
        broker.produce("data", 0, batch(b"a", b"b", b"c"))
        with gated("data-0") as gate:
            gate.open_gate.clear()
            commit = asyncio.create_task(node.groups.commit_offsets(
                "g", [CommittedOffset("data", 0, 3)]))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            # The flush of the records is running: the offset is neither answered nor in
            # the store, nor visible to OffsetFetch.
            assert not await answered(commit)
            await asyncio.to_thread(broker.meta.drain)
            assert broker.meta.fetch_offsets("g") == {}
            gate.open_gate.set()
            assert await commit == {("data", 0): ErrorCode.NONE}
        await asyncio.to_thread(broker.meta.drain)
        assert broker.meta.fetch_offsets("g")[("data", 0)].offset == 3
        assert node.groups.fetch_offsets("g")[("data", 0)].offset == 3
    finally:
        await node.close()


async def test_interval_commit_costs_no_flush_when_its_data_is_already_durable(tmp_path):
    node = await loopback_node(tmp_path, fsync="interval", fsync_interval_ms=600_000)
    try:
        broker = node.broker
        broker.create_topic("synced", 1)
        broker.produce("synced", 0, batch(b"a", b"b"))
        await broker.flush_dirty()
        with gated("synced-0") as gate:
            results = await node.groups.commit_offsets("g", [CommittedOffset("synced", 0, 2)])
            assert results == {("synced", 0): ErrorCode.NONE}
            assert gate.syncs() == 0
    finally:
        await node.close()


async def test_meta_store_writes_run_on_its_writer_thread_and_close_waits_for_them(tmp_path):
    node = await loopback_node(tmp_path)
    broker = node.broker
    threads: set[str] = set()
    broker.meta._db.set_trace_callback(  # which thread runs each write statement
        lambda sql: threads.add(threading.current_thread().name)
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) else None)
    broker.create_topic("offsets", 4)
    for i in range(4):
        await node.groups.commit_offsets("g", [CommittedOffset("offsets", i, i)])
    for i in range(200):  # queued without waiting: close must still store them all
        broker.meta.commit_offsets("h", [CommittedOffset("offsets", i % 4, i)])
    broker.alter_topic_configs("offsets", {"retention.ms": "1000"})
    await node.close()
    assert threads == {"streamscope-meta"}
    again = await loopback_node(tmp_path)
    try:
        assert again.groups.fetch_offsets("g")[("offsets", 3)].offset == 3
        assert again.groups.fetch_offsets("h")[("offsets", 3)].offset == 199
        assert again.broker.topics["offsets"].configs == {"retention.ms": "1000"}
    finally:
        await again.close()


async def test_always_mode_survives_restart_with_every_acknowledged_record(tmp_path):
    node = await loopback_node(tmp_path, fsync="always", log=LogConfig(segment_bytes=2048))
    wire = await Wire.connect(node.server)
    try:
        node.broker.create_topic("kept", 1)
        for i in range(30):
            part = only_partition(await wire.call(PRODUCE, 8, produce_body(
                "kept", 0, batch(b"%04d" % i * 40))), "responses", "partition_responses")
            assert part["error_code"] == 0 and part["base_offset"] == i
    finally:
        await wire.close()
        await node.close()
    again = await loopback_node(tmp_path, fsync="always", log=LogConfig(segment_bytes=2048))
    try:
        assert again.broker.partition_offsets("kept", 0) == (0, 30)
        assert again.broker.topics["kept"].partitions[0].log.segment_count > 1
    finally:
        await again.close()


async def test_a_rebalance_waits_for_a_commit_being_made_durable(tmp_path):
    from tests.core.test_groups_coordinator import join, sole_member

    node = await loopback_node(tmp_path, fsync="interval", fsync_interval_ms=600_000,
                           group_initial_rebalance_delay_ms=0)
    try:
        broker, coord = node.broker, node.groups
        broker.create_topic("t", 1)
        broker.produce("t", 0, batch(b"a", b"b"))
        a = await sole_member(coord, "g")
        with gated("t-0") as gate:
            gate.open_gate.clear()
            commit = asyncio.create_task(coord.commit_offsets(
                "g", [CommittedOffset("t", 0, 2)], member_id=a.member_id,
                generation_id=a.generation_id))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            # A second member arrives and the first rejoins: every member has joined,
            # yet the rebalance holds while the commit of generation 1 is in flight.
            b_join = asyncio.create_task(join(coord, "g", client="b"))
            await until(lambda: len(coord._groups["g"].members) == 2)
            a_join = asyncio.create_task(join(coord, "g", a.member_id))
            assert not await answered(a_join)
            assert not b_join.done() and not commit.done()
            gate.open_gate.set()
            # The commit lands in the generation it was checked in ...
            assert await commit == {("t", 0): ErrorCode.NONE}
            # ... and then the rebalance completes.
            assert (await a_join).generation_id == a.generation_id + 1
            await b_join
        assert coord.fetch_offsets("g")[("t", 0)].offset == 2
    finally:
        await node.close()
