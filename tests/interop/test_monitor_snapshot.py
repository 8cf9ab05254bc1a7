"""core.monitor snapshots of a real broker, driven by real Kafka clients over 127.0.0.1."""

from __future__ import annotations

import dataclasses

import pytest
from streamscope.core.monitor import build_snapshot

from tests.kafka_clients import ConsumerThread, produce


def test_snapshot_reports_topics_partitions_and_counters_from_real_traffic(bt):
    bt.call(lambda: bt.broker.create_topic("t", 2, {"retention.ms": "60000"}))
    produce(bt.bootstrap, "t", 30, key=b"same-key")  # one key: one partition
    snap = bt.call(lambda: build_snapshot(bt.broker, bt.node.groups))

    assert snap.broker.bootstrap == bt.bootstrap
    assert snap.broker.listening and snap.broker.uptime_s >= 0
    t = snap.topic("t")
    assert t is not None and t.partition_count == 2
    assert sorted(p.high_watermark for p in t.partitions) == [0, 30]
    assert t.messages == 30 and t.records_in == 30 and t.size_bytes > 0
    assert t.retention_ms == 60000 and ("retention.ms", "60000") in t.configs
    assert snap.counters.records_in == 30
    assert snap.partition_count == 2 and snap.messages == 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.messages = 0  # type: ignore[misc]


def test_snapshot_reports_groups_members_committed_offsets_and_lag(bt):
    bt.call(lambda: bt.broker.create_topic("g", 2))
    produce(bt.bootstrap, "g", 20, partition=0)
    produce(bt.bootstrap, "g", 20, partition=1)
    c = ConsumerThread(bt.bootstrap, "grp", "g", "reader", **{"enable.auto.commit": False})
    c.start()
    observer = bt.call(lambda: bt.node.observer())
    try:
        from tests.kafka_clients import wait_for

        def stable():
            g = bt.call(observer.snapshot).group("grp")
            return (
                g is not None
                and g.state == "Stable"
                and sum(o.committed_offset for o in g.offsets) == 40
            )

        wait_for(stable, timeout=30)
        snap = bt.call(observer.snapshot)
        g = snap.group("grp")
        assert g.protocol_type == "consumer" and g.assignor in ("range", "roundrobin")
        assert [m.client_id for m in g.members] == ["reader"]
        assert set(g.members[0].assignment) == {("g", 0), ("g", 1)}
        assert g.leader == g.members[0].member_id
        assert {o.member_id for o in g.offsets} == {g.members[0].member_id}
        assert g.rebalances and g.rebalances[-1].generation == g.generation
    finally:
        c.stop()
    # With the consumer gone, new records show up as lag.
    produce(bt.bootstrap, "g", 10, partition=1)
    g = bt.call(observer.snapshot).group("grp")
    assert g.total_lag == 10
    assert [(o.partition, o.lag) for o in g.offsets] == [(0, 0), (1, 10)]


def test_snapshot_lists_client_connections_with_software_and_requests(bt):
    c = ConsumerThread(bt.bootstrap, "conn", "c-topic", "who-am-i")
    c.start()
    try:
        from tests.kafka_clients import wait_for

        # librdkafka opens more than one connection and may close its bootstrap one at
        # any time: check the connection seen in the snapshot that satisfied the wait,
        # not one looked up again in a later snapshot.
        found = []

        def seen():
            snap = bt.call(lambda: build_snapshot(bt.broker, bt.node.groups))
            found[:] = [x for x in snap.connections
                        if x.client_id == "who-am-i" and x.requests > 1]
            return bool(found)

        wait_for(seen, timeout=15)
        conn = found[0]
        assert "librdkafka" in conn.software or "confluent" in conn.software
        assert dict(conn.requests_by_api).get(18, 0) >= 1  # ApiVersions first
        assert conn.requests == sum(n for _, n in conn.requests_by_api)
    finally:
        c.stop()


def test_events_are_numbered_once_and_only_new_ones_are_added(bt):
    observer = bt.call(lambda: bt.node.observer())
    bt.call(lambda: bt.broker.create_topic("e1", 1))
    first = bt.call(observer.snapshot).events
    bt.call(lambda: bt.broker.create_topic("e2", 1))
    bt.call(lambda: bt.broker.delete_topic("e1"))
    second = bt.call(observer.snapshot).events
    assert [e.seq for e in second] == list(range(1, len(second) + 1))
    assert second[: len(first)] == first
    kinds = [e.kind for e in second[len(first) :]]
    assert kinds == ["topic_created", "topic_deleted"]


def test_unchanged_partitions_are_reused_and_changed_ones_rebuilt(bt):
    bt.call(lambda: bt.broker.create_topic("quiet", 2))
    bt.call(lambda: bt.broker.create_topic("busy", 1))
    observer = bt.call(lambda: bt.node.observer())
    a = bt.call(observer.snapshot)
    produce(bt.bootstrap, "busy", 5)
    b = bt.call(observer.snapshot)
    assert b.topic("quiet") is a.topic("quiet")
    assert b.topic("busy") is not a.topic("busy")
    assert b.topic("busy").partitions[0].high_watermark == 5
    bt.call(lambda: bt.broker.alter_topic_configs("quiet", {"retention.ms": "1000"}))
    c = bt.call(observer.snapshot)
    assert c.topic("quiet") is not b.topic("quiet")
    assert c.topic("quiet").retention_ms == 1000
