"""In-process group consumers on a real Broker: sharing, rebalances, commits, fan-out.

Each test runs consumers as tasks on the broker's loop with short heartbeat and session
timeouts; every wait polls with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict

import pytest

from core.broker import Broker
from core.clients import Consumer, Producer
from core.config import BrokerConfig
from core.groups import GroupState


def make_broker(path) -> Broker:
    return Broker(BrokerConfig(
        host="127.0.0.1", port=0, data_dir=path, group_initial_rebalance_delay_ms=50,
        group_min_session_timeout_ms=100,
    ))


@pytest.fixture
async def broker(tmp_path):
    b = make_broker(tmp_path / "data")
    await b.start()
    try:
        yield b
    finally:
        await b.close()


async def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Ownership:
    """Checks that no partition is held by two consumers at once."""

    def __init__(self) -> None:
        self.owner: dict[tuple[str, int], str] = {}
        self.violations: list[str] = []

    def hooks(self, name: str) -> dict:
        return {"on_assigned": lambda tps: self._assign(name, tps),
                "on_revoked": lambda tps: self.release(name, tps)}

    def _assign(self, name, tps):
        for tp in tps:
            if self.owner.get(tp, name) != name:
                self.violations.append(f"{tp} given to {name} while {self.owner[tp]} holds it")
            self.owner[tp] = name

    def release(self, name, tps=None):
        for tp in list(tps if tps is not None else self.owner):
            if self.owner.get(tp) == name:
                del self.owner[tp]


class Reader:
    """Runs ``getmany`` in a task and keeps everything it returned, in order."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.seen: list[tuple[int, int, bytes, bytes]] = []  # partition, offset, key, value
        self.task = asyncio.create_task(self._loop())

    async def _loop(self):
        c = self.consumer
        while c.status not in ("closed", "dead"):
            try:
                got = await c.getmany(timeout_ms=50)
            except Exception:
                if c.status in ("closed", "dead"):
                    return
                raise
            for (_, p), records in got.items():
                self.seen.extend((p, r.offset, r.key, r.value) for r in records)

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def consumer(broker, group, name, topics=("t",), **kw):
    settings = dict(client_id=name, heartbeat_interval_ms=50, session_timeout_ms=600,
                    rebalance_timeout_ms=2000, auto_offset_reset="earliest",
                    auto_commit_interval_ms=100)
    settings.update(kw)
    return Consumer(broker, group, topics, **settings)


async def produce_keyed(broker, topic, n, keys=40, start=0):
    producer = Producer(broker, linger_ms=1)
    futures = [await producer.send(topic, b"%d" % i, key=b"k%d" % (i % keys))
               for i in range(start, start + n)]
    await asyncio.gather(*futures)


def caught_up(consumers, broker, topic) -> bool:
    """Every partition of ``topic`` is owned by one of ``consumers`` at its high watermark."""
    positions = {tp: c.position(tp) for c in consumers for tp in c.assignment()}
    count = broker.topic_partition_count(topic)
    return len(positions) == count and all(
        positions[(topic, p)] == broker.partition_offsets(topic, p)[1] for p in range(count)
    )


def check_order_and_coverage(readers, broker, topic, total):
    """Every record seen, per-partition offsets increasing per consumer; duplicates."""
    seen = Counter()
    for r in readers:
        last: dict[int, int] = {}
        per_key: dict[bytes, int] = defaultdict(lambda: -1)
        for p, offset, key, value in r.seen:
            assert offset > last.get(p, -1), f"{r.consumer.client_id} went back on partition {p}"
            last[p] = offset
            assert int(value) > per_key[key], "per-key order broken"
            per_key[key] = int(value)
            seen[(p, offset)] += 1
    count = broker.topic_partition_count(topic)
    hw = sum(broker.partition_offsets(topic, p)[1] for p in range(count))
    assert hw == total
    assert len(seen) == total, f"saw {len(seen)} distinct records of {total}"
    return sum(seen.values()) - total


async def test_three_consumers_share_six_partitions_exclusively(broker):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [consumer(broker, "g", f"c{i}", **own.hooks(f"c{i}")) for i in range(3)]
    readers = [Reader(c) for c in consumers]
    await wait_until(lambda: all(len(c.assignment()) == 2 for c in consumers), what="2 each")
    await produce_keyed(broker, "t", 3000)
    await wait_until(lambda: sum(len(r.seen) for r in readers) >= 3000, what="all records")
    duplicates = check_order_and_coverage(readers, broker, "t", 3000)
    assert duplicates == 0
    assert not own.violations
    info = broker.groups.group_info("g")
    assert info.state == GroupState.STABLE and len(info.members) == 3
    assert sorted(tp for m in info.members for tp in
                  [(t, p) for t, ps in m.assignment.items() for p in ps]) == [
        ("t", p) for p in range(6)]
    for r in readers:
        await r.stop()
    for c in consumers:
        await c.close()
    await wait_until(lambda: broker.groups.state_of("g") == GroupState.EMPTY, what="empty")
    assert broker.groups.lag("g") == {("t", p): 0 for p in range(6)}


async def test_a_leaving_consumer_hands_its_partitions_to_the_rest(broker):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [consumer(broker, "g", f"c{i}", **own.hooks(f"c{i}")) for i in range(3)]
    readers = [Reader(c) for c in consumers]
    await wait_until(lambda: all(len(c.assignment()) == 2 for c in consumers))
    await produce_keyed(broker, "t", 1500)
    await wait_until(lambda: sum(len(r.seen) for r in readers) >= 600)
    gen = consumers[0].generation
    started = time.monotonic()
    await readers[2].stop()
    await consumers[2].close()
    await wait_until(lambda: all(len(c.assignment()) == 3 for c in consumers[:2]))
    took = time.monotonic() - started
    await produce_keyed(broker, "t", 1500, start=1500)
    await wait_until(lambda: caught_up(consumers[:2], broker, "t"), what="survivors caught up")
    duplicates = check_order_and_coverage(readers, broker, "t", 3000)
    print(f"\nin-process leave: rebalance {took * 1000:.0f} ms, {duplicates} duplicates")
    assert duplicates == 0  # commit-on-revoke and commit-on-close leave nothing uncommitted
    assert consumers[0].generation > gen
    assert not own.violations
    for r in readers[:2]:
        await r.stop()


async def test_a_killed_consumer_is_evicted_after_its_session_timeout(broker):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [consumer(broker, "g", f"c{i}", auto_commit_interval_ms=5000,
                          **own.hooks(f"c{i}")) for i in range(3)]
    readers = [Reader(c) for c in consumers]
    await wait_until(lambda: all(len(c.assignment()) == 2 for c in consumers))
    await produce_keyed(broker, "t", 1500)
    await wait_until(lambda: len(readers[2].seen) >= 200)
    victim = consumers[2].member_id
    killed_at = time.monotonic()
    consumers[2].kill()
    await readers[2].stop()
    own.release("c2")
    await wait_until(lambda: all(len(c.assignment()) == 3 for c in consumers[:2]), timeout=5)
    evicted_after = time.monotonic() - killed_at
    assert 0.5 < evicted_after < 3.0  # session timeout 600 ms, then one rebalance
    assert victim not in {m.member_id for m in broker.groups.group_info("g").members}
    await wait_until(lambda: caught_up(consumers[:2], broker, "t"), what="survivors caught up")
    duplicates = check_order_and_coverage(readers, broker, "t", 1500)
    print(f"\nin-process kill: evicted after {evicted_after * 1000:.0f} ms, "
          f"{duplicates} duplicates (uncommitted at death)")
    # The dead consumer committed nothing since the first assignment: what it read is
    # read again by the new owners (at-least-once), no more.
    assert 0 < duplicates <= len(readers[2].seen)
    assert not own.violations
    left = [e for e in broker.events if e.kind == "member_left"]
    assert any(e.data["member_id"] == victim and "session" in e.data["reason"] for e in left)
    for r in readers[:2]:
        await r.stop()


async def test_fan_out_groups_each_see_everything_and_commit_independently(broker):
    broker.create_topic("t", 3)
    await produce_keyed(broker, "t", 900)
    groups = {name: consumer(broker, name, f"{name}-c", enable_auto_commit=False)
              for name in ("maps", "stats", "alerts")}
    readers = {name: Reader(c) for name, c in groups.items()}
    await wait_until(lambda: all(len(r.seen) >= 900 for r in readers.values()))
    for name, r in readers.items():
        assert len({(p, o) for p, o, *_ in r.seen}) == 900, name
    await groups["maps"].commit()
    assert sum(o.offset for o in broker.groups.fetch_offsets("maps").values()) == 900
    assert broker.groups.fetch_offsets("stats") == {} == broker.groups.fetch_offsets("alerts")
    await groups["stats"].commit({("t", 0): 5})
    assert broker.groups.fetch_offsets("stats")[("t", 0)].offset == 5
    assert sum(o.offset for o in broker.groups.fetch_offsets("maps").values()) == 900
    assert broker.groups.lag("stats")[("t", 0)] == broker.partition_offsets("t", 0)[1] - 5
    assert broker.groups.lag("maps") == {("t", p): 0 for p in range(3)}
    for name in groups:
        await readers[name].stop()
        await groups[name].close()


async def test_cooperative_sticky_moves_only_what_a_new_member_needs(broker):
    broker.create_topic("t", 6)
    own = Ownership()
    kw = dict(assignors=("cooperative-sticky",))
    a = consumer(broker, "g", "a", **kw, **own.hooks("a"))
    b = consumer(broker, "g", "b", **kw, **own.hooks("b"))
    readers = [Reader(a), Reader(b)]
    await wait_until(lambda: len(a.assignment()) == 3 and len(b.assignment()) == 3)
    before_a, before_b = a.assignment(), b.assignment()
    gen = a.generation
    c = consumer(broker, "g", "c", **kw, **own.hooks("c"))
    readers.append(Reader(c))
    await wait_until(lambda: [len(x.assignment()) for x in (a, b, c)] == [2, 2, 2])
    assert a.assignment() <= before_a and b.assignment() <= before_b
    assert c.protocol_name == "cooperative-sticky"
    assert a.generation >= gen + 2  # revoke round, then hand-over round
    assert not own.violations
    for r in readers:
        await r.stop()
    for x in (a, b, c):
        await x.close()


async def test_in_process_range_and_roundrobin_consumers_agree_on_a_protocol(broker):
    broker.create_topic("t", 4)
    a = consumer(broker, "g", "a", assignors=("range", "roundrobin"))
    b = consumer(broker, "g", "b", assignors=("roundrobin",))
    readers = [Reader(a), Reader(b)]
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    assert a.protocol_name == b.protocol_name == "roundrobin"
    for r in readers:
        await r.stop()


async def test_pause_stops_delivery_until_resume(broker):
    broker.create_topic("t", 2)
    c = consumer(broker, "g", "c")
    await c.start()
    await wait_until(lambda: len(c.assignment()) == 2)
    c.pause(("t", 0))
    await produce_keyed(broker, "t", 200, keys=50)
    got = Counter()
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        for (_, p), recs in (await c.getmany(50)).items():
            got[p] += len(recs)
    assert got[0] == 0 and got[1] == broker.partition_offsets("t", 1)[1]
    assert c.state().paused == (("t", 0),)
    c.resume()
    total = Counter()
    deadline = time.monotonic() + 5
    while total[0] < broker.partition_offsets("t", 0)[1]:
        assert time.monotonic() < deadline, "partition 0 never resumed"
        for (_, p), recs in (await c.getmany(100)).items():
            total[p] += len(recs)
    assert c.state().paused == ()
    await c.close()


async def test_processing_delay_makes_a_group_fall_behind(broker):
    broker.create_topic("t", 1)
    fast = consumer(broker, "fast", "fast")
    slow = consumer(broker, "slow", "slow", processing_delay_s=0.01)
    readers = [Reader(fast), Reader(slow)]
    await wait_until(lambda: fast.assignment() and slow.assignment())
    await produce_keyed(broker, "t", 300)
    await wait_until(lambda: len(readers[0].seen) >= 300)
    await asyncio.sleep(0.3)
    await fast.commit()
    await slow.commit()
    assert broker.groups.lag("fast") == {("t", 0): 0}
    slow_lag = broker.groups.lag("slow")[("t", 0)]
    assert slow_lag > 200  # ~100 records/s
    assert slow.state().records_consumed < 100
    for r in readers:
        await r.stop()


async def test_manual_commit_survives_a_broker_restart(tmp_path):
    path = tmp_path / "data"
    b = make_broker(path)
    await b.start()
    b.create_topic("t", 2)
    await produce_keyed(b, "t", 100, keys=10)
    c = consumer(b, "g", "c", enable_auto_commit=False)
    seen = 0
    deadline = time.monotonic() + 5
    while seen < 60:
        assert time.monotonic() < deadline
        seen += sum(len(r) for r in (await c.getmany(100, max_records=60 - seen)).values())
    await c.commit()
    positions = dict(c.state().positions)
    c.kill()
    await b.close()
    b2 = make_broker(path)
    await b2.start()
    try:
        c2 = consumer(b2, "g", "c2", enable_auto_commit=False)
        await c2.start()
        await wait_until(lambda: len(c2.assignment()) == 2)
        assert {tp: c2.position(tp) for tp in c2.assignment()} == positions
        rest = 0
        while rest < 40 and time.monotonic() < deadline + 10:
            rest += sum(len(r) for r in (await c2.getmany(100)).values())
        assert rest == 40
        await c2.close()
    finally:
        await b2.close()


async def test_static_member_restart_keeps_its_partitions_without_rebalance(broker):
    broker.create_topic("t", 4)
    a = consumer(broker, "g", "a", group_instance_id="a-1", session_timeout_ms=3000)
    b = consumer(broker, "g", "b", group_instance_id="b-1", session_timeout_ms=3000)
    await a.start()
    await b.start()
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    gen, owned = b.generation, b.assignment()
    rebalances = len(broker.groups.group_info("g").rebalances)
    b.kill()
    b2 = consumer(broker, "g", "b", group_instance_id="b-1", session_timeout_ms=3000)
    await b2.start()
    await wait_until(lambda: b2.assignment() == owned)
    assert b2.generation == gen and b2.member_id != b.member_id
    assert len(broker.groups.group_info("g").rebalances) == rebalances
    assert broker.groups.state_of("g") == GroupState.STABLE
    await a.close()
    await b2.close()


async def test_leader_rebalances_when_a_subscribed_topic_grows(broker):
    broker.create_topic("t", 2)
    a = consumer(broker, "g", "a")
    b = consumer(broker, "g", "b")
    await a.start()
    await b.start()
    await wait_until(lambda: len(a.assignment()) + len(b.assignment()) == 2)
    broker.add_partitions("t", 4)
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    await a.close()
    await b.close()


async def test_consumer_state_reports_what_the_gui_shows(broker):
    broker.create_topic("t", 2)
    await produce_keyed(broker, "t", 10, keys=5)
    c = consumer(broker, "g", "viewer")
    await c.start()
    await wait_until(lambda: c.state().status == "stable")
    got = 0
    deadline = time.monotonic() + 5
    while got < 10 and time.monotonic() < deadline:
        got += sum(len(r) for r in (await c.getmany(100)).values())
    s = c.state()
    assert s.group_id == "g" and s.client_id == "viewer" and s.is_leader
    assert s.member_id.startswith("viewer-") and s.generation >= 1
    assert s.assignment == (("t", 0), ("t", 1)) and s.records_consumed == 10
    assert sum(s.positions.values()) == 10 and s.assignor == "range"
    member = broker.groups.group_info("g").members[0]
    assert member.client_host == "in-process" and member.assignment == {"t": (0, 1)}
    await c.close()
    assert c.state().status == "closed" and c.state().assignment == ()
