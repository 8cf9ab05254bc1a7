"""The Broker facade over real files: topics, produce/fetch, idempotence, long-poll, restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from streamscope.core.broker import Broker, validate_topic_name
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import build_batch, iter_all_records


def batch(*values: bytes, **kw) -> bytes:
    return build_batch([(b"k", v, ()) for v in values], **kw)


@pytest.fixture
async def broker(tmp_path):
    b = Broker(BrokerConfig(port=0, data_dir=tmp_path / "data"))
    await b.start()
    yield b
    await b.close()


def refusal(call: Callable[[], object]) -> ErrorCode:
    """The error code ``call()`` is refused with (it must be refused)."""
    with pytest.raises(KafkaError) as err:
        call()
    return err.value.code


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a" * 250, "a/b", "../escape", "with space", "tab\t", "ü", "a\x00b",
     "orders\n", "\norders"],
)
async def test_invalid_topic_names_are_refused_and_create_nothing(broker, tmp_path, name):
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert refusal(lambda: broker.create_topic(name, 1)) == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before
    assert not (tmp_path / "escape-0").exists()


def test_topic_name_rules_accept_kafkas_alphabet():
    assert validate_topic_name("orders.v1_EU-2") is None
    assert validate_topic_name("a" * 249) is None
    assert "249" in validate_topic_name("a" * 250)


def test_a_final_newline_is_not_part_of_kafkas_alphabet():
    # A regex anchored with "$" also matches before a final newline: "orders\n" was taken
    # for a name of its own, beside "orders", with a directory of its own.
    assert "'\\n'" in validate_topic_name("orders\n")


async def test_create_topic_errors_use_kafka_codes(broker):
    broker.create_topic("t", 2)
    assert refusal(lambda: broker.create_topic("t", 2)) == ErrorCode.TOPIC_ALREADY_EXISTS
    assert refusal(lambda: broker.create_topic("u", 0)) == ErrorCode.INVALID_PARTITIONS
    for bad in ({"no.such.config": "1"}, {"retention.ms": "soon"}):
        assert refusal(lambda bad=bad: broker.create_topic("v", 1, bad)) == ErrorCode.INVALID_CONFIG
    with pytest.raises(KafkaError) as err:
        broker.create_topic("x", 1, {"cleanup.policy": "compact,shred"})
    assert err.value.code == ErrorCode.INVALID_CONFIG
    assert "cleanup.policy" in err.value.message
    broker.create_topic("y", 1, {"cleanup.policy": "delete"})
    broker.create_topic("z", 1, {"cleanup.policy": "delete, compact"})
    assert broker.topics["z"].log_config.cleanup_policy == "compact,delete"
    assert set(broker.topics) == {"t", "y", "z"}


async def test_produce_then_fetch_returns_the_same_records_with_offsets(broker):
    broker.create_topic("t", 1)
    assert broker.produce("t", 0, batch(b"a", b"b"))[0] == 0
    assert broker.produce("t", 0, batch(b"c"))[0] == 2
    result = broker.fetch("t", 0, 1, 1 << 20)
    assert result.high_watermark == 3
    assert result.log_start_offset == 0
    records = list(iter_all_records(result.records))
    # The batch containing offset 1 comes back whole.
    assert [(r.offset, r.value) for r in records] == [(0, b"a"), (1, b"b"), (2, b"c")]
    assert broker.counters.records_in == 3
    assert broker.counters.records_out == 3


async def test_bad_batches_are_refused_and_the_log_is_unchanged(broker):
    broker.create_topic("t", 1)
    broker.produce("t", 0, batch(b"ok"))
    good = bytearray(batch(b"x"))
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF
    assert refusal(lambda: broker.produce("t", 0, corrupt)) == ErrorCode.CORRUPT_MESSAGE
    big = batch(b"x" * 2_000_000)
    too_large = (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE)
    assert refusal(lambda: broker.produce("t", 0, big)) in too_large
    assert refusal(lambda: broker.produce("nope", 0, good)) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert broker.partition_offsets("t", 0) == (0, 1)


async def test_idempotent_producer_duplicates_gaps_and_fencing(broker):
    broker.create_topic("t", 1)
    first = batch(b"a", b"b", producer_id=7, producer_epoch=0, base_sequence=0)
    assert broker.produce("t", 0, first)[0] == 0
    # A retried batch is answered with its original offset and not stored twice.
    assert broker.produce("t", 0, first)[0] == 0
    assert broker.partition_offsets("t", 0) == (0, 2)
    gap = batch(b"c", producer_id=7, producer_epoch=0, base_sequence=5)
    assert refusal(lambda: broker.produce("t", 0, gap)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    nxt = batch(b"c", producer_id=7, producer_epoch=0, base_sequence=2)
    assert broker.produce("t", 0, nxt)[0] == 2
    bumped = batch(b"d", producer_id=7, producer_epoch=1, base_sequence=0)
    assert broker.produce("t", 0, bumped)[0] == 3
    stale = batch(b"e", producer_id=7, producer_epoch=0, base_sequence=3)
    assert refusal(lambda: broker.produce("t", 0, stale)) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert broker.partition_offsets("t", 0) == (0, 4)


async def test_long_poll_wakes_on_append_not_at_timeout(broker):
    broker.create_topic("t", 1)
    # A timeout far beyond the test's: only the append can end this wait.
    waiting = asyncio.create_task(broker.wait_for_data([("t", 0, 0)], timeout_s=3600))
    try:
        async with asyncio.timeout(30):
            while not broker.topics["t"].partitions[0].waiters:  # parked on the partition
                await asyncio.sleep(0.005)
            broker.produce("t", 0, batch(b"wake"))
            await waiting
    finally:
        waiting.cancel()
    assert broker.partition_offsets("t", 0)[1] == 1


async def test_long_poll_returns_at_once_when_data_is_there(broker):
    broker.create_topic("t", 1)
    broker.produce("t", 0, batch(b"x"))
    waiting = asyncio.create_task(broker.wait_for_data([("t", 0, 0)], timeout_s=3600))
    for _ in range(3):  # loop turns, not time: the call yields once, then returns
        await asyncio.sleep(0)
    try:
        assert waiting.done()
        assert not broker.topics["t"].partitions[0].waiters  # it never parked
    finally:
        waiting.cancel()


async def test_list_offsets_by_kind_and_time(broker):
    broker.create_topic("t", 1)
    broker.produce("t", 0, batch(b"a", base_timestamp=1000))
    broker.produce("t", 0, batch(b"b", base_timestamp=5000))
    assert broker.list_offsets("t", 0, -2) == (0, -1)
    assert broker.list_offsets("t", 0, -1) == (2, -1)
    assert broker.list_offsets("t", 0, 3000) == (1, 5000)
    assert broker.list_offsets("t", 0, 9000) == (-1, -1)
    assert broker.list_offsets("t", 0, -3) == (1, 5000)


async def test_topics_data_and_configs_survive_restart(tmp_path):
    config = BrokerConfig(port=0, data_dir=tmp_path / "data")
    b = Broker(config)
    await b.start()
    b.create_topic("t", 3, {"retention.ms": "60000"})
    b.produce("t", 2, batch(b"a", b"b"))
    topic_id = b.topics["t"].topic_id
    cluster = b.cluster_id
    await b.close()
    b = Broker(config)
    await b.start()
    try:
        assert b.cluster_id == cluster
        assert b.topics["t"].topic_id == topic_id
        assert len(b.topics["t"].partitions) == 3
        assert b.topics["t"].log_config.retention_ms == 60000
        assert b.partition_offsets("t", 2) == (0, 2)
        assert [r.value for r in iter_all_records(b.fetch("t", 2, 0, 1 << 20).records)] == [
            b"a", b"b"
        ]
    finally:
        await b.close()


async def test_a_second_broker_cannot_open_the_same_data_dir(broker, tmp_path):
    other = Broker(BrokerConfig(port=0, data_dir=tmp_path / "data"))
    with pytest.raises(RuntimeError, match="in use"):
        await other.start()


async def test_deleted_topic_comes_back_empty(broker):
    broker.create_topic("t", 2)
    broker.produce("t", 1, batch(b"a"))
    broker.delete_topic("t")
    with pytest.raises(KafkaError):
        broker.fetch("t", 1, 0, 100)
    broker.create_topic("t", 2)
    assert broker.partition_offsets("t", 1) == (0, 0)


async def test_add_partitions_and_alter_configs(broker):
    broker.create_topic("t", 1)
    broker.add_partitions("t", 4)
    assert len(broker.topics["t"].partitions) == 4
    assert refusal(lambda: broker.add_partitions("t", 2)) == ErrorCode.INVALID_PARTITIONS
    broker.alter_topic_configs("t", {"retention.bytes": "1000"}, incremental=True)
    values = broker.topic_config_values("t")
    assert values["retention.bytes"] == ("1000", False)
    assert values["retention.ms"][1] is True
    bad = {"retention.bytes": "lots"}
    assert refusal(lambda: broker.alter_topic_configs("t", bad)) == ErrorCode.INVALID_CONFIG


async def test_retention_by_bytes_deletes_old_segments_and_moves_log_start(broker):
    broker.create_topic("t", 1, {"segment.bytes": "2000", "retention.bytes": "4000"})
    for _ in range(40):
        broker.produce("t", 0, batch(b"v" * 200))
    assert broker.enforce_retention() > 0
    start, end = broker.partition_offsets("t", 0)
    assert 0 < start < end == 40
    assert refusal(lambda: broker.fetch("t", 0, 0, 100)) == ErrorCode.OFFSET_OUT_OF_RANGE
    assert list(iter_all_records(broker.fetch("t", 0, start, 1 << 20).records))[0].offset == start


async def test_delete_records_advances_log_start(broker):
    broker.create_topic("t", 1)
    broker.produce("t", 0, batch(b"a", b"b", b"c"))
    assert broker.delete_records("t", 0, 2) == 2
    assert broker.list_offsets("t", 0, -2) == (2, -1)
