"""The broker's activity feed (core.monitor.feed) on a real broker with in-process clients.

Sampled appends carry the offsets the log gave them; the feed stays bounded however many
appends arrive; key hashes are filled off the produce path, compressed batches included;
in-process consumers leave read positions attributed to their member, gone once they
close; commits appear; a node started without the feed has none.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamscope.core.clients import Producer
from streamscope.core.config import BrokerConfig, LogConfig
from streamscope.core.groups import OffsetSpec
from streamscope.core.monitor import EmbeddedObserver
from streamscope.core.monitor.activity import ActivitySnapshot
from streamscope.core.monitor.feed import ActivityFeed
from streamscope.core.node import Node
from streamscope.core.records import Compression, build_batch

from tests.core.helpers import consumer, wait_until


def _config(path: Path, **kw: object) -> BrokerConfig:
    return BrokerConfig(
        host="127.0.0.1", port=0, data_dir=path, group_initial_rebalance_delay_ms=50,
        group_min_session_timeout_ms=100, **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node(_config(tmp_path / "data"), serve=False).start()
    try:
        yield n
    finally:
        await n.close()


def activity(observer: EmbeddedObserver) -> ActivitySnapshot:
    snap = observer.snapshot().activity
    assert snap is not None
    return snap


async def test_appends_of_an_in_process_producer_appear_with_increasing_seq_and_their_offsets(node):
    broker = node.broker
    broker.create_topic("t", 1)
    observer = node.observer()
    producer = Producer(broker, linger_ms=0, max_batch_records=5)
    for i in range(12):
        await producer.send("t", b"v%d" % i, key=b"k", partition=0)
        await producer.flush()
    snap = activity(observer)
    appends = [a for a in snap.appends if a.topic == "t"]
    assert [a.seq for a in appends] == sorted({a.seq for a in appends})
    # One sample per appended batch, back to back, covering every offset written.
    assert appends[0].base_offset == 0 and appends[-1].last_offset == 11
    for before, after in zip(appends, appends[1:], strict=False):
        assert after.base_offset == before.last_offset + 1
    assert all(a.partition == 0 and a.max_timestamp_ms > 0 for a in appends)
    assert snap.appends_dropped == 0


async def test_feed_stays_bounded_under_100k_small_appends(node):
    broker = node.broker
    broker.create_topic("flood", 2)
    feed = ActivityFeed(appends_kept=64, per_partition=16)
    broker.attach_activity(feed)
    batch = build_batch([(b"k", b"v")])
    for i in range(100_000):
        broker.produce("flood", i % 2, bytearray(batch))
    # Between two snapshots a partition keeps its first 16 appends; the rest are counted.
    snap = feed.snapshot()
    assert len(snap.appends) == 32
    assert snap.appends_dropped == 100_000 - 32
    assert {(a.partition, a.base_offset) for a in snap.appends} == {
        (p, o) for p in (0, 1) for o in range(16)
    }
    # Snapshotting as the GUI does (a window per tick), the feed keeps at most its size.
    for i in range(100_000):
        broker.produce("flood", i % 2, bytearray(batch))
        if i % 1000 == 999:
            feed.snapshot()
    snap = feed.snapshot()
    assert len(snap.appends) == 64 and len(feed._pending) <= 64
    assert snap.appends_dropped == 200_000 - 32 - 100 * 32
    assert [a.seq for a in snap.appends] == list(range(32 + 3200 - 63, 32 + 3200 + 1))
    # The newest kept: partition 1's 16th append of the last window (offset 50,000 + 49,515).
    assert (snap.appends[-1].partition, snap.appends[-1].base_offset) == (1, 99_515)


async def test_key_hashes_are_filled_off_the_produce_path_for_a_compressed_batch(node):
    broker = node.broker
    broker.create_topic("keys", 1)
    observer = node.observer()
    keys = [b"alpha", None, b"beta", b"alpha"]
    batch = build_batch([(k, b"value-%d" % i) for i, k in enumerate(keys)],
                        compression=Compression.ZSTD)
    broker.produce("keys", 0, bytearray(batch))
    (sample,) = [a for a in activity(observer).appends if a.topic == "keys"]
    assert sample.key_hashes is None  # the produce path decodes nothing

    def hashed() -> bool:
        (a,) = [a for a in activity(observer).appends if a.topic == "keys"]
        return a.key_hashes is not None

    await wait_until(hashed, what="key hashes from the sampler")
    (sample,) = [a for a in activity(observer).appends if a.topic == "keys"]
    assert sample.key_hashes == (zlib.crc32(b"alpha"), None, zlib.crc32(b"beta"),
                                 zlib.crc32(b"alpha"))


async def test_key_sampler_reads_no_more_than_its_budget_per_pass(node):
    broker = node.broker
    broker.create_topic("budget", 1)
    feed = ActivityFeed(per_partition=100, key_budget_bytes=1)
    broker.attach_activity(feed)
    broker.produce("budget", 0, bytearray(build_batch([(b"k", b"v" * 100)])))
    assert await feed.sample_keys(broker) == 0  # bigger than any pass: left unsampled
    feed.key_budget_bytes = 4096
    batch = build_batch([(b"k%d" % i, b"v" * 100) for i in range(3)])
    for _ in range(100):
        broker.produce("budget", 0, bytearray(batch))
    filled = await feed.sample_keys(broker)
    assert 0 < filled < 100 and filled * len(batch) <= 4096
    newest = feed.snapshot().appends[-1]
    assert newest.key_hashes == tuple(zlib.crc32(b"k%d" % i) for i in range(3))


async def test_in_process_consumer_read_position_is_attributed_and_goes_when_it_closes(node):
    broker = node.broker
    broker.create_topic("t", 1)
    observer = node.observer()
    producer = Producer(broker, linger_ms=0)
    for i in range(10):
        await producer.send("t", b"%d" % i, partition=0)
    await producer.flush()
    c = consumer(broker, "readers", "reader-1", enable_auto_commit=False)
    await c.start()
    try:
        got = 0
        while got < 10:
            batch = await c.getmany(timeout_ms=200)
            got += sum(len(r) for r in batch.values())
        await c.commit({("t", 0): 4})

        # Read to past the last record it was handed, without fetching again: a reader
        # that fetched 0..9 has read them, whatever offset its fetch asked for.
        snap = observer.snapshot()
        assert snap.activity is not None
        (pos,) = [p for p in snap.activity.read_positions if p.topic == "t"]
        member = snap.group("readers").members[0]
        assert (pos.group_id, pos.member_id, pos.client_id) == ("readers", member.member_id,
                                                                "reader-1")
        assert pos.conn_id < 0 and pos.partition == 0
        committed = snap.group("readers").offsets[0].committed_offset
        assert committed == 4 and pos.offset == 10  # read but not committed: offsets 4..9
    finally:
        await c.close()
    assert activity(observer).read_positions == ()


async def test_members_sharing_a_client_id_and_partition_leave_the_read_position_unattributed(node):
    broker = node.broker
    broker.create_topic("t", 1)
    observer = node.observer()
    await Producer(broker, linger_ms=0).send_and_wait("t", b"x", partition=0)
    a = consumer(broker, "group-a", "same-name")
    b = consumer(broker, "group-b", "same-name")
    await a.start()
    await b.start()
    try:
        async def read(c) -> None:
            while not await c.getmany(timeout_ms=100):
                pass

        await asyncio.gather(read(a), read(b))
        positions = [p for p in activity(observer).read_positions if p.topic == "t"]
        assert len(positions) == 2
        # Two members of two groups could be either reader: the feed does not guess.
        assert all(p.group_id is None and p.member_id is None for p in positions)
    finally:
        await a.close()
        await b.close()


async def test_commits_and_offset_resets_appear_in_order(node):
    broker = node.broker
    broker.create_topic("t", 2)
    observer = node.observer()
    c = consumer(broker, "committer", "c-1", enable_auto_commit=False)
    await c.start()
    try:
        await wait_until(lambda: c.assignment() == {("t", 0), ("t", 1)}, what="assignment")
        await c.commit({("t", 0): 0, ("t", 1): 0})
    finally:
        await c.close()
    await node.groups.reset_offsets("committer", "t", OffsetSpec("offset", 0), [1])
    commits = [s for s in activity(observer).commits if s.group_id == "committer"]
    assert [(s.topic, s.partition, s.offset) for s in commits][-3:] == [
        ("t", 0, 0), ("t", 1, 0), ("t", 1, 0)
    ]
    assert [s.seq for s in commits] == sorted({s.seq for s in commits})


async def test_a_node_without_the_feed_reports_no_activity(tmp_path):
    n = await Node(_config(tmp_path / "d", activity_feed=False), serve=False).start()
    try:
        n.broker.create_topic("t", 1)
        await Producer(n.broker, linger_ms=0).send_and_wait("t", b"x", key=b"k")
        assert n.broker.activity is None
        assert n.observer().snapshot().activity is None
    finally:
        await n.close()


async def test_partition_snapshot_lists_segment_base_offsets_oldest_first(tmp_path):
    config = _config(tmp_path / "d", log=LogConfig(segment_bytes=300))
    n = await Node(config, serve=False).start()
    try:
        n.broker.create_topic("seg", 1)
        batch = build_batch([(b"k", b"v" * 100)])
        for _ in range(6):
            n.broker.produce("seg", 0, bytearray(batch))
        (part,) = n.observer().snapshot().topic("seg").partitions
        assert len(part.segment_bases) == part.segment_count > 1
        assert part.segment_bases[0] == 0 and list(part.segment_bases) == sorted(part.segment_bases)
        n.broker.delete_records("seg", 0, part.segment_bases[1])
        (after,) = n.observer().snapshot().topic("seg").partitions
        assert after.segment_bases == part.segment_bases[1:]
    finally:
        await n.close()
