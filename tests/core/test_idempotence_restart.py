"""Idempotent producers across a broker restart: state rebuilt from the log's batch headers.

A broker is closed and a new one opened on the same data dir (real files in a tmp dir);
the producer's retries, next batches and gaps must then be answered as they were before
the restart (core/idempotence.py rebuild_producers, PartitionLog.tail_headers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core import broker as broker_module
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig, LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.idempotence import PRODUCER_BATCH_CACHE
from streamscope.core.log import PartitionLog
from streamscope.core.node import start_broker
from streamscope.core.records import BatchHeader, build_batch, iter_batches, validate_batches
from streamscope.core.runtime import BrokerThread

from tests.core.helpers import make_broker, wait_until


def batch(pid: int, epoch: int, seq: int, n: int = 1, tag: bytes = b"v") -> bytes:
    """An idempotent batch of ``n`` records (sequences ``seq``..``seq+n-1``)."""
    return build_batch([(b"k", tag + b"%d" % (seq + i), ()) for i in range(n)],
                       producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def refusal(call: Callable[[], object]) -> ErrorCode:
    """The error code ``call()`` is refused with (it must be refused)."""
    with pytest.raises(KafkaError) as err:
        call()
    return err.value.code


async def reopen(old: Broker, data: Path) -> Broker:
    await old.close()
    return await make_broker(data)


def stored_headers(b: Broker, topic: str) -> list[BatchHeader]:
    return [h for h, _ in iter_batches(b.read_stored(topic, 0, 0, 1 << 30))]


async def start(data: Path, fsync: str = "interval") -> Broker:
    return await start_broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                           fsync=fsync))  # type: ignore[arg-type]


@pytest.mark.parametrize("fsync", ["interval", "always"])
async def test_retried_batch_after_restart_is_a_duplicate_with_its_original_offset(
        tmp_path, fsync):
    data = tmp_path / "data"
    b = await start(data, fsync)
    try:
        b.create_topic("t", 1)
        sent: list[tuple[bytes, int]] = []  # (batch, its offset) in produce order
        seq = 0
        for i in range(8):  # two producers interleaved, batches of 1-3 records
            for pid in (11, 12):
                raw = batch(pid, 0, seq, n=1 + i % 3)
                sent.append((raw, b.produce("t", 0, raw)[0]))
            seq += 1 + i % 3
        end = b.topics["t"].partitions[0].log.next_offset  # "always": not all visible yet
        await b.close()
        b = await start(data, fsync)
        assert b.partition_offsets("t", 0)[1] == end
        # The last PRODUCER_BATCH_CACHE batches of each producer are answered with their
        # original offsets and not stored again.
        for raw, offset in sent[-2 * PRODUCER_BATCH_CACHE:]:
            assert b.produce("t", 0, raw)[0] == offset
        assert b.partition_offsets("t", 0)[1] == end
        # A gap is refused as before.
        assert refusal(lambda: b.produce("t", 0, batch(11, 0, seq + 1))) == \
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        # The next sequence of each producer is accepted at the log end.
        assert b.produce("t", 0, batch(11, 0, seq))[0] == end
        assert b.produce("t", 0, batch(12, 0, seq))[0] == end + 1
        await wait_until(lambda: b.partition_offsets("t", 0)[1] == end + 2, what="durable")
        assert len(stored_headers(b, "t")) == len(sent) + 2
    finally:
        await b.close()


async def test_epoch_bump_in_the_log_fences_the_older_epoch_after_restart(tmp_path):
    data = tmp_path / "data"
    b = await make_broker(data)
    try:
        b.create_topic("t", 1)
        b.produce("t", 0, batch(5, 0, 0, n=2))
        bumped = batch(5, 1, 0)
        offset = b.produce("t", 0, bumped)[0]
        b = await reopen(b, data)
        assert refusal(lambda: b.produce("t", 0, batch(5, 0, 2))) == ErrorCode.INVALID_PRODUCER_EPOCH
        assert b.produce("t", 0, bumped)[0] == offset
        assert refusal(lambda: b.produce("t", 0, batch(5, 1, 3))) == \
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        assert b.produce("t", 0, batch(5, 1, 1))[0] == offset + 1
    finally:
        await b.close()


async def test_state_is_rebuilt_across_segments_within_the_scan_budget(tmp_path, monkeypatch):
    """Producer 1 writes only in old segments, producer 2 only at the tail; with a scan
    budget covering just the tail, producer 1 is unknown after the restart (any
    sequence accepted) while producer 2 keeps its sequence rules."""
    data = tmp_path / "data"
    b = await make_broker(data)
    try:
        b.create_topic("t", 1, configs={"segment.bytes": "2048"})
        for s in range(40):
            b.produce("t", 0, batch(1, 0, s, tag=b"x" * 60))
        tail_start = b.partition_offsets("t", 0)[1]
        for s in range(40):
            b.produce("t", 0, batch(2, 0, s, tag=b"y" * 60))
        plog = b.topics["t"].partitions[0].log
        assert plog.segment_count > 3
        tail_bytes = sum(h.size for h in stored_headers(b, "t")[tail_start:])

        # Whole budget: both producers rebuilt, across several segments.
        b = await reopen(b, data)
        assert refusal(lambda: b.produce("t", 0, batch(1, 0, 41))) == \
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        assert b.produce("t", 0, batch(1, 0, 39))[0] == tail_start - 1

        # A budget of producer 2's batches only: producer 1 is outside the scan.
        monkeypatch.setattr(broker_module, "PRODUCER_SCAN_BYTES", tail_bytes // 2)
        b = await reopen(b, data)
        producers = b.topics["t"].partitions[0].producers
        assert set(producers) == {2}
        assert [first for first, _, _ in producers[2].batches] == list(range(35, 40))
        assert refusal(lambda: b.produce("t", 0, batch(2, 0, 41))) == \
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        end = b.partition_offsets("t", 0)[1]
        assert b.produce("t", 0, batch(1, 0, 1000))[0] == end  # unknown: accepted
    finally:
        await b.close()


def test_confluent_idempotent_producer_batches_are_recognised_after_restart(tmp_path):
    """A real idempotent producer writes; after a restart, the exact bytes of its last
    stored batch are a duplicate, its next sequence is accepted and a gap is refused."""
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data")
    bt = BrokerThread(config).start()
    try:
        admin = AdminClient({"bootstrap.servers": bt.bootstrap})
        admin.create_topics([NewTopic("idem", 1, 1)])["idem"].result(30)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "enable.idempotence": True,
                             "linger.ms": 5, "batch.num.messages": 50})
        failures: list[object] = []
        for i in range(500):
            producer.produce("idem", value=b"m%d" % i, partition=0,
                             on_delivery=lambda err, _msg: err and failures.append(err))
            if i % 100 == 99:
                producer.flush(30)  # several requests, so several batches
        assert producer.flush(30) == 0
        assert failures == []
        del producer, admin  # destroyed now (refcount): no client outlives the broker
    finally:
        bt.stop()

    async def check() -> None:
        b = await make_broker(tmp_path / "data")
        try:
            stored = list(iter_batches(b.read_stored("idem", 0, 0, 1 << 30)))
            assert len(stored) >= 2
            last, view = stored[-1]
            assert last.producer_id >= 0 and last.base_sequence >= 0
            end = b.partition_offsets("idem", 0)[1]
            assert end == 500
            retry = bytearray(view)
            retry[0:8] = bytes(8)  # as the client sent it: base offset 0 (not in the CRC)
            assert b.produce("idem", 0, retry)[0] == last.base_offset
            assert b.partition_offsets("idem", 0)[1] == end
            nxt = last.base_sequence + last.last_offset_delta + 1
            pid, epoch = last.producer_id, last.producer_epoch
            assert refusal(lambda: b.produce("idem", 0, batch(pid, epoch, nxt + 1))) == \
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            assert b.produce("idem", 0, batch(pid, epoch, nxt))[0] == end
        finally:
            await b.close()

    asyncio.run(check())


def test_tail_headers_start_at_a_batch_boundary_and_cover_the_budget(tmp_path):
    """The scan covers at least ``max_bytes`` of the newest log (whole batches, from an
    indexed boundary) and at most one index interval more: the bound is real."""
    config = LogConfig(segment_bytes=8192, index_interval_bytes=512)
    plog = PartitionLog.open(tmp_path / "t-0", config, topic="t", partition=0)
    try:
        for s in range(200):
            data = bytearray(batch(3, 0, s, tag=b"z" * 40))
            plog.append(data, validate_batches(data))
        starts = [h.base_offset for h, _ in iter_batches(plog.read(0, 1 << 30))]
        ends = {h.base_offset: h.size for h, _ in iter_batches(plog.read(0, 1 << 30))}
        assert plog.segment_count > 2
        for budget in (1, 700, 5000, 9000, 20000):
            scanned = list(plog.tail_headers(budget))
            assert [h[0] for h in scanned] == starts[len(starts) - len(scanned):]
            covered = sum(ends[h[0]] for h in scanned)
            assert budget <= covered < budget + 512 + max(ends.values())
        assert [h[0] for h in plog.tail_headers(1 << 30)] == starts
    finally:
        plog.close()
