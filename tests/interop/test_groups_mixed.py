"""Groups that mix clients: an in-process consumer with kafka-python in one group; an
in-process cooperative-sticky consumer joining librdkafka cooperative-sticky members
(incremental rebalance); three groups of three different clients fanning out over
one topic.

The in-process consumer runs on the broker's loop (``BrokerThread.submit``); the real
clients run one per OS process (test_groups_harness.py).
"""

from __future__ import annotations

import asyncio
import threading
import time

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from streamscope.core.clients import Consumer

from tests.interop.test_groups_harness import (
    Member,
    check_delivery,
    check_records,
    distinct_seen,
    produce,
    wait_until,
)


class InProcessMember:
    """An in-process ``Consumer`` reading in a task on the broker loop, recorded like
    a harness :class:`Member` (records, assigned/revoked events, intervals)."""

    intervals = Member.intervals

    def __init__(self, bt, group: str, topic: str, name: str,
                 assignors=("range", "cooperative-sticky")) -> None:
        self.bt = bt
        self.name = name
        self.records: list[tuple[int, int, str]] = []
        self.events: list[dict] = []
        self.assigned: set[tuple[str, int]] = set()
        self.first_offsets: dict[int, int] = {}
        self.ended_at: float | None = None
        self._stop = threading.Event()

        def event(kind, tps):
            self.events.append({"e": kind, "t": time.monotonic(), "tps": sorted(tps)})
            if kind == "assigned":
                self.assigned |= tps
            else:
                self.assigned -= tps

        self.consumer = bt.call(lambda: Consumer(
            bt.broker, group, [topic], client_id=name, auto_offset_reset="earliest",
            assignors=assignors,
            session_timeout_ms=6000, heartbeat_interval_ms=500, auto_commit_interval_ms=1000,
            on_assigned=lambda tps: event("assigned", tps),
            on_revoked=lambda tps: event("revoked", tps),
        ))
        self._future = bt.submit(self._loop)

    async def _loop(self) -> None:
        consumer = self.consumer
        await consumer.start()
        while not self._stop.is_set():
            got = await consumer.getmany(timeout_ms=100)
            for (_, p), records in got.items():
                self.first_offsets.setdefault(p, records[0].offset)
                self.records.extend((p, r.offset, r.value.decode()) for r in records)
            await asyncio.sleep(0)

    def close(self) -> None:
        self._stop.set()
        self._future.result(10)
        self.ended_at = time.monotonic()
        self.bt.submit(self.consumer.close).result(10)

    def stop(self) -> None:
        if not self._stop.is_set():
            self.close()


def describe(bt, group):
    info = bt.call(bt.broker.groups.group_info, group)
    return info, {m.client_id: m for m in info.members} if info else {}


def report_delivery(members: list, total: int, label: str) -> None:
    """Every record delivered in order, no partition owned twice at once; figures shown."""
    figures = check_delivery(members, total)
    print(f"\n[{label}] {figures['received']} received, {figures['duplicates']} duplicates")


def test_in_process_and_kafka_python_consumers_share_a_group(broker, tmp_path, members):
    bt = broker
    bt.call(bt.broker.create_topic, "mixed", 4)
    produce(bt.bootstrap, "mixed", 0, 4000)
    sim = InProcessMember(bt, "mixed-group", "mixed", "sim-a")
    members.append(sim)
    wait_until(lambda: len(sim.assigned) == 4, 20, "the in-process consumer alone")
    real = Member("kafka-python", bt.bootstrap, "mixed-group", "mixed", "kp-b", tmp_path)
    members.append(real)

    def shared():
        info, by_client = describe(bt, "mixed-group")
        return (info.state.value == "Stable" and len(by_client) == 2
                and len(sim.assigned) == 2 and len(real.assigned) == 2)

    wait_until(shared, 30, "two partitions each", members)
    info, by_client = describe(bt, "mixed-group")
    # The in-process consumer was first, so it led: kafka-python decoded its plan.
    assert info.leader == by_client["sim-a"].member_id
    assert info.protocol_name == "range"
    assert sim.assigned.isdisjoint(real.assigned)
    wait_until(lambda: distinct_seen(members) >= 4000, 30, "the first 4000", members)

    sim.close()
    wait_until(lambda: len(real.assigned) == 4, 30, "kafka-python takes all", members)
    produce(bt.bootstrap, "mixed", 4000, 2000)
    # A new in-process member joins; now kafka-python leads and assigns for it.
    sim2 = InProcessMember(bt, "mixed-group", "mixed", "sim-c")
    members.append(sim2)
    wait_until(lambda: len(sim2.assigned) == 2 and len(real.assigned) == 2, 30,
               "kafka-python's plan reaches the in-process consumer", members)
    info, by_client = describe(bt, "mixed-group")
    assert info.leader == by_client["kp-b"].member_id
    assert {tp for m in info.members for t, ps in m.assignment.items()
            for tp in ((t, p) for p in ps)} == {("mixed", p) for p in range(4)}
    wait_until(lambda: distinct_seen(members) >= 6000, 30, "all 6000", members)
    real.close()
    sim2.close()
    report_delivery(members, 6000, "mixed in-process + kafka-python")


def test_cooperative_rebalance_between_librdkafka_and_an_in_process_consumer(
    broker, tmp_path, members
):
    bt = broker
    bt.call(bt.broker.create_topic, "coop", 6)
    produce(bt.bootstrap, "coop", 0, 3000)
    members.extend(Member("confluent-cooperative", bt.bootstrap, "coop-group", "coop",
                          f"rd-{i}", tmp_path) for i in range(2))
    wait_until(lambda: [len(m.assigned) for m in members] == [3, 3], 30,
               "three partitions per librdkafka member", members)
    before = [set(m.assigned) for m in members]
    generation = describe(bt, "coop-group")[0].generation
    sim = InProcessMember(bt, "coop-group", "coop", "sim-coop",
                          assignors=("cooperative-sticky",))
    members.append(sim)
    wait_until(lambda: [len(m.assigned) for m in members] == [2, 2, 2], 30,
               "two partitions each", members)
    info, _ = describe(bt, "coop-group")
    assert info.protocol_name == "cooperative-sticky"
    assert info.generation == generation + 2  # revoke round, then hand-over round
    # Incremental: the librdkafka members kept two of their three and never dropped all.
    for m, owned in zip(members[:2], before, strict=True):
        assert m.assigned <= owned
        revoked = [tuple(tp) for ev in m.events if ev["e"] == "revoked"
                   for tp in ev["tps"]]
        assert len(revoked) == 1
    produce(bt.bootstrap, "coop", 3000, 3000)
    wait_until(lambda: distinct_seen(members) >= 6000, 30, "all 6000", members)
    for m in members:
        m.close()
    report_delivery(members, 6000, "cooperative librdkafka + in-process")


def test_three_groups_fan_out_and_keep_their_own_offsets(broker, tmp_path, members):
    bt = broker
    bt.call(bt.broker.create_topic, "fan", 3)
    produce(bt.bootstrap, "fan", 0, 3000)
    clients = {"maps": "confluent", "stats": "kafka-python", "alerts": "aiokafka"}
    by_group = {g: Member(c, bt.bootstrap, g, "fan", f"{g}-{c}", tmp_path)
                for g, c in clients.items()}
    members.extend(by_group.values())
    for group, m in by_group.items():
        wait_until(lambda m=m: distinct_seen([m]) >= 3000, 40, f"{group} reads all", members)
        check_records([m], 3000)

    def committed(group):
        return sum(o.offset for o in bt.call(bt.broker.groups.fetch_offsets, group).values())

    for group in by_group:
        wait_until(lambda g=group: committed(g) == 3000, 20, f"{group} commits", members)
    by_group["maps"].close()
    # Rewind one group: the others' cursors do not move.
    admin = AdminClient({"bootstrap.servers": bt.bootstrap})
    rewind = [TopicPartition("fan", p, 0) for p in range(3)]
    futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("maps", rewind)])
    futures["maps"].result(10)
    assert committed("maps") == 0
    assert committed("stats") == committed("alerts") == 3000
    lag = {g: sum(bt.call(bt.broker.groups.lag, g).values()) for g in by_group}
    assert lag == {"maps": 3000, "stats": 0, "alerts": 0}
    produce(bt.bootstrap, "fan", 3000, 300)
    for group in ("stats", "alerts"):
        wait_until(lambda g=group: distinct_seen([by_group[g]]) >= 3300, 30,
                   f"{group} keeps reading", members)
    assert committed("maps") == 0
    print("\n[fan-out] 3 groups x 3000 messages; rewinding 'maps' left the others at 3000")
