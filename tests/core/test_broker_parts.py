"""The broker's parts in modules of their own (issue 10): data dir, topics and their rules,
idempotence, flushing and retention; ``Broker`` delegates and keeps its public names."""

from __future__ import annotations

import pytest
import streamscope.core.broker
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig, LogConfig
from streamscope.core.datadir import DataDir, discard_dir
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.flusher import Flusher
from streamscope.core.idempotence import ProducerState, check_sequences, record_sequences
from streamscope.core.records import build_batch, validate_batches
from streamscope.core.topics import (
    MAX_PARTITIONS_PER_TOPIC,
    check_new_partition_count,
    check_partition_increase,
    log_config_for,
    validate_topic_name,
)

from tests.core.helpers import wait_until


def headers(producer_id: int, epoch: int, seq: int, n: int = 1):
    data = build_batch([(b"k", b"v")] * n, producer_id=producer_id, producer_epoch=epoch,
                       base_sequence=seq)
    return validate_batches(data, max_batch_bytes=1 << 20)


def test_callers_keep_importing_the_broker_names_from_core_broker():
    assert streamscope.core.broker.validate_topic_name is validate_topic_name
    assert streamscope.core.broker.MAX_PARTITIONS_PER_TOPIC == MAX_PARTITIONS_PER_TOPIC
    assert streamscope.core.broker.ProducerState is ProducerState


def test_a_data_dir_lock_refuses_a_second_holder_until_released(tmp_path):
    first, second = DataDir(tmp_path / "d"), DataDir(tmp_path / "d")
    first.lock()
    with pytest.raises(RuntimeError, match="in use by another broker"):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()
    assert first.partition_dir("orders", 3) == tmp_path / "d" / "orders-3"


async def test_a_discarded_dir_is_gone_at_once_and_removed_in_the_background(tmp_path):
    victim = tmp_path / "t-0"
    victim.mkdir()
    (victim / "00000000000000000000.log").write_bytes(b"x" * 100)
    discard_dir(victim)
    assert not victim.exists()  # renamed aside before returning: a re-created topic is empty
    await wait_until(lambda: not any(tmp_path.iterdir()), what="the set-aside dir removed")


def test_idempotence_answers_a_retry_with_its_first_offset_and_refuses_gaps():
    producers: dict[int, ProducerState] = {}
    first = headers(7, 0, 0, n=3)
    assert check_sequences(producers, first) is None
    record_sequences(producers, first, base=40)
    assert check_sequences(producers, headers(7, 0, 0, n=3)) == 40  # the same batch again
    with pytest.raises(KafkaError) as err:
        check_sequences(producers, headers(7, 0, 5))
    assert err.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert check_sequences(producers, headers(7, 0, 3)) is None
    bumped = headers(7, 1, 0)  # a new epoch starts again at sequence 0
    assert check_sequences(producers, bumped) is None
    record_sequences(producers, bumped, base=43)
    with pytest.raises(KafkaError) as err:
        check_sequences(producers, headers(7, 0, 3))  # the fenced epoch
    assert err.value.code == ErrorCode.INVALID_PRODUCER_EPOCH


def test_topic_rules_raise_kafkas_codes():
    with pytest.raises(KafkaError) as err:
        check_new_partition_count(0)
    assert err.value.code == ErrorCode.INVALID_PARTITIONS
    with pytest.raises(KafkaError) as err:
        check_partition_increase(4, 4)
    assert err.value.code == ErrorCode.INVALID_PARTITIONS
    with pytest.raises(KafkaError) as err:
        log_config_for(LogConfig(), {"no.such.config": "1"})
    assert err.value.code == ErrorCode.INVALID_CONFIG
    assert log_config_for(LogConfig(), {"retention.ms": "60000"}).retention_ms == 60000


async def test_the_flusher_fsyncs_only_dirty_partitions_and_clears_their_marks(tmp_path):
    broker = Broker(BrokerConfig(port=0, data_dir=tmp_path / "d", fsync="interval",
                                 fsync_interval_ms=3_600_000))
    await broker.start()
    try:
        broker.create_topic("t", 2)
        broker.produce("t", 1, build_batch([(b"k", b"v")]))
        parts = broker.topics["t"].partitions
        assert [p.dirty for p in parts] == [False, True]
        flushed: list[int] = []
        flusher = Flusher(lambda: parts)
        for p in parts:
            flush = p.log.flush
            p.log.flush = lambda flush=flush, i=p.index: (flushed.append(i), flush())[1]
        await flusher.flush_dirty()
        assert flushed == [1]
        assert [p.dirty for p in parts] == [False, False]
    finally:
        await broker.close()
