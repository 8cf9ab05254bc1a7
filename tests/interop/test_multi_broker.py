"""The external observer against multi-broker Kafka-compatible clusters (issue 15,
"several brokers"); the clusters are :mod:`tests.multibroker`'s.

librdkafka's mock cluster (3 brokers, node ids 1..3, each on its own port): the
snapshot lists every broker with its address and the controller; each partition's
leader, replicas and ISR are what a separate confluent-kafka AdminClient's Metadata
says, and the watermarks what a separate consumer reads; a stopped broker leaves the
snapshot's brokers and, once leadership moves off it (what a controller does; the mock
leaves that to the test), no partition names it as leader. A stopped broker whose
partitions are left without a live leader is an expected failure today: the observer's
ListOffsets fails the whole snapshot on one leaderless partition (see the test), and
so is saying that the mock does not serve ListGroups (the observer drops the error).

Three Tansu brokers over one S3 bucket (moto's server): a topic created and records
produced through one broker are seen, with the same partitions and watermarks, through
every broker, and still through the others once one is stopped. Tansu 0.6.0 calls every
broker node 111, the only broker and the leader of everything: the snapshot through
each says exactly that, with that broker's own address. A topic of replication factor
3 there reports replicas (111, 111, 111), all in sync; that the snapshot does not call it
under-replicated is an expected failure today (PartitionSnapshot.under_replicated).
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.cli import main as cli_main
from streamscope.core.monitor.external import ExternalObserver, ExternalSettings
from streamscope.core.monitor.snapshot import ClusterSnapshot

from tests.multibroker import TANSU_NODE_ID, MockCluster, TansuCluster

Placement = dict[tuple[str, int], tuple[int, tuple[int, ...], tuple[int, ...]]]


def _metadata(bootstrap: str):
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    return admin.list_topics(timeout=10)


def _placement_from_metadata(bootstrap: str) -> Placement:
    md = _metadata(bootstrap)
    return {(t, p): (pm.leader, tuple(pm.replicas), tuple(pm.isrs))
            for t, tm in md.topics.items() if not t.startswith("__")
            for p, pm in tm.partitions.items()}


def _placement(snap: ClusterSnapshot) -> Placement:
    return {(p.topic, p.index): (p.leader, p.replicas, p.isr)
            for t in snap.topics for p in t.partitions}


def _watermarks(snap: ClusterSnapshot) -> dict[tuple[str, int], tuple[int, int]]:
    return {(p.topic, p.index): (p.log_start_offset, p.high_watermark)
            for t in snap.topics for p in t.partitions}


def _read_watermarks(bootstrap: str, tps: list[tuple[str, int]]
                     ) -> dict[tuple[str, int], tuple[int, int]]:
    """What a separate consumer (never joining a group) reads."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermark-reader",
                         "log_level": 0})
    try:
        return {(t, p): tuple(consumer.get_watermark_offsets(TopicPartition(t, p),
                                                             timeout=10))
                for t, p in tps}
    finally:
        consumer.close()


def _create_topic(bootstrap: str, name: str, partitions: int, replication: int) -> None:
    """Through a client dropped on return (a Tansu broker stopping waits for the
    connections still open)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    admin.create_topics([NewTopic(name, partitions, replication)],
                        request_timeout=15)[name].result(15)


def _produce(bootstrap: str, topic: str, partitions: int, per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0})
    for i in range(partitions * per_partition):
        producer.produce(topic, b"v%d" % i, partition=i % partitions)
    assert producer.flush(15) == 0


# -- librdkafka's mock cluster: three brokers ------------------------------------------

def test_snapshot_lists_every_broker_and_the_controller(rdkafka_cluster: MockCluster):
    cluster = rdkafka_cluster
    cluster.create_topic("orders", 3, 3)
    cluster.set_controller(2)
    with ExternalObserver(ExternalSettings(cluster.bootstrap), timeout_s=5) as obs:
        snap = obs.snapshot()
        assert [b.node_id for b in snap.brokers] == [1, 2, 3]
        assert {b.node_id: f"{b.host}:{b.port}" for b in snap.brokers} == cluster.addresses
        assert snap.controller_id == 2
        assert snap.broker.node_id == 2  # the controller stands for the cluster
        assert snap.all_brokers == snap.brokers
        # Metadata as a separate client reads it names the same brokers and controller.
        md = _metadata(cluster.bootstrap)
        assert {n: f"{b.host}:{b.port}" for n, b in md.brokers.items()} == cluster.addresses
        assert md.controller_id == 2
        # What the mock does not serve is said, not a failure.
        assert "DescribeConfigs" in obs.unsupported


def test_unserved_group_listing_is_said(rdkafka_cluster: MockCluster):
    rdkafka_cluster.create_topic("orders", 3, 3)
    with ExternalObserver(ExternalSettings(rdkafka_cluster.bootstrap), timeout_s=5) as obs:
        assert obs.snapshot().groups == ()
        assert "ListGroups" in obs.unsupported


def test_partition_placement_and_watermarks_agree_with_metadata(
        rdkafka_cluster: MockCluster):
    cluster = rdkafka_cluster
    cluster.create_topic("orders", 6, 3)
    cluster.create_topic("payments", 4, 2)
    _produce(cluster.bootstrap, "orders", 6, 5)
    _produce(cluster.bootstrap, "payments", 4, 3)
    with ExternalObserver(ExternalSettings(cluster.bootstrap), timeout_s=5) as obs:
        snap = obs.snapshot()
    placement = _placement(snap)
    assert placement == _placement_from_metadata(cluster.bootstrap)
    assert len(placement) == 10
    # Every broker leads some partition, each leader is one of its replicas, and each
    # partition has as many replicas as its topic's replication factor.
    assert {leader for leader, _, _ in placement.values()} == {1, 2, 3}
    for (topic, _), (leader, replicas, isr) in placement.items():
        assert leader in replicas
        assert len(set(replicas)) == (3 if topic == "orders" else 2)
        assert set(isr) == set(replicas)
    assert snap.under_replicated == ()
    watermarks = _watermarks(snap)
    assert watermarks == _read_watermarks(cluster.bootstrap, sorted(watermarks))
    assert {hw for (t, _), (_, hw) in watermarks.items() if t == "orders"} == {5}
    assert {hw for (t, _), (_, hw) in watermarks.items() if t == "payments"} == {3}


def test_stopped_broker_leaves_and_its_partitions_move(rdkafka_cluster: MockCluster):
    cluster = rdkafka_cluster
    cluster.create_topic("orders", 6, 3)
    settings = ExternalSettings(cluster.bootstrap)
    with ExternalObserver(settings, timeout_s=5) as obs:
        before = _placement(obs.snapshot())
        led_by_3 = sorted(tp for tp, (leader, _, _) in before.items() if leader == 3)
        assert led_by_3 == [("orders", 2), ("orders", 5)]

        cluster.broker_down(3)
        # What a controller does when a broker goes: another replica leads.
        for topic, p in led_by_3:
            cluster.set_leader(topic, p, 1)
        snap = obs.snapshot()  # the same observer, as a poller keeps it
        assert [b.node_id for b in snap.brokers] == [1, 2]
        after = _placement(snap)
        assert after == _placement_from_metadata(cluster.bootstrap)
        assert all(after[tp][0] == 1 for tp in led_by_3)
        assert all(after[tp] == before[tp] for tp in before if tp not in led_by_3)
        assert not any(leader == 3 for leader, _, _ in after.values())

        cluster.broker_up(3)
        assert [b.node_id for b in obs.snapshot().brokers] == [1, 2, 3]


def test_partitions_without_a_live_leader_are_shown(rdkafka_cluster: MockCluster, capsys):
    cluster = rdkafka_cluster
    cluster.create_topic("orders", 6, 3)
    cluster.broker_down(3)  # no failover: orders 2 and 5 keep naming broker 3
    cluster.set_leader("orders", 0, -1)  # and orders 0 has no leader at all
    with ExternalObserver(ExternalSettings(cluster.bootstrap), timeout_s=5) as obs:
        snap = obs.snapshot()
    live = {b.node_id for b in snap.brokers}
    assert live == {1, 2}
    placement = _placement(snap)
    assert placement == _placement_from_metadata(cluster.bootstrap)
    offline = sorted(tp for tp, (leader, _, _) in placement.items() if leader not in live)
    assert offline == [("orders", 0), ("orders", 2), ("orders", 5)]
    # The snapshot says so per partition; the others keep their watermarks.
    said = {(p.topic, p.index): p.unavailable for t in snap.topics for p in t.partitions}
    assert said[("orders", 0)] == "no leader"
    assert "broker 3" in said[("orders", 2)] and "broker 3" in said[("orders", 5)]
    assert all(said[tp] is None for tp in said if tp not in offline)

    # `streamscope inspect` lists the live brokers and marks the offline partitions.
    assert cli_main(["inspect", "--bootstrap", cluster.bootstrap]) == 0
    out = capsys.readouterr().out
    assert "broker 1 at " in out and "broker 2 at " in out and "broker 3 at " not in out
    offline_lines = [line for line in out.splitlines() if "UNAVAILABLE" in line]
    assert len(offline_lines) == 3 and "UNAVAILABLE: no leader" in offline_lines[0]


# -- three Tansu brokers over one S3 bucket --------------------------------------------

def _tansu_snapshot(address: str) -> ClusterSnapshot:
    with ExternalObserver(ExternalSettings(address), timeout_s=10) as obs:
        return obs.snapshot()


def test_tansu_brokers_share_one_storage(tansu_cluster: TansuCluster):
    first, second, third = tansu_cluster.addresses
    _create_topic(first, "orders", 3, 1)
    _produce(second, "orders", 3, 4)

    snaps = {a: _tansu_snapshot(a) for a in tansu_cluster.addresses}
    marks = _watermarks(snaps[first])
    assert sorted(marks) == [("orders", 0), ("orders", 1), ("orders", 2)]
    assert all(hw > 0 for _, hw in marks.values())
    assert marks == _read_watermarks(third, sorted(marks))
    for address, snap in snaps.items():
        assert _watermarks(snap) == marks
        # Tansu 0.6.0: every broker is node 111, alone, leader of every partition, at
        # its own address; the snapshot says what Metadata says.
        assert [(b.node_id, f"{b.host}:{b.port}") for b in snap.brokers] == [
            (TANSU_NODE_ID, address)]
        assert snap.controller_id == TANSU_NODE_ID
        assert _placement(snap) == _placement_from_metadata(address)
        assert {leader for leader, _, _ in _placement(snap).values()} == {TANSU_NODE_ID}
        assert snap.under_replicated == ()


def test_tansu_stopped_broker_takes_no_data_away(tansu_cluster: TansuCluster):
    first, second, third = tansu_cluster.addresses
    _create_topic(second, "orders", 2, 1)
    _produce(first, "orders", 2, 3)
    # One observer over every broker, kept across the stop as a poller keeps it.
    with ExternalObserver(ExternalSettings(tansu_cluster.bootstrap), timeout_s=10) as obs:
        before = obs.snapshot()
        marks = _watermarks(before)
        assert sorted(marks) == [("orders", 0), ("orders", 1)]
        serving = f"{before.broker.host}:{before.broker.port}"
        stopped = tansu_cluster.addresses.index(serving)
        tansu_cluster.stop(stopped)  # the broker the observer was talking to
        rest = [a for i, a in enumerate(tansu_cluster.addresses) if i != stopped]
        assert tansu_cluster.bootstrap == ",".join(rest)

        after = obs.snapshot()
        assert _watermarks(after) == marks
        # Node 111 again, now at a broker that still runs.
        assert [(b.node_id, f"{b.host}:{b.port}") for b in after.brokers] == [
            (TANSU_NODE_ID, f"{after.broker.host}:{after.broker.port}")]
        assert f"{after.broker.host}:{after.broker.port}" in rest
    for address in rest:
        assert _watermarks(_tansu_snapshot(address)) == marks


def test_tansu_replicas_on_one_node_are_not_under_replicated(tansu: str):
    _create_topic(tansu, "orders", 2, 3)
    snap = _tansu_snapshot(tansu)
    assert _placement(snap) == {
        ("orders", p): (TANSU_NODE_ID, (TANSU_NODE_ID,) * 3, (TANSU_NODE_ID,) * 3)
        for p in (0, 1)}
    assert snap.under_replicated == ()
