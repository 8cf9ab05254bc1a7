"""The Kafka APIs over a real socket: each handler's behaviour at the versions clients use.

A real Broker and Server run on this test's loop on 127.0.0.1 port 0; requests are built
with core.protocol's client-side codec and sent over a plain asyncio connection.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import Callable

import pytest
from streamscope.core.api import load_handlers
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode
from streamscope.core.node import start_node
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.records import build_batch, iter_all_records
from streamscope.core.server import Server

from tests.core.test_legacy_records import message as legacy_message

pytestmark = pytest.mark.timeout(60)

PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS = 18, 19, 20, 21
INIT_PRODUCER_ID, DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE_PARTITIONS = 22, 32, 33, 37
INCREMENTAL_ALTER_CONFIGS, DESCRIBE_CLUSTER = 44, 60
INT32_MIN = -2147483648


async def until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait until ``condition()`` holds, checking every few ms; the timeout fails a stuck test."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def parked(broker: Broker, topic: str, partition: int = 0) -> bool:
    """Whether a long-polling fetch is waiting for data on this partition."""
    t = broker.topics.get(topic)
    return t is not None and bool(t.partitions[partition].waiters)


class Wire:
    """A minimal Kafka client over one connection: send frames, read answers in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.correlation = 0

    @classmethod
    async def connect(cls, server: Server) -> Wire:
        return cls(*await asyncio.open_connection(server.host, server.port))

    async def send(self, key: int, version: int, body: dict) -> int:
        self.correlation += 1
        self.writer.write(
            encode_request(key, version, self.correlation, "wire-test", body, size_prefix=True)
        )
        await self.writer.drain()
        return self.correlation

    async def recv(self, key: int, version: int, timeout: float = 5.0) -> tuple[int, dict]:
        async def read() -> bytes:
            size = struct.unpack(">i", await self.reader.readexactly(4))[0]
            return await self.reader.readexactly(size)

        return decode_response(key, version, await asyncio.wait_for(read(), timeout))

    async def call(self, key: int, version: int, body: dict, timeout: float = 5.0) -> dict:
        sent = await self.send(key, version, body)
        correlation, response = await self.recv(key, version, timeout)
        assert correlation == sent
        return response

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def produce_body(topic: str, partition: int, records: bytes, acks: int = -1) -> dict:
    return {"acks": acks, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": partition, "records": records}]}]}


def fetch_body(parts: list[tuple[str, int, int]], *, max_wait_ms: int = 0, min_bytes: int = 1,
               max_bytes: int = 50 * 1024 * 1024, partition_max_bytes: int = 1024 * 1024,
               session_epoch: int = -1) -> dict:
    topics: dict[str, list] = {}
    for topic, partition, offset in parts:
        topics.setdefault(topic, []).append(
            {"partition": partition, "fetch_offset": offset, "partition_max_bytes": partition_max_bytes})
    return {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": max_bytes,
            "session_epoch": session_epoch,
            "topics": [{"topic": t, "partitions": ps} for t, ps in topics.items()]}


def batch(*values: bytes, key: bytes | None = b"k") -> bytes:
    return build_batch([(key, v) for v in values])


def only_partition(response: dict, field: str = "responses", parts: str = "partitions") -> dict:
    (topic,) = response[field]
    (part,) = topic[parts]
    return part


# --- ApiVersions ----------------------------------------------------------------------


async def test_api_versions_advertises_exactly_the_registered_handlers(served, wire):
    broker, _ = served
    response = await wire.call(API_VERSIONS, 3, {"client_software_name": "wire-test",
                                                 "client_software_version": "1.2.3"})
    assert response["error_code"] == 0
    advertised = {k["api_key"]: (k["min_version"], k["max_version"]) for k in response["api_keys"]}
    registered = {key: (m.MIN_VERSION, m.MAX_VERSION) for key, m in load_handlers().items()}
    assert advertised == registered
    for key, versions in {0: (0, 9), 1: (4, 12), 2: (1, 7), 3: (0, 12), 18: (0, 4), 19: (0, 7),
                          20: (0, 6), 21: (0, 2), 22: (0, 4), 32: (0, 4), 33: (0, 2),
                          37: (0, 3), 44: (0, 1), 60: (0, 1)}.items():
        assert advertised[key] == versions
    assert response["throttle_time_ms"] == 0
    assert response["finalized_features"] == [] and response["supported_features"] == []
    (conn,) = broker.connections.values()
    assert (conn.software_name, conn.software_version) == ("wire-test", "1.2.3")
    assert conn.client_id == "wire-test"


async def test_api_versions_above_range_gets_error_35_in_a_v0_body_and_stays_open(wire):
    # Build a v4 request and relabel it v9: the body of v3+ requests is the same shape.
    frame = bytearray(encode_request(API_VERSIONS, 4, 77, "x", {}, size_prefix=True))
    struct.pack_into(">h", frame, 6, 9)
    wire.writer.write(frame)
    correlation, body = await wire.recv(API_VERSIONS, 0)
    assert correlation == 77
    assert body["error_code"] == ErrorCode.UNSUPPORTED_VERSION
    assert {"api_key": 18, "min_version": 0, "max_version": 4} in body["api_keys"]
    # The connection still works: the client retries at a version in range.
    assert (await wire.call(API_VERSIONS, 0, {}))["error_code"] == 0


# --- Metadata -------------------------------------------------------------------------


async def test_metadata_describes_this_node_and_topic_layout(served, wire):
    broker, server = served
    broker.create_topic("orders", 3)
    response = await wire.call(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False})
    assert response["brokers"] == [
        {"node_id": 0, "host": "127.0.0.1", "port": server.port, "rack": None}]
    assert response["controller_id"] == 0
    assert response["cluster_id"] == broker.cluster_id and broker.cluster_id
    (topic,) = response["topics"]
    assert topic["name"] == "orders" and topic["error_code"] == 0
    assert topic["topic_id"] == broker.topics["orders"].topic_id
    assert topic["topic_authorized_operations"] == INT32_MIN
    assert [p["partition_index"] for p in topic["partitions"]] == [0, 1, 2]
    for p in topic["partitions"]:
        assert (p["leader_id"], p["leader_epoch"], p["replica_nodes"], p["isr_nodes"],
                p["offline_replicas"]) == (0, 0, [0], [0], [])


async def test_metadata_topic_list_semantics_by_version(served, wire):
    broker, _ = served
    broker.create_topic("a")
    broker.create_topic("b")
    v0_all = await wire.call(METADATA, 0, {"topics": []})
    assert sorted(t["name"] for t in v0_all["topics"]) == ["a", "b"]
    v1_none = await wire.call(METADATA, 1, {"topics": []})
    assert v1_none["topics"] == []
    v1_all = await wire.call(METADATA, 1, {"topics": None})
    assert sorted(t["name"] for t in v1_all["topics"]) == ["a", "b"]


async def test_metadata_ignores_trailing_bytes_like_librdkafkas_all_topics_request(served, wire):
    # librdkafka 2.x's all-topics Metadata v9+ leaves a 4-byte array-count placeholder:
    # 00 (null = all topics) then three stray zero bytes before its real fields. Kafka
    # ignores what follows a body, so librdkafka never noticed; neither may we.
    broker, _ = served
    broker.create_topic("seen")
    header = struct.pack(">hhih", METADATA, 12, 5, 7) + b"rdkafka" + b"\0"
    body = bytes.fromhex("00000000010000")
    wire.writer.write(struct.pack(">i", len(header) + len(body)) + header + body)
    correlation, response = await wire.recv(METADATA, 12)
    assert correlation == 5
    assert [t["name"] for t in response["topics"]] == ["seen"]


async def test_metadata_auto_creates_only_when_request_and_broker_allow(served, wire):
    broker, _ = served
    refused = await wire.call(METADATA, 9, {"topics": [{"name": "nope"}],
                                            "allow_auto_topic_creation": False})
    assert refused["topics"][0]["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert "nope" not in broker.topics
    created = await wire.call(METADATA, 4, {"topics": [{"name": "fresh"}],
                                            "allow_auto_topic_creation": True})
    assert created["topics"][0]["error_code"] == 0
    assert len(created["topics"][0]["partitions"]) == broker.config.default_partitions
    assert "fresh" in broker.topics
    invalid = await wire.call(METADATA, 4, {"topics": [{"name": "bad/name"}],
                                            "allow_auto_topic_creation": True})
    assert invalid["topics"][0]["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION


async def test_metadata_v12_looks_topics_up_by_id(served, wire):
    broker, _ = served
    topic = broker.create_topic("by-id", 2)
    response = await wire.call(METADATA, 12, {"topics": [
        {"topic_id": topic.topic_id, "name": None}, {"topic_id": uuid.uuid4(), "name": None}]})
    found, missing = response["topics"]
    assert found["name"] == "by-id" and len(found["partitions"]) == 2
    assert (missing["name"], missing["error_code"]) == (None, ErrorCode.UNKNOWN_TOPIC_ID)
    v10 = await wire.call(METADATA, 10, {"topics": [{"topic_id": uuid.uuid4(), "name": None}]})
    assert (v10["topics"][0]["name"], v10["topics"][0]["error_code"]) == (
        "", ErrorCode.UNKNOWN_TOPIC_ID)


# --- Produce --------------------------------------------------------------------------


async def test_produce_answers_base_offsets_and_auto_creates(served, wire):
    broker, _ = served
    first = only_partition(await wire.call(PRODUCE, 9, produce_body("new", 0, batch(b"a", b"b"))),
                           parts="partition_responses")
    second = only_partition(await wire.call(PRODUCE, 7, produce_body("new", 0, batch(b"c"))),
                            parts="partition_responses")
    assert (first["error_code"], first["base_offset"], first["log_start_offset"]) == (0, 0, 0)
    assert first["log_append_time_ms"] == -1
    assert (second["error_code"], second["base_offset"]) == (0, 2)
    assert broker.partition_offsets("new", 0) == (0, 3)


async def test_produce_with_acks_0_appends_and_sends_no_answer(served, wire):
    broker, _ = served
    broker.create_topic("quiet")
    await wire.send(PRODUCE, 8, produce_body("quiet", 0, batch(b"x"), acks=0))
    # The next answer on this connection belongs to the next request.
    sent = await wire.send(METADATA, 1, {"topics": []})
    correlation, _ = await wire.recv(METADATA, 1)
    assert correlation == sent
    assert broker.partition_offsets("quiet", 0) == (0, 1)


async def test_refused_produce_with_acks_0_closes_the_connection(served, wire):
    broker, _ = served
    broker.create_topic("quiet")
    corrupt = bytearray(batch(b"x"))
    corrupt[-1] ^= 0xFF
    await wire.send(PRODUCE, 8, produce_body("quiet", 0, bytes(corrupt), acks=0))
    # No reply is ever read for acks=0, so the broker hangs up instead: EOF.
    assert await asyncio.wait_for(wire.reader.read(), 5) == b""
    assert broker.partition_offsets("quiet", 0) == (0, 0)


async def test_produce_refusals_use_kafka_codes(served, wire):
    broker, _ = served
    broker.create_topic("t", 1)
    bad_acks = await wire.call(PRODUCE, 9, produce_body("t", 0, batch(b"a"), acks=2))
    assert only_partition(bad_acks, parts="partition_responses")["error_code"] == \
        ErrorCode.INVALID_REQUIRED_ACKS
    no_partition = await wire.call(PRODUCE, 9, produce_body("t", 5, batch(b"a")))
    assert only_partition(no_partition, parts="partition_responses")["error_code"] == \
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    corrupt = bytearray(batch(b"a"))
    corrupt[-1] ^= 0xFF
    crc = await wire.call(PRODUCE, 9, produce_body("t", 0, bytes(corrupt)))
    part = only_partition(crc, parts="partition_responses")
    assert part["error_code"] == ErrorCode.CORRUPT_MESSAGE and part["base_offset"] == -1
    assert part["error_message"]
    old_format = bytearray(batch(b"a"))
    old_format[16] = 1  # magic 1: read as an old message set, whose CRC32 fails
    v2 = await wire.call(PRODUCE, 2, produce_body("t", 0, bytes(old_format)))
    assert only_partition(v2, parts="partition_responses")["error_code"] == \
        ErrorCode.CORRUPT_MESSAGE
    # A well-formed old message set is up-converted on v0-2 only, as Kafka does.
    legacy = legacy_message(b"k", b"v")
    v3 = await wire.call(PRODUCE, 3, produce_body("t", 0, legacy))
    part = only_partition(v3, parts="partition_responses")
    assert part["error_code"] == ErrorCode.INVALID_RECORD
    assert broker.partition_offsets("t", 0) == (0, 0)
    v2 = await wire.call(PRODUCE, 2, produce_body("t", 0, legacy))
    assert only_partition(v2, parts="partition_responses")["error_code"] == 0
    assert broker.partition_offsets("t", 0) == (0, 1)


async def test_idempotent_produce_dedupes_retries_and_refuses_gaps(served, wire):
    broker, _ = served
    broker.create_topic("idem")
    init = await wire.call(INIT_PRODUCER_ID, 4, {"transactional_id": None,
                                                 "transaction_timeout_ms": 60000})
    pid = init["producer_id"]

    def seq_batch(seq: int, *values: bytes, epoch: int = 0) -> bytes:
        return build_batch([(b"k", v) for v in values], producer_id=pid, producer_epoch=epoch,
                           base_sequence=seq)

    async def send(records: bytes) -> dict:
        return only_partition(await wire.call(PRODUCE, 9, produce_body("idem", 0, records)),
                              parts="partition_responses")

    first = await send(seq_batch(0, b"a", b"b"))
    retry = await send(seq_batch(0, b"a", b"b"))  # the same batch again: a client retry
    assert (first["error_code"], first["base_offset"]) == (0, 0)
    assert (retry["error_code"], retry["base_offset"]) == (0, 0)
    gap = await send(seq_batch(5, b"c"))
    assert gap["error_code"] == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert (await send(seq_batch(2, b"c")))["base_offset"] == 2
    assert broker.partition_offsets("idem", 0) == (0, 3)
    # After an epoch bump (KIP-360) the producer starts again at sequence 0.
    bumped = await wire.call(INIT_PRODUCER_ID, 4, {
        "transactional_id": None, "transaction_timeout_ms": 60000,
        "producer_id": pid, "producer_epoch": 0})
    assert (bumped["producer_id"], bumped["producer_epoch"]) == (pid, 1)
    assert (await send(seq_batch(0, b"d", epoch=1)))["base_offset"] == 3
    assert (await send(seq_batch(9, b"e", epoch=0)))["error_code"] == \
        ErrorCode.INVALID_PRODUCER_EPOCH


async def test_produce_refuses_unknown_topic_when_auto_create_is_off(tmp_path):
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d",
                          auto_create_topics=False)
    node = await start_node(config)
    broker, server = node.broker, node.server
    w = await Wire.connect(server)
    try:
        response = await w.call(PRODUCE, 9, produce_body("ghost", 0, batch(b"a")))
        assert only_partition(response, parts="partition_responses")["error_code"] == \
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert "ghost" not in broker.topics
    finally:
        await w.close()
        await node.close()


# --- Fetch ----------------------------------------------------------------------------


async def test_fetch_returns_stored_batches_and_offsets(served, wire):
    broker, _ = served
    broker.create_topic("f")
    broker.produce("f", 0, batch(b"one", b"two"))
    broker.produce("f", 0, batch(b"three"))
    response = await wire.call(FETCH, 12, fetch_body([("f", 0, 1)]))
    assert response["error_code"] == 0 and response["session_id"] == 0
    part = only_partition(response)
    assert (part["high_watermark"], part["last_stable_offset"], part["log_start_offset"]) == (3, 3, 0)
    assert part["aborted_transactions"] == [] and part["preferred_read_replica"] == -1
    # Whole batches from the one containing offset 1.
    assert [(r.offset, r.value) for r in iter_all_records(part["records"])] == \
        [(0, b"one"), (1, b"two"), (2, b"three")]


async def test_fetch_lists_every_partition_with_its_own_error(served, wire):
    broker, _ = served
    broker.create_topic("f", 2)
    broker.produce("f", 0, batch(b"x"))
    response = await wire.call(FETCH, 11, fetch_body(
        [("f", 0, 0), ("f", 1, 0), ("f", 1, 5), ("f", 7, 0), ("missing", 0, 0)]))
    parts = [(t["topic"], p["partition_index"], p["error_code"], p["records"])
             for t in response["responses"] for p in t["partitions"]]
    assert [p[:3] for p in parts] == [
        ("f", 0, 0), ("f", 1, 0), ("f", 1, ErrorCode.OFFSET_OUT_OF_RANGE),
        ("f", 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        ("missing", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
    assert parts[0][3] and parts[1][3] == b""  # empty, never null
    assert all(p[3] == b"" for p in parts[2:])


async def test_fetch_long_poll_is_answered_by_an_append_not_by_max_wait(served, wire):
    broker, server = served
    broker.create_topic("lp")
    producer = await Wire.connect(server)
    try:
        # max_wait far beyond the test's timeout: only the append can answer this fetch.
        sent = await wire.send(FETCH, 12, fetch_body([("lp", 0, 0)], max_wait_ms=3_600_000))
        await until(lambda: parked(broker, "lp"))  # an earlier append would answer at once
        await producer.call(PRODUCE, 9, produce_body("lp", 0, batch(b"wake")))
        correlation, response = await wire.recv(FETCH, 12, timeout=30)
    finally:
        await producer.close()
    assert correlation == sent
    assert [r.value for r in iter_all_records(only_partition(response)["records"])] == [b"wake"]
    assert not parked(broker, "lp")


async def test_fetch_waits_max_wait_when_nothing_arrives_and_answers_empty(served, wire):
    broker, _ = served
    broker.create_topic("idle")
    sent = await wire.send(FETCH, 12, fetch_body([("idle", 0, 0)], max_wait_ms=300))
    await until(lambda: parked(broker, "idle"))  # it waits rather than answering at once
    correlation, response = await wire.recv(FETCH, 12, timeout=30)
    assert correlation == sent
    assert only_partition(response)["records"] == b""
    assert not parked(broker, "idle")  # the timer ended the wait, nothing was left behind


async def test_fetch_waits_for_min_bytes_across_appends(served, wire):
    broker, server = served
    broker.create_topic("mb")
    broker.produce("mb", 0, batch(b"small"))
    producer = await Wire.connect(server)
    try:
        sent = await wire.send(FETCH, 12, fetch_body([("mb", 0, 0)], max_wait_ms=10_000,
                                                     min_bytes=2000))
        # Still waiting, parked after the small batch: it is below min_bytes.
        await until(lambda: parked(broker, "mb"))
        await producer.call(PRODUCE, 9, produce_body("mb", 0, batch(b"y" * 3000)))
        correlation, response = await wire.recv(FETCH, 12, timeout=5)
    finally:
        await producer.close()
    assert correlation == sent
    assert len(list(iter_all_records(only_partition(response)["records"]))) == 2


async def test_fetch_size_limits_keep_whole_batches_and_one_oversized_first(served, wire):
    broker, _ = served
    broker.create_topic("big", 2)
    broker.produce("big", 0, batch(b"a" * 5000))
    broker.produce("big", 1, batch(b"b" * 5000))
    response = await wire.call(FETCH, 12, fetch_body(
        [("big", 0, 0), ("big", 1, 0)], max_bytes=1000, partition_max_bytes=1000))
    first, second = response["responses"][0]["partitions"]
    # The first partition with data gets its whole first batch despite the limits ...
    assert [r.value for r in iter_all_records(first["records"])] == [b"a" * 5000]
    # ... the next gets nothing (the answer is over max_bytes), but is still listed.
    assert second["records"] == b"" and second["high_watermark"] == 1


async def test_fetch_partition_max_bytes_counts_whole_batches(served, wire):
    broker, _ = served
    broker.create_topic("many")
    for i in range(10):
        broker.produce("many", 0, batch(bytes([65 + i]) * 900))
    response = await wire.call(FETCH, 12, fetch_body([("many", 0, 0)], partition_max_bytes=3000))
    records = only_partition(response)["records"]
    assert 0 < len(records) <= 3000
    values = [r.value for r in iter_all_records(records)]
    assert values == [bytes([65 + i]) * 900 for i in range(len(values))]
    assert 2 <= len(values) < 10


async def test_server_close_answers_a_parked_long_poll_at_once(served, wire):
    broker, server = served
    broker.create_topic("closing")
    # max_wait far beyond any timeout here: only the close can answer this fetch, and a
    # close that did not would cancel it after its grace period, with no answer at all.
    sent = await wire.send(FETCH, 12, fetch_body([("closing", 0, 0)], max_wait_ms=3_600_000))
    await until(lambda: parked(broker, "closing"))
    await server.close()
    correlation, response = await wire.recv(FETCH, 12, timeout=30)
    assert correlation == sent and only_partition(response)["records"] == b""
    assert await wire.reader.read() == b""  # and then the connection is closed


async def test_fetch_declines_incremental_sessions_with_error_70(served, wire):
    broker, _ = served
    broker.create_topic("s")
    response = await wire.call(FETCH, 12, fetch_body([("s", 0, 0)], session_epoch=3))
    assert response["error_code"] == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert response["responses"] == [] and response["session_id"] == 0
    full = await wire.call(FETCH, 12, fetch_body([("s", 0, 0)], session_epoch=0))
    assert full["error_code"] == 0 and full["session_id"] == 0


async def test_pipelined_requests_are_answered_in_order(served, wire):
    broker, _ = served
    broker.create_topic("p")
    slow = await wire.send(FETCH, 12, fetch_body([("p", 0, 0)], max_wait_ms=300))
    quick = await wire.send(METADATA, 12, {"topics": None})
    assert (await wire.recv(FETCH, 12))[0] == slow
    assert (await wire.recv(METADATA, 12))[0] == quick


# --- ListOffsets ----------------------------------------------------------------------


async def test_list_offsets_earliest_latest_max_timestamp_and_by_time(served, wire):
    broker, _ = served
    broker.create_topic("lo")
    base = 1_700_000_000_000
    broker.produce("lo", 0, build_batch([(b"k", b"v", None, base + i * 10) for i in range(3)]))
    broker.produce("lo", 0, build_batch([(b"k", b"late", None, base + 1000),
                                         (b"k", b"early", None, base + 5)]))

    async def ask(version: int, timestamp: int) -> dict:
        response = await wire.call(LIST_OFFSETS, version, {"replica_id": -1, "topics": [
            {"name": "lo", "partitions": [{"partition_index": 0, "timestamp": timestamp}]}]})
        return only_partition(response, field="topics")

    assert (await ask(1, -2))["offset"] == 0
    latest = await ask(7, -1)
    assert (latest["offset"], latest["timestamp"], latest["leader_epoch"]) == (5, -1, 0)
    max_ts = await ask(7, -3)
    assert (max_ts["offset"], max_ts["timestamp"]) == (3, base + 1000)
    by_time = await ask(4, base + 15)
    assert (by_time["offset"], by_time["timestamp"]) == (2, base + 20)
    past_end = await ask(7, base + 10_000)
    assert (past_end["error_code"], past_end["offset"]) == (0, -1)
    unknown = await wire.call(LIST_OFFSETS, 5, {"replica_id": -1, "topics": [
        {"name": "nope", "partitions": [{"partition_index": 0, "timestamp": -1}]}]})
    assert only_partition(unknown, field="topics")["error_code"] == \
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


# --- Admin ----------------------------------------------------------------------------


def creatable(name: str, partitions: int = 1, rf: int = -1, configs=None, assignments=None):
    return {"name": name, "num_partitions": partitions, "replication_factor": rf,
            "assignments": assignments or [],
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}


async def test_create_topics_checks_replication_assignments_and_duplicates(served, wire):
    broker, _ = served
    response = await wire.call(CREATE_TOPICS, 7, {"topics": [
        creatable("ok", 4, 1, {"retention.ms": "1000"}),
        creatable("rf3", 1, 3),
        creatable("twice"), creatable("twice"),
        creatable("manual", -1, -1, assignments=[
            {"partition_index": 0, "broker_ids": [0]}, {"partition_index": 1, "broker_ids": [0]}]),
        creatable("elsewhere", -1, -1, assignments=[{"partition_index": 0, "broker_ids": [7]}]),
        creatable("badconf", 1, 1, {"no.such.config": "1"}),
        creatable("zero", 0, 1),
    ], "timeout_ms": 1000})
    by_name = [(t["name"], t["error_code"]) for t in response["topics"]]
    assert by_name == [
        ("ok", 0), ("rf3", ErrorCode.INVALID_REPLICATION_FACTOR),
        ("twice", ErrorCode.INVALID_REQUEST), ("twice", ErrorCode.INVALID_REQUEST),
        ("manual", 0), ("elsewhere", ErrorCode.INVALID_REPLICA_ASSIGNMENT),
        ("badconf", ErrorCode.INVALID_CONFIG), ("zero", ErrorCode.INVALID_PARTITIONS)]
    ok, rf3 = response["topics"][0], response["topics"][1]
    assert "only 1 broker(s)" in rf3["error_message"]
    assert (ok["num_partitions"], ok["replication_factor"]) == (4, 1)
    assert ok["topic_id"] == broker.topics["ok"].topic_id
    configs = {c["name"]: (c["value"], c["config_source"]) for c in ok["configs"]}
    assert configs["retention.ms"] == ("1000", 1)
    assert configs["segment.bytes"][1] == 5
    assert sorted(broker.topics) == ["manual", "ok"]
    assert len(broker.topics["manual"].partitions) == 2


async def test_create_topics_validate_only_and_existing(served, wire):
    broker, _ = served
    broker.create_topic("exists")
    response = await wire.call(CREATE_TOPICS, 4, {"topics": [
        creatable("dry", 3), creatable("exists")], "timeout_ms": 1000, "validate_only": True})
    assert [(t["name"], t["error_code"]) for t in response["topics"]] == [
        ("dry", 0), ("exists", ErrorCode.TOPIC_ALREADY_EXISTS)]
    assert "dry" not in broker.topics


async def test_delete_topics_by_name_and_by_id(served, wire):
    broker, _ = served
    broker.create_topic("old-api")
    topic = broker.create_topic("new-api")
    v1 = await wire.call(DELETE_TOPICS, 1, {"topic_names": ["old-api", "ghost"], "timeout_ms": 1000})
    assert [(r["name"], r["error_code"]) for r in v1["responses"]] == [
        ("old-api", 0), ("ghost", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
    v6 = await wire.call(DELETE_TOPICS, 6, {"topics": [
        {"name": None, "topic_id": topic.topic_id}, {"name": None, "topic_id": uuid.uuid4()}],
        "timeout_ms": 1000})
    assert [(r["name"], r["error_code"]) for r in v6["responses"]] == [
        ("new-api", 0), (None, ErrorCode.UNKNOWN_TOPIC_ID)]
    assert broker.topics == {}


async def test_create_partitions_grows_and_checks_assignments(served, wire):
    broker, _ = served
    broker.create_topic("grow", 1)
    response = await wire.call(CREATE_PARTITIONS, 3, {"topics": [
        {"name": "grow", "count": 3, "assignments": [{"broker_ids": [0]}, {"broker_ids": [0]}]},
        {"name": "ghost", "count": 2, "assignments": None},
    ], "timeout_ms": 1000, "validate_only": False})
    assert [(r["name"], r["error_code"]) for r in response["results"]] == [
        ("grow", 0), ("ghost", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
    assert len(broker.topics["grow"].partitions) == 3
    bad = await wire.call(CREATE_PARTITIONS, 0, {"topics": [
        {"name": "grow", "count": 4, "assignments": [{"broker_ids": [1]}]},
        {"name": "grow2", "count": 1, "assignments": None}], "timeout_ms": 1000})
    assert bad["results"][0]["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    shrink = await wire.call(CREATE_PARTITIONS, 1, {"topics": [
        {"name": "grow", "count": 2, "assignments": None}], "timeout_ms": 1000})
    assert shrink["results"][0]["error_code"] == ErrorCode.INVALID_PARTITIONS
    assert len(broker.topics["grow"].partitions) == 3


async def test_delete_records_moves_log_start_and_minus_one_means_high_watermark(served, wire):
    broker, _ = served
    broker.create_topic("dr", 2)
    for _ in range(4):
        broker.produce("dr", 0, batch(b"x"))
        broker.produce("dr", 1, batch(b"y"))

    def body(p0: int, p1: int) -> dict:
        return {"topics": [{"name": "dr", "partitions": [
            {"partition_index": 0, "offset": p0}, {"partition_index": 1, "offset": p1}]}],
            "timeout_ms": 1000}

    response = await wire.call(DELETE_RECORDS, 2, body(2, -1))
    parts = response["topics"][0]["partitions"]
    assert [(p["low_watermark"], p["error_code"]) for p in parts] == [(2, 0), (4, 0)]
    assert broker.partition_offsets("dr", 0) == (2, 4)
    past = await wire.call(DELETE_RECORDS, 0, body(9, 1))
    parts = past["topics"][0]["partitions"]
    assert [(p["low_watermark"], p["error_code"]) for p in parts] == [
        (-1, ErrorCode.OFFSET_OUT_OF_RANGE), (4, 0)]


async def test_describe_configs_topic_sources_by_version_and_broker(served, wire):
    broker, _ = served
    broker.create_topic("dc", 1, {"retention.ms": "5000"})
    v0 = await wire.call(DESCRIBE_CONFIGS, 0, {"resources": [
        {"resource_type": 2, "resource_name": "dc", "configuration_keys": None}]})
    entries = {c["name"]: c for c in v0["results"][0]["configs"]}
    assert entries["retention.ms"]["value"] == "5000" and not entries["retention.ms"]["is_default"]
    assert entries["segment.bytes"]["is_default"]
    v4 = await wire.call(DESCRIBE_CONFIGS, 4, {"resources": [
        {"resource_type": 2, "resource_name": "dc", "configuration_keys": ["retention.ms"]},
        {"resource_type": 2, "resource_name": "ghost", "configuration_keys": None},
        {"resource_type": 4, "resource_name": "0", "configuration_keys": None},
        {"resource_type": 4, "resource_name": "3", "configuration_keys": None},
    ], "include_synonyms": True, "include_documentation": True})
    topic, ghost, node, other = v4["results"]
    (retention,) = topic["configs"]
    assert (retention["config_source"], retention["config_type"]) == (1, 5)
    assert [s["source"] for s in retention["synonyms"]] == [1, 5]
    assert retention["documentation"]
    assert ghost["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    node_configs = {c["name"]: c for c in node["configs"]}
    assert node_configs["num.partitions"]["value"] == "1"
    # Read-only: what the broker started with; the dynamic ones (log defaults) are not.
    assert node_configs["num.partitions"]["read_only"]
    assert not node_configs["log.retention.ms"]["read_only"]
    assert other["error_code"] == ErrorCode.INVALID_REQUEST


async def test_alter_configs_replaces_and_incremental_updates(served, wire):
    broker, _ = served
    broker.create_topic("ac", 1, {"retention.ms": "5000", "segment.bytes": "100000"})
    replaced = await wire.call(ALTER_CONFIGS, 2, {"resources": [
        {"resource_type": 2, "resource_name": "ac",
         "configs": [{"name": "retention.ms", "value": "7000"}]}], "validate_only": False})
    assert replaced["responses"][0]["error_code"] == 0
    assert broker.topics["ac"].configs == {"retention.ms": "7000"}  # segment.bytes reset
    incremental = await wire.call(INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "ac", "configs": [
            {"name": "segment.bytes", "config_operation": 0, "value": "200000"},
            {"name": "retention.ms", "config_operation": 1, "value": None}]}],
        "validate_only": False})
    assert incremental["responses"][0]["error_code"] == 0
    assert broker.topics["ac"].configs == {"segment.bytes": "200000"}
    refused = await wire.call(INCREMENTAL_ALTER_CONFIGS, 0, {"resources": [
        {"resource_type": 2, "resource_name": "ac", "configs": [
            {"name": "retention.ms", "config_operation": 2, "value": "1"}]},
        {"resource_type": 2, "resource_name": "ghost", "configs": []},
        {"resource_type": 4, "resource_name": "0", "configs": [
            {"name": "num.partitions", "config_operation": 0, "value": "3"}]}],
        "validate_only": False})
    assert [r["error_code"] for r in refused["responses"]] == [
        ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST]
    bad_value = await wire.call(ALTER_CONFIGS, 0, {"resources": [
        {"resource_type": 2, "resource_name": "ac",
         "configs": [{"name": "retention.ms", "value": "soon"}]}]})
    assert bad_value["responses"][0]["error_code"] == ErrorCode.INVALID_CONFIG
    assert broker.topics["ac"].configs == {"segment.bytes": "200000"}


async def test_init_producer_id_allocates_bumps_and_serves_transactional_ids(served, wire):
    first = await wire.call(INIT_PRODUCER_ID, 4, {"transactional_id": None,
                                                  "transaction_timeout_ms": 60000})
    second = await wire.call(INIT_PRODUCER_ID, 0, {"transactional_id": None,
                                                   "transaction_timeout_ms": 60000})
    assert first["error_code"] == second["error_code"] == 0
    assert first["producer_id"] >= 0 and second["producer_id"] != first["producer_id"]
    assert first["producer_epoch"] == 0
    bumped = await wire.call(INIT_PRODUCER_ID, 3, {
        "transactional_id": None, "transaction_timeout_ms": 60000,
        "producer_id": first["producer_id"], "producer_epoch": 0})
    assert (bumped["producer_id"], bumped["producer_epoch"]) == (first["producer_id"], 1)
    txn = await wire.call(INIT_PRODUCER_ID, 4, {"transactional_id": "tx",
                                                "transaction_timeout_ms": 60000})
    assert txn["error_code"] == 0 and txn["producer_epoch"] == 0
    again = await wire.call(INIT_PRODUCER_ID, 4, {"transactional_id": "tx",
                                                  "transaction_timeout_ms": 60000})
    assert (again["producer_id"], again["producer_epoch"]) == (txn["producer_id"], 1)
    too_long = await wire.call(INIT_PRODUCER_ID, 4, {"transactional_id": "tx",
                                                     "transaction_timeout_ms": 900_001})
    assert too_long["error_code"] == ErrorCode.INVALID_TRANSACTION_TIMEOUT


async def test_describe_cluster_lists_this_broker(served, wire):
    broker, server = served
    response = await wire.call(DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": False,
                                                     "endpoint_type": 1})
    assert response["error_code"] == 0
    assert (response["cluster_id"], response["controller_id"]) == (broker.cluster_id, 0)
    assert response["brokers"] == [
        {"broker_id": 0, "host": "127.0.0.1", "port": server.port, "rack": None}]
    controllers = await wire.call(DESCRIBE_CLUSTER, 1, {"endpoint_type": 2})
    assert controllers["error_code"] == ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
