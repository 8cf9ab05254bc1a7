"""The activity feed as real Kafka clients (confluent-kafka) make it: read positions,
appends and key hashes in the embedded observer's snapshots."""

from __future__ import annotations

import zlib

import pytest
from confluent_kafka import Consumer, Producer
from streamscope.core.monitor.activity import AppendSample, ReadPosition
from streamscope.core.records import Compression, iter_batches

from tests.kafka_clients import produce, wait_for


def _appends(bt, observer, topic: str) -> list[AppendSample]:
    snap = bt.call(observer.snapshot)
    assert snap.activity is not None
    return [a for a in snap.activity.appends if a.topic == topic]


def test_read_position_of_a_real_consumer_is_attributed_ahead_of_its_commit_until_it_closes(bt):
    bt.call(lambda: bt.broker.create_topic("orders", 1))
    produce(bt.bootstrap, "orders", 10, partition=0)
    observer = bt.call(bt.node.observer)

    def positions() -> list[ReadPosition]:
        snap = bt.call(observer.snapshot)
        assert snap.activity is not None
        return [p for p in snap.activity.read_positions if p.topic == "orders"]

    def committed() -> int:
        group = bt.call(observer.snapshot).group("analytics")
        return group.offsets[0].committed_offset if group and group.offsets else -1

    c = Consumer({
        "bootstrap.servers": bt.bootstrap, "group.id": "analytics", "client.id": "analytics-1",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
    })
    closed = False
    try:
        c.subscribe(["orders"])
        messages = []

        def all_ten_read() -> bool:
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                messages.append(m)
            return len(messages) == 10

        wait_for(all_ten_read, timeout=30)
        c.commit(message=messages[3], asynchronous=False)  # committed offset 4
        # Having fetched offsets 0-9, the consumer's next Fetch asks for 10.
        wait_for(lambda: [p.offset for p in positions()] == [10], timeout=30)
        (pos,) = positions()
        member = bt.call(observer.snapshot).group("analytics").members[0]
        assert (pos.group_id, pos.member_id) == ("analytics", member.member_id)
        assert (pos.client_id, pos.host) == ("analytics-1", member.host)
        assert committed() == 4 < pos.offset  # 4..9 read, not committed: a crash redelivers them

        c.commit(asynchronous=False)  # the consumer's position: 10
        assert committed() == 10 == positions()[0].offset
        c.close()
        closed = True
        wait_for(lambda: positions() == [], timeout=30)
    finally:
        if not closed:
            c.close()


def test_appends_of_a_real_producer_appear_with_increasing_seq_and_their_offsets(bt):
    bt.call(lambda: bt.broker.create_topic("t", 1))
    observer = bt.call(bt.node.observer)
    for _ in range(3):
        produce(bt.bootstrap, "t", 10, partition=0)
    appends = _appends(bt, observer, "t")
    assert len(appends) >= 3
    assert [a.seq for a in appends] == sorted({a.seq for a in appends})
    assert appends[0].base_offset == 0 and appends[-1].last_offset == 29
    for before, after in zip(appends, appends[1:], strict=False):
        assert after.base_offset == before.last_offset + 1
    # Each sample is one stored batch: its offsets are the batch's own.
    stored = bt.call(lambda: bt.broker.read_stored("t", 0, 0, 1 << 20))
    batches = [(h.base_offset, h.last_offset) for h, _ in iter_batches(stored)]
    assert batches == [(a.base_offset, a.last_offset) for a in appends]


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_key_hashes_are_filled_for_a_compressed_batch_of_a_real_producer(bt, codec):
    bt.call(lambda: bt.broker.create_topic("keyed", 1))
    observer = bt.call(bt.node.observer)
    keys = [b"rider-1", None, b"rider-2", b"rider-1", None]
    p = Producer({"bootstrap.servers": bt.bootstrap, "compression.type": codec,
                  "linger.ms": 100})
    for i, key in enumerate(keys):
        p.produce("keyed", value=b"position %d " % i + b"x" * 200, key=key, partition=0)
    assert p.flush(15) == 0
    stored = bt.call(lambda: bt.broker.read_stored("keyed", 0, 0, 1 << 20))
    assert all(h.compression == Compression[codec.upper()] for h, _ in iter_batches(stored))

    def hashes() -> list[int | None] | None:
        appends = _appends(bt, observer, "keyed")
        if not appends or any(a.key_hashes is None for a in appends):
            return None
        return [h for a in appends for h in a.key_hashes]

    wait_for(lambda: hashes() is not None, timeout=30)
    assert hashes() == [None if k is None else zlib.crc32(k) for k in keys]
