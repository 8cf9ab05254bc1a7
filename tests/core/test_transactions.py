"""The transaction coordinator and the partition side of transactions, without clients.

A node whose coordinator runs on a ManualClock: a transaction left open past its
timeout is aborted and its producer fenced; a restart aborts what was open, keeps what
was committed and completes what was decided (the decision is stored before the
markers); offsets committed inside a transaction reach the group only on commit. Over
the wire: Fetch read_committed stops at the last stable offset and lists aborted
transactions, ListOffsets answers the LSO, OffsetFetch require_stable answers
UNSTABLE_OFFSET_COMMIT, and the admin APIs (DescribeProducers, DescribeTransactions,
ListTransactions) describe it all.
"""

from __future__ import annotations

import asyncio
import errno
import struct
from pathlib import Path

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups.clock import ManualClock
from streamscope.core.idempotence import ABORT, COMMIT, control_batch, marker_type
from streamscope.core.log import files
from streamscope.core.log.files import FaultyFiles
from streamscope.core.meta import CommittedOffset
from streamscope.core.node import Node
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.records import build_batch, iter_all_records, parse_header
from streamscope.core.txn import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    ONGOING,
    PREPARE_COMMIT,
    TransactionCoordinator,
)
from streamscope.core.txn.coordinator import MARKER_RETRY_S

from tests.core.helpers import WAIT_S, consumer

pytestmark = pytest.mark.timeout(60)

FETCH, LIST_OFFSETS, OFFSET_FETCH = 1, 2, 9
DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS = 61, 65, 66


async def start(tmp_path: Path, clock: ManualClock | None = None, *, serve: bool = False) -> Node:
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                          group_initial_rebalance_delay_ms=50, group_min_session_timeout_ms=100)
    return await Node(config, serve=serve, txn_clock=clock).start()


def txn_batch(pid: int, epoch: int, seq: int, *values: bytes) -> bytes:
    return build_batch([(None, v) for v in values], producer_id=pid, producer_epoch=epoch,
                       base_sequence=seq, transactional=True)


async def begin(txns: TransactionCoordinator, txn_id: str, parts: list[tuple[str, int]],
                timeout_ms: int = 10_000) -> tuple[int, int]:
    error, pid, epoch = await txns.init_producer_id(txn_id, timeout_ms)
    assert error == ErrorCode.NONE
    added = await txns.add_partitions(txn_id, pid, epoch, parts)
    assert set(added.values()) == {ErrorCode.NONE}
    return pid, epoch


def values(node: Node, topic: str) -> list[bytes]:
    data = node.broker.read_stored(topic, 0, 0, 1 << 20)
    out = []
    for r in iter_all_records(data):
        out.append(r.value)
    return out


def test_control_batch_is_kafkas_marker_format():
    batch = control_batch(1234, 7, COMMIT, coordinator_epoch=3, timestamp_ms=1000)
    h = parse_header(batch)
    assert h.is_control and h.is_transactional
    assert (h.producer_id, h.producer_epoch, h.base_sequence, h.records_count) == (1234, 7, -1, 1)
    (record,) = iter_all_records(batch)  # its CRC is checked here
    assert record.key == struct.pack(">hh", 0, 1)
    assert record.value == struct.pack(">hi", 0, 3)
    assert marker_type(control_batch(1, 0, ABORT)) == ABORT


async def test_timed_out_transaction_is_aborted_and_its_producer_fenced(tmp_path):
    clock = ManualClock()
    node = await start(tmp_path, clock)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        pid, epoch = await begin(txns, "slow", [("t", 0)], timeout_ms=5000)
        broker.produce("t", 0, txn_batch(pid, epoch, 0, b"a", b"b"))
        part = broker.partition("t", 0)
        assert part.txns.last_stable_offset(part.log.log_end_offset) == 0
        clock.advance(4.999)
        await txns.settle()
        assert txns.transactions["slow"].state == ONGOING
        clock.advance(0.001)
        await txns.settle()
        meta = txns.transactions["slow"]
        assert meta.state == COMPLETE_ABORT and meta.producer_epoch == epoch + 1
        assert txns.aborted_by_timeout == 1
        assert part.log.log_end_offset == 3  # two records and the ABORT marker
        assert part.txns.last_stable_offset(3) == 3
        assert [(a.producer_id, a.first_offset, a.last_offset) for a in part.txns.aborted] == [
            (pid, 0, 2)]
        with pytest.raises(KafkaError) as refused:
            broker.produce("t", 0, txn_batch(pid, epoch, 2, b"late"))
        assert refused.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
        assert await txns.end_txn("slow", pid, epoch, True) == ErrorCode.PRODUCER_FENCED
        assert clock.pending == 0
        told = [e.message for e in broker.events if e.kind == "transaction"]
        assert told == ["Transaction slow aborted after its timeout (5000 ms)"]
    finally:
        await node.close()


async def test_offsets_in_a_transaction_reach_the_group_only_on_commit(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns, groups = node.broker, node.transactions, node.groups
        broker.create_topic("in", 1)
        broker.create_topic("out", 1)
        for committed in (False, True):
            pid, epoch = await begin(txns, "ctp", [("out", 0)])
            assert await txns.add_offsets("ctp", pid, epoch, "g") == ErrorCode.NONE
            offset = 7 if committed else 3
            result = await txns.txn_offset_commit(
                "ctp", "g", pid, epoch, [CommittedOffset("in", 0, offset, -1, None)])
            assert result == {("in", 0): ErrorCode.NONE}
            assert groups.fetch_offsets("g", [("in", 0)]) == {("in", 0): None}
            assert txns.pending_offsets("g") == {("in", 0)}
            assert await txns.end_txn("ctp", pid, epoch, committed) == ErrorCode.NONE
            assert txns.pending_offsets("g") == set()
        stored = groups.fetch_offsets("g", [("in", 0)])[("in", 0)]
        assert stored is not None and stored.offset == 7  # the aborted 3 never landed
        assert node.broker.meta.fetch_offsets("g")[("in", 0)].offset == 7
        not_added = await txns.txn_offset_commit(
            "ctp", "other", pid, epoch, [CommittedOffset("in", 0, 1)])
        assert not_added == {("in", 0): ErrorCode.INVALID_TXN_STATE}
    finally:
        await node.close()


async def test_coordinator_checks_ids_epochs_and_partitions(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        assert (await txns.init_producer_id("", 1000))[0] == ErrorCode.INVALID_REQUEST
        assert (await txns.init_producer_id("x", 0))[0] == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        _, pid, epoch = await txns.init_producer_id("x", 1000)
        unknown = await txns.add_partitions("x", pid, epoch, [("t", 0), ("nope", 0), ("t", 9)])
        assert unknown == {("t", 0): ErrorCode.OPERATION_NOT_ATTEMPTED,
                           ("nope", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                           ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert txns.transactions["x"].partitions == set()
        assert (await txns.add_partitions("y", pid, epoch, [("t", 0)]))[("t", 0)] == \
            ErrorCode.INVALID_PRODUCER_ID_MAPPING
        assert (await txns.add_partitions("x", pid, epoch + 1, [("t", 0)]))[("t", 0)] == \
            ErrorCode.INVALID_PRODUCER_EPOCH
        assert await txns.end_txn("x", pid, epoch, True) == ErrorCode.INVALID_TXN_STATE
        await txns.add_partitions("x", pid, epoch, [("t", 0)])
        assert await txns.end_txn("x", pid, epoch, True) == ErrorCode.NONE
        assert await txns.end_txn("x", pid, epoch, True) == ErrorCode.NONE  # a retry
        assert await txns.end_txn("x", pid, epoch, False) == ErrorCode.INVALID_TXN_STATE
        # KIP-360: re-initialising with the current pair bumps; with a stale one is fenced.
        error, same_pid, bumped = await txns.init_producer_id("x", 1000, pid, epoch)
        assert (error, same_pid, bumped) == (ErrorCode.NONE, pid, epoch + 1)
        assert (await txns.init_producer_id("x", 1000, pid, epoch))[0] == \
            ErrorCode.PRODUCER_FENCED
    finally:
        await node.close()


async def test_restart_aborts_the_open_transaction_and_keeps_the_committed_one(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        pid_a, ep_a = await begin(txns, "a", [("t", 0)])
        broker.produce("t", 0, txn_batch(pid_a, ep_a, 0, b"committed"))
        assert await txns.end_txn("a", pid_a, ep_a, True) == ErrorCode.NONE
        pid_b, ep_b = await begin(txns, "b", [("t", 0)])
        broker.produce("t", 0, txn_batch(pid_b, ep_b, 0, b"open"))
        part = broker.partition("t", 0)
        assert part.txns.last_stable_offset(part.log.log_end_offset) == 2
    finally:
        await node.close()
    node = await start(tmp_path)
    try:
        txns = node.transactions
        assert txns.transactions["a"].state == COMPLETE_COMMIT
        b = txns.transactions["b"]
        assert b.state == COMPLETE_ABORT and b.producer_epoch == ep_b + 1
        part = node.broker.partition("t", 0)
        end = part.log.log_end_offset
        assert end == 4  # committed, COMMIT, open, ABORT
        assert part.txns.last_stable_offset(end) == end
        assert [(a.producer_id, a.first_offset) for a in part.txns.aborted] == [(pid_b, 2)]
    finally:
        await node.close()
    # A third start rebuilds the same aborted list from the log (markers read back).
    node = await start(tmp_path)
    try:
        part = node.broker.partition("t", 0)
        assert [(a.producer_id, a.first_offset, a.last_offset) for a in part.txns.aborted] == [
            (pid_b, 2, 3)]
        assert part.txns.ongoing == {}
    finally:
        await node.close()


async def test_a_decided_commit_is_completed_after_a_restart(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        pid, epoch = await begin(txns, "d", [("t", 0)])
        assert await txns.add_offsets("d", pid, epoch, "g") == ErrorCode.NONE
        await txns.txn_offset_commit("d", "g", pid, epoch, [CommittedOffset("t", 0, 1)])
        broker.produce("t", 0, txn_batch(pid, epoch, 0, b"decided"))
        # The decision is stored, then the process "dies" before any marker is written.
        meta = txns.transactions["d"]
        meta.state = PREPARE_COMMIT
        await asyncio.wrap_future(broker.meta.save_transaction(meta.record()))
    finally:
        await node.close()
    node = await start(tmp_path)
    try:
        assert node.transactions.transactions["d"].state == COMPLETE_COMMIT
        part = node.broker.partition("t", 0)
        assert part.txns.ongoing == {} and not part.txns.aborted
        stored = node.broker.read_stored("t", 0, 1, 1 << 16)
        assert marker_type(stored) == COMMIT
        committed = node.groups.fetch_offsets("g", [("t", 0)])[("t", 0)]
        assert committed is not None and committed.offset == 1
    finally:
        await node.close()


# --- over the wire ---------------------------------------------------------------------


class Wire:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.correlation = 0

    async def call(self, key: int, version: int, body: dict) -> dict:
        self.correlation += 1
        self.writer.write(encode_request(key, version, self.correlation, "txn-test", body,
                                         size_prefix=True))
        await self.writer.drain()
        size = struct.unpack(">i", await self.reader.readexactly(4))[0]
        correlation, response = decode_response(key, version,
                                                await self.reader.readexactly(size))
        assert correlation == self.correlation
        return response


def fetch_request(topic: str, offset: int, isolation: int) -> dict:
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 1 << 20,
            "isolation_level": isolation, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "partitions": [
                {"partition": 0, "fetch_offset": offset, "partition_max_bytes": 1 << 20}]}],
            "forgotten_topics_data": [], "rack_id": ""}


async def test_wire_read_committed_lso_aborted_list_and_admin_apis(tmp_path):
    node = await start(tmp_path, serve=True)
    server = node.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    wire = Wire(reader, writer)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("w", 1)
        pid, epoch = await begin(txns, "w-aborted", [("w", 0)])
        broker.produce("w", 0, txn_batch(pid, epoch, 0, b"x", b"y"))
        await txns.end_txn("w-aborted", pid, epoch, False)  # offsets 0-1, ABORT at 2
        pid2, epoch2 = await begin(txns, "w-open", [("w", 0)])
        assert await txns.add_offsets("w-open", pid2, epoch2, "wg") == ErrorCode.NONE
        await txns.txn_offset_commit("w-open", "wg", pid2, epoch2, [CommittedOffset("w", 0, 1)])
        broker.produce("w", 0, txn_batch(pid2, epoch2, 0, b"pending"))  # offset 3, open

        committed = (await wire.call(FETCH, 11, fetch_request("w", 0, 1)))
        part = committed["responses"][0]["partitions"][0]
        assert (part["high_watermark"], part["last_stable_offset"]) == (4, 3)
        assert part["aborted_transactions"] == [{"producer_id": pid, "first_offset": 0}]
        assert [parse_header(part["records"]).base_offset] == [0]
        offsets = {h.base_offset for h in _headers(part["records"])}
        assert offsets == {0, 2}  # the aborted batch and its marker; nothing at the LSO
        uncommitted = await wire.call(FETCH, 11, fetch_request("w", 0, 0))
        part = uncommitted["responses"][0]["partitions"][0]
        assert part["aborted_transactions"] == [] and part["last_stable_offset"] == 3
        assert {h.base_offset for h in _headers(part["records"])} == {0, 2, 3}

        for isolation, expected in ((1, 3), (0, 4)):
            listed = await wire.call(LIST_OFFSETS, 5, {
                "replica_id": -1, "isolation_level": isolation, "topics": [
                    {"name": "w", "partitions": [{"partition_index": 0, "timestamp": -1,
                                                  "current_leader_epoch": -1}]}]})
            assert listed["topics"][0]["partitions"][0]["offset"] == expected

        for stable, code in ((True, ErrorCode.UNSTABLE_OFFSET_COMMIT), (False, 0)):
            fetched = await wire.call(OFFSET_FETCH, 7, {
                "group_id": "wg", "require_stable": stable,
                "topics": [{"name": "w", "partition_indexes": [0]}]})
            entry = fetched["topics"][0]["partitions"][0]
            assert (entry["error_code"], entry["committed_offset"]) == (code, -1)

        producers = await wire.call(DESCRIBE_PRODUCERS, 0, {
            "topics": [{"name": "w", "partition_indexes": [0, 5]}]})
        found, missing = producers["topics"][0]["partitions"]
        assert missing["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        by_pid = {p["producer_id"]: p for p in found["active_producers"]}
        assert by_pid[pid2]["current_txn_start_offset"] == 3
        assert by_pid[pid]["current_txn_start_offset"] == -1

        described = await wire.call(DESCRIBE_TRANSACTIONS, 0, {
            "transactional_ids": ["w-open", "w-aborted", "ghost"]})
        open_, aborted, ghost = described["transaction_states"]
        assert open_["transaction_state"] == "Ongoing"
        assert open_["topics"] == [{"topic": "w", "partitions": [0]}]
        assert aborted["transaction_state"] == "CompleteAbort" and aborted["topics"] == []
        assert ghost["error_code"] == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND

        listed = await wire.call(LIST_TRANSACTIONS, 1, {
            "state_filters": ["Ongoing", "Bogus"], "producer_id_filters": [],
            "duration_filter": -1})
        assert listed["unknown_state_filters"] == ["Bogus"]
        assert [t["transactional_id"] for t in listed["transaction_states"]] == ["w-open"]
        everything = await wire.call(LIST_TRANSACTIONS, 0, {
            "state_filters": [], "producer_id_filters": [pid]})
        assert [t["transactional_id"] for t in everything["transaction_states"]] == [
            "w-aborted"]
    finally:
        writer.close()
        await node.close()


def _headers(data: bytes):
    pos = 0
    while pos + 61 <= len(data):
        h = parse_header(data, pos)
        yield h
        pos += h.size


async def test_snapshot_lists_open_transactions_lso_and_aborted_ranges(tmp_path):
    clock = ManualClock()
    node = await start(tmp_path, clock)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("m", 1)
        observer = node.observer()
        pid, epoch = await begin(txns, "gone", [("m", 0)])
        broker.produce("m", 0, txn_batch(pid, epoch, 0, b"x"))
        await txns.end_txn("gone", pid, epoch, False)  # 0 aborted, ABORT at 1
        pid2, epoch2 = await begin(txns, "live", [("m", 0)], timeout_ms=60_000)
        broker.produce("m", 0, txn_batch(pid2, epoch2, 0, b"y"))  # offset 2, open
        clock.advance(1.5)
        snap = observer.snapshot()
        (open_,) = snap.transactions
        assert (open_.transactional_id, open_.producer_id, open_.state) == ("live", pid2,
                                                                           "Ongoing")
        assert open_.partitions == (("m", 0),) and open_.age_ms == 1500
        part = snap.topic("m").partitions[0]
        assert (part.high_watermark, part.last_stable_offset) == (3, 2)
        assert [(a.producer_id, a.first_offset, a.last_offset) for a in part.aborted] == [
            (pid, 0, 1)]
        await txns.end_txn("live", pid2, epoch2, True)
        snap = observer.snapshot()
        assert snap.transactions == ()
        part = snap.topic("m").partitions[0]
        assert (part.high_watermark, part.last_stable_offset) == (4, 4)
    finally:
        await node.close()


async def test_in_process_consumer_skips_transaction_markers(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        pid, epoch = await begin(txns, "ip", [("t", 0)])
        broker.produce("t", 0, txn_batch(pid, epoch, 0, b"a"))
        await txns.end_txn("ip", pid, epoch, True)  # COMMIT marker at 1
        broker.produce("t", 0, build_batch([(None, b"b")]))  # offset 2
        c = await consumer(broker, "g-ip", "c1", ["t"]).start()
        try:
            got: list[bytes] = []
            async with asyncio.timeout(WAIT_S):  # only reached by a hang
                while len(got) < 2:
                    batch = await c.getmany(timeout_ms=50)
                    got.extend(r.value for recs in batch.values() for r in recs)
            assert got == [b"a", b"b"]
            assert c.position(("t", 0)) == 3
            pid, epoch = await begin(txns, "ip", [("t", 0)])
            broker.produce("t", 0, txn_batch(pid, epoch, 0, b"c"))  # offset 3
            await txns.end_txn("ip", pid, epoch, True)  # COMMIT at 4, the log's last batch
            async with asyncio.timeout(WAIT_S):
                while c.position(("t", 0)) < 5:  # a fetch of the marker alone steps over it
                    batch = await c.getmany(timeout_ms=50)
                    got.extend(r.value for recs in batch.values() for r in recs)
            assert got == [b"a", b"b", b"c"]
        finally:
            await c.close()
    finally:
        await node.close()


async def test_transactional_batch_outside_a_transaction_is_refused(tmp_path):
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 2)
        pid, epoch = await begin(txns, "v", [("t", 0)])
        for topic, index, batch_epoch in (("t", 1, epoch), ("t", 0, epoch + 1)):
            with pytest.raises(KafkaError) as refused:
                broker.produce(topic, index, txn_batch(pid, batch_epoch, 0, b"stray"))
            assert refused.value.code == ErrorCode.INVALID_TXN_STATE
        broker.produce("t", 0, txn_batch(pid, epoch, 0, b"ok"))
        await txns.end_txn("v", pid, epoch, True)
        with pytest.raises(KafkaError):  # the transaction is over: no more of its batches
            broker.produce("t", 0, txn_batch(pid, epoch, 1, b"late"))
        assert broker.partition("t", 1).log.log_end_offset == 0
        assert broker.partition("t", 0).txns.ongoing == {}
        # A zombie (its id re-initialised elsewhere) is told it is fenced, even on a
        # partition no marker of the newer epoch has reached.
        assert (await txns.init_producer_id("v", 10_000))[2] == epoch + 1
        with pytest.raises(KafkaError) as fenced:
            broker.produce("t", 1, txn_batch(pid, epoch, 0, b"zombie"))
        assert fenced.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    finally:
        await node.close()


async def test_a_hanging_transaction_in_the_log_is_aborted_at_start(tmp_path):
    node = await start(tmp_path)
    try:
        node.broker.create_topic("t", 1)
        node.broker.txn_verifier = None  # as a broker that never checked would have let in
        node.broker.produce("t", 0, txn_batch(4242, 0, 0, b"hanging"))
    finally:
        await node.close()
    node = await start(tmp_path)
    try:
        part = node.broker.partition("t", 0)
        assert part.txns.ongoing == {}
        assert part.txns.last_stable_offset(part.log.log_end_offset) == 2
        assert [(a.producer_id, a.first_offset) for a in part.txns.aborted] == [(4242, 0)]
    finally:
        await node.close()


async def test_end_txn_returns_once_the_markers_are_durable_with_fsync_always(tmp_path):
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data", fsync="always")
    node = await Node(config, serve=False).start()
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        pid, epoch = await begin(txns, "dur", [("t", 0)])
        broker.produce("t", 0, txn_batch(pid, epoch, 0, b"a"))
        await broker.make_durable([("t", 0, 1)])
        assert await txns.end_txn("dur", pid, epoch, True) == ErrorCode.NONE
        part = broker.partition("t", 0)
        assert part.log.log_end_offset == 2  # the marker is visible: it is durable
        assert part.txns.last_stable_offset(2) == 2
    finally:
        await node.close()


def test_partition_txns_lso_aborted_ranges_trim_and_bound():
    from streamscope.core.idempotence import MAX_ABORTED_TXNS, PartitionTxns

    txns = PartitionTxns()
    assert txns.last_stable_offset(10) == 10
    txns.ongoing.update({1: 4, 2: 7})
    assert txns.last_stable_offset(10) == 4
    txns.marker(1, ABORT, 8)  # [4, 8]
    txns.marker(2, COMMIT, 9)  # committed: not listed
    txns.ongoing[3] = 10
    txns.marker(3, ABORT, 12)  # [10, 12]
    assert txns.last_stable_offset(13) == 13
    assert [a.producer_id for a in txns.aborted_between(0, 5)] == [1]
    assert [a.producer_id for a in txns.aborted_between(9, 11)] == [3]
    assert txns.aborted_between(9, 10) == []  # [10, 12] starts at the end: not inside
    assert [a.producer_id for a in txns.aborted_between(5, 20)] == [1, 3]
    txns.trim(9)
    assert [a.producer_id for a in txns.aborted] == [3]
    for i in range(MAX_ABORTED_TXNS + 5):
        txns.ongoing[100 + i] = 20 + 2 * i
        txns.marker(100 + i, ABORT, 21 + 2 * i)
    assert len(txns.aborted) == MAX_ABORTED_TXNS
    assert txns.aborted[0].producer_id == 105  # the oldest went first


async def test_txn_offset_commit_checks_the_member_and_generation(tmp_path):
    """KIP-447: a consumer-transform-producer passes its group metadata; a member that
    was fenced by a rebalance (stale generation, unknown member) is refused."""
    node = await start(tmp_path)
    try:
        broker, txns = node.broker, node.transactions
        broker.create_topic("t", 1)
        c = await consumer(broker, "g447", "c1", ["t"]).start()
        try:
            async with asyncio.timeout(WAIT_S):
                while not c.assignment():
                    await c.getmany(timeout_ms=50)
            member, generation = c.membership.member_id, c.membership.generation
            pid, epoch = await begin(txns, "k447", [("t", 0)])
            assert await txns.add_offsets("k447", pid, epoch, "g447") == ErrorCode.NONE
            offsets = [CommittedOffset("t", 0, 1)]
            for member_id, gen, expected in (
                    (member, generation + 1, ErrorCode.ILLEGAL_GENERATION),
                    ("someone-else", generation, ErrorCode.UNKNOWN_MEMBER_ID),
                    (member, generation, ErrorCode.NONE),
                    ("", -1, ErrorCode.NONE)):  # v0-2: no group metadata at all
                result = await txns.txn_offset_commit(
                    "k447", "g447", pid, epoch, offsets, member_id=member_id,
                    generation_id=gen)
                assert result == {("t", 0): expected}, (member_id, gen)
        finally:
            await c.close()
    finally:
        await node.close()


async def test_wire_fencing_error_follows_the_request_version(tmp_path):
    """PRODUCER_FENCED (KIP-588) only for versions that know it; INVALID_PRODUCER_EPOCH
    before (InitProducerId v4, AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2)."""
    node = await start(tmp_path, serve=True)
    reader, writer = await asyncio.open_connection(node.server.host, node.server.port)
    wire = Wire(reader, writer)
    try:
        node.broker.create_topic("f", 1)
        first = await wire.call(22, 4, {"transactional_id": "fw", "transaction_timeout_ms": 5000})
        second = await wire.call(22, 4, {"transactional_id": "fw",
                                         "transaction_timeout_ms": 5000})
        assert second["producer_epoch"] == first["producer_epoch"] + 1
        old = {"transactional_id": "fw", "producer_id": first["producer_id"],
               "producer_epoch": first["producer_epoch"]}
        for version, code in ((1, ErrorCode.INVALID_PRODUCER_EPOCH),
                              (2, ErrorCode.PRODUCER_FENCED), (3, ErrorCode.PRODUCER_FENCED)):
            ended = await wire.call(26, version, {**old, "committed": True})
            assert ended["error_code"] == code, version
            added = await wire.call(25, version, {**old, "group_id": "g"})
            assert added["error_code"] == code, version
            parts = await wire.call(24, version, {
                "v3_and_below_transactional_id": "fw",
                "v3_and_below_producer_id": first["producer_id"],
                "v3_and_below_producer_epoch": first["producer_epoch"],
                "v3_and_below_topics": [{"name": "f", "partitions": [0]}]})
            result = parts["results_by_topic_v3_and_below"][0]["results_by_partition"][0]
            assert result["partition_error_code"] == code, version
        for version, code in ((3, ErrorCode.INVALID_PRODUCER_EPOCH),
                              (4, ErrorCode.PRODUCER_FENCED)):
            stale = await wire.call(22, version, {
                "transactional_id": "fw", "transaction_timeout_ms": 5000,
                "producer_id": first["producer_id"], "producer_epoch": first["producer_epoch"]})
            assert stale["error_code"] == code, version
        committed = await wire.call(28, 3, {
            "transactional_id": "fw", "group_id": "g", "producer_id": first["producer_id"],
            "producer_epoch": first["producer_epoch"], "topics": [
                {"name": "f", "partitions": [{"partition_index": 0, "committed_offset": 1,
                                              "committed_metadata": None}]}]})
        assert committed["topics"][0]["partitions"][0]["error_code"] == \
            ErrorCode.INVALID_PRODUCER_EPOCH
        unknown = await wire.call(26, 3, {"transactional_id": "nobody", "producer_id": 1,
                                          "producer_epoch": 0, "committed": False})
        assert unknown["error_code"] == ErrorCode.INVALID_PRODUCER_ID_MAPPING
    finally:
        writer.close()
        await node.close()


async def test_a_marker_refused_by_the_disk_is_retried_and_the_commit_never_lost(tmp_path):
    clock = ManualClock()
    with files.installed(FaultyFiles()) as faulty:
        node = await start(tmp_path, clock)
        try:
            broker, txns = node.broker, node.transactions
            broker.create_topic("t", 2)
            pid, epoch = await begin(txns, "disk", [("t", 0), ("t", 1)])
            for index in (0, 1):
                broker.produce("t", index, txn_batch(pid, epoch, 0, b"v"))
            faulty.fail_next("write", errno.ENOSPC, times=None, path_contains="/t-1/")
            assert await txns.end_txn("disk", pid, epoch, True) == ErrorCode.NONE
            meta = txns.transactions["disk"]
            assert meta.state == PREPARE_COMMIT and meta.partitions == {("t", 1)}
            assert broker.partition("t", 0).txns.ongoing == {}  # its marker is in
            assert broker.partition("t", 1).txns.ongoing == {pid: 0}
            # The producer's next transaction waits for the markers.
            again = await txns.add_partitions("disk", pid, epoch, [("t", 0)])
            assert again == {("t", 0): ErrorCode.CONCURRENT_TRANSACTIONS}
            clock.advance(MARKER_RETRY_S)
            await txns.settle()
            assert meta.state == PREPARE_COMMIT  # still refused: retried again later
            faulty.heal()
            clock.advance(MARKER_RETRY_S)
            await txns.settle()
            assert meta.state == COMPLETE_COMMIT
            part = broker.partition("t", 1)
            assert part.txns.ongoing == {} and not part.txns.aborted
            assert marker_type(broker.read_stored("t", 1, 1, 1 << 16)) == COMMIT
        finally:
            await node.close()


async def test_the_coordinator_and_partition_state_satisfy_their_typed_seams(tmp_path):
    from streamscope.core.monitor.ports import (
        PartitionTxnsView,
        TransactionsView,
        TxnMetaView,
    )
    from streamscope.core.ports import TxnVerifier

    node = await start(tmp_path)
    try:
        node.broker.create_topic("t", 1)
        txns = node.transactions
        await begin(txns, "seam", [("t", 0)])
        assert isinstance(txns, TransactionsView) and isinstance(txns, TxnVerifier)
        assert isinstance(txns.transactions["seam"], TxnMetaView)
        assert isinstance(node.broker.partition("t", 0).txns, PartitionTxnsView)
        assert node.broker.txn_verifier is txns
    finally:
        await node.close()
