"""In-process group consumers on a real Broker: sharing, rebalances, commits, fan-out.

Each test runs consumers as tasks on the broker's loop with short heartbeat and session
timeouts. Nothing here measures the wall clock: waits are for conditions (a deadline only
turns a hang into a failure), and what depends on time (heartbeats, auto-commit, the
processing delay, session-timeout eviction) runs on a ``ManualClock`` the test advances
(the coordinator's, from :mod:`core.groups.clock`: one clock can drive both sides). A
manual clock's ``pending`` counts its armed timers: a consumer parked between heartbeats
holds exactly one. The ``clients`` fixture closes every consumer and stops every reader it
handed out, whatever the test did.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator

import pytest
from streamscope.core.broker import Broker
from streamscope.core.clients import Consumer
from streamscope.core.clients.fetcher import Fetcher, Partitions
from streamscope.core.groups import GroupConfig, GroupCoordinator, GroupState, ManualClock
from streamscope.core.protocol import ApiKey

from tests.core.helpers import (
    WAIT_S,
    consumer,
    make_broker,
    produce_keyed,
    wait_until,
)


async def read_records(c: Consumer, n: int, timeout_ms: float = 100) -> Counter:
    """``getmany`` until ``n`` records came back (never more); per-partition counts."""
    got: Counter = Counter()
    try:
        async with asyncio.timeout(WAIT_S):
            while got.total() < n:
                left = n - got.total()
                for (_, p), recs in (await c.getmany(timeout_ms, max_records=left)).items():
                    got[p] += len(recs)
    except TimeoutError:
        client_id = c.membership.client_id
        raise AssertionError(f"{client_id} read {got.total()} of {n} records") from None
    return got


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
        while c.membership.status not in ("closed", "dead"):
            try:
                got = await c.getmany(timeout_ms=50)
            except Exception:
                if c.membership.status in ("closed", "dead"):
                    return
                raise
            for (_, p), records in got.items():
                self.seen.extend((p, r.offset, r.key, r.value) for r in records)

    async def stop(self):
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=WAIT_S)
        assert done, f"the reader of {self.consumer.membership.client_id} ignored its cancel"
        if not self.task.cancelled() and self.task.exception() is not None:
            raise self.task.exception()


class Clients:
    """Consumers and readers a test started; :meth:`aclose` stops them all (fixture)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.consumers: list[Consumer] = []
        self.readers: list[Reader] = []

    def consumer(self, group, name, topics=("t",), **kw) -> Consumer:
        c = consumer(self.broker, group, name, topics, **kw)
        self.consumers.append(c)
        return c

    def reader(self, c: Consumer) -> Reader:
        r = Reader(c)
        self.readers.append(r)
        return r

    async def aclose(self) -> None:
        tasks = {r.task for r in self.readers}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=WAIT_S)
        for c in self.consumers:
            try:
                async with asyncio.timeout(WAIT_S):
                    await c.close()
            except TimeoutError:
                c.kill()


@pytest.fixture
async def clients(broker) -> AsyncIterator[Clients]:
    started = Clients(broker)
    try:
        yield started
    finally:
        await started.aclose()


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
            assert offset > last.get(p, -1), (
                f"{r.consumer.membership.client_id} went back on partition {p}")
            last[p] = offset
            assert int(value) > per_key[key], "per-key order broken"
            per_key[key] = int(value)
            seen[(p, offset)] += 1
    count = broker.topic_partition_count(topic)
    hw = sum(broker.partition_offsets(topic, p)[1] for p in range(count))
    assert hw == total
    assert len(seen) == total, f"saw {len(seen)} distinct records of {total}"
    return sum(seen.values()) - total


async def test_three_consumers_share_six_partitions_exclusively(broker, clients):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [clients.consumer("g", f"c{i}", **own.hooks(f"c{i}")) for i in range(3)]
    readers = [clients.reader(c) for c in consumers]
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


async def test_a_leaving_consumer_hands_its_partitions_to_the_rest(broker, clients):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [clients.consumer("g", f"c{i}", **own.hooks(f"c{i}")) for i in range(3)]
    readers = [clients.reader(c) for c in consumers]
    await wait_until(lambda: all(len(c.assignment()) == 2 for c in consumers))
    await produce_keyed(broker, "t", 1500)
    await wait_until(lambda: sum(len(r.seen) for r in readers) >= 600)
    gen = consumers[0].membership.generation
    await readers[2].stop()
    await consumers[2].close()
    await wait_until(lambda: all(len(c.assignment()) == 3 for c in consumers[:2]))
    await produce_keyed(broker, "t", 1500, start=1500)
    await wait_until(lambda: caught_up(consumers[:2], broker, "t"), what="survivors caught up")
    duplicates = check_order_and_coverage(readers, broker, "t", 3000)
    assert duplicates == 0  # commit-on-revoke and commit-on-close leave nothing uncommitted
    assert consumers[0].membership.generation > gen
    assert not own.violations


async def test_a_killed_consumer_is_evicted_by_its_session_timeout(broker, clients):
    broker.create_topic("t", 6)
    own = Ownership()
    consumers = [clients.consumer("g", f"c{i}", auto_commit_interval_ms=60_000,
                                  **own.hooks(f"c{i}")) for i in range(3)]
    readers = [clients.reader(c) for c in consumers]
    await wait_until(lambda: all(len(c.assignment()) == 2 for c in consumers))
    await produce_keyed(broker, "t", 1500)
    await wait_until(lambda: len(readers[2].seen) >= 200)
    victim = consumers[2].membership.member_id
    consumers[2].kill()
    await readers[2].stop()
    own.release("c2")
    # Killed: no LeaveGroup, so the group still counts it until its session runs out.
    assert victim in {m.member_id for m in broker.groups.group_info("g").members}
    await wait_until(lambda: all(len(c.assignment()) == 3 for c in consumers[:2]),
                     what="the survivors to take over")
    assert victim not in {m.member_id for m in broker.groups.group_info("g").members}
    left = [e for e in broker.events if e.kind == "member_left"]
    assert [e.data["reason"] for e in left if e.data["member_id"] == victim] == [
        "session timeout expired"]
    await wait_until(lambda: caught_up(consumers[:2], broker, "t"), what="survivors caught up")
    duplicates = check_order_and_coverage(readers, broker, "t", 1500)
    # The dead consumer committed nothing since the first assignment: what it read is
    # read again by the new owners (at-least-once), no more.
    assert 0 < duplicates <= len(readers[2].seen)
    assert not own.violations


async def test_fan_out_groups_each_see_everything_and_commit_independently(broker, clients):
    broker.create_topic("t", 3)
    await produce_keyed(broker, "t", 900)
    groups = {name: clients.consumer(name, f"{name}-c", enable_auto_commit=False)
              for name in ("maps", "stats", "alerts")}
    readers = {name: clients.reader(c) for name, c in groups.items()}
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


async def test_cooperative_sticky_moves_only_what_a_new_member_needs(broker, clients):
    broker.create_topic("t", 6)
    own = Ownership()
    kw = dict(assignors=("cooperative-sticky",))
    a = clients.consumer("g", "a", **kw, **own.hooks("a"))
    b = clients.consumer("g", "b", **kw, **own.hooks("b"))
    clients.reader(a)
    clients.reader(b)
    await wait_until(lambda: len(a.assignment()) == 3 and len(b.assignment()) == 3)
    before_a, before_b = a.assignment(), b.assignment()
    gen = a.membership.generation
    c = clients.consumer("g", "c", **kw, **own.hooks("c"))
    clients.reader(c)
    await wait_until(lambda: [len(x.assignment()) for x in (a, b, c)] == [2, 2, 2])
    assert a.assignment() <= before_a and b.assignment() <= before_b
    assert c.membership.protocol_name == "cooperative-sticky"
    assert a.membership.generation >= gen + 2  # revoke round, then hand-over round
    assert not own.violations


async def test_in_process_range_and_roundrobin_consumers_agree_on_a_protocol(broker, clients):
    broker.create_topic("t", 4)
    a = clients.consumer("g", "a", assignors=("range", "roundrobin"))
    b = clients.consumer("g", "b", assignors=("roundrobin",))
    clients.reader(a)
    clients.reader(b)
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    assert a.membership.protocol_name == b.membership.protocol_name == "roundrobin"


async def test_pause_stops_delivery_until_resume(broker, clients):
    broker.create_topic("t", 2)
    c = clients.consumer("g", "c")
    await c.start()
    await wait_until(lambda: len(c.assignment()) == 2)
    c.pause(("t", 0))
    await produce_keyed(broker, "t", 200, keys=50)
    end = {p: broker.partition_offsets("t", p)[1] for p in (0, 1)}
    assert end[0] > 0 and end[1] > 0
    # Everything of partition 1 comes back, and not one record of the paused partition 0.
    assert await read_records(c, end[1]) == Counter({1: end[1]})
    assert c.state().paused == (("t", 0),)
    assert await c.getmany(timeout_ms=50) == {}
    c.resume()
    assert await read_records(c, end[0]) == Counter({0: end[0]})
    assert c.state().paused == ()


def heartbeats(broker: Broker, client_id: str) -> int:
    """Heartbeats ``client_id`` sent, as the broker's monitor counts them."""
    local = [c for c in broker.local_clients.values() if c.client_id == client_id]
    return sum(c.requests_by_api.get(ApiKey.HEARTBEAT, 0) for c in local)


async def test_heartbeats_follow_the_consumers_clock(broker, clients):
    broker.create_topic("t", 1)
    clock = ManualClock()
    # A minute between heartbeats: on the loop's clock none would be due during this test.
    c = clients.consumer("g", "ticking", clock=clock, heartbeat_interval_ms=60_000,
                         session_timeout_ms=120_000)
    await c.start()
    await wait_until(lambda: c.membership.status == "stable" and clock.pending == 1,
                     what="the first wait between heartbeats")
    sent = heartbeats(broker, "ticking")
    clock.advance(59.999)
    assert clock.pending == 1  # not due: its timer did not fire
    clock.advance(0.001)
    assert clock.pending == 0  # due to the millisecond
    await wait_until(lambda: heartbeats(broker, "ticking") == sent + 1 and clock.pending == 1,
                     what="one heartbeat, then the next wait")
    clock.advance(59.999)
    assert clock.pending == 1  # the next one is a whole interval later
    clock.advance(600)  # however far time jumps, one wait ends in one heartbeat
    await wait_until(lambda: clock.pending == 1, what="the next wait")
    assert heartbeats(broker, "ticking") == sent + 2


def committed(broker: Broker, group: str, tp=("t", 0)) -> int | None:
    found = broker.groups.fetch_offsets(group).get(tp)
    return found.offset if found is not None else None


async def test_auto_commit_waits_for_its_interval_on_the_consumers_clock(broker, clients):
    broker.create_topic("t", 1)
    await produce_keyed(broker, "t", 10, keys=5)
    clock = ManualClock()
    c = clients.consumer("g", "committer", clock=clock, heartbeat_interval_ms=60_000,
                         session_timeout_ms=120_000, auto_commit_interval_ms=300_000)
    await c.start()
    await wait_until(lambda: c.membership.status == "stable" and clock.pending == 1, what="stable")
    assert await read_records(c, 10) == Counter({0: 10})
    assert c.position(("t", 0)) == 10 and committed(broker, "g") is None
    sent = heartbeats(broker, "committer")
    clock.advance(299.999)  # one heartbeat, a millisecond short of the auto-commit interval
    await wait_until(lambda: heartbeats(broker, "committer") == sent + 1 and clock.pending == 1,
                     what="the heartbeat")
    assert committed(broker, "g") is None
    clock.advance(60)
    await wait_until(lambda: committed(broker, "g") == 10, what="the auto-commit")


async def test_processing_delay_holds_each_batch_for_its_time_on_the_clock(broker, clients):
    broker.create_topic("t", 1)
    await produce_keyed(broker, "t", 300)
    clock = ManualClock()
    # 10 ms a record: batches of 50 (each pause stays under 0.5 s), each held 0.5 s.
    slow = clients.consumer("slow", "slow", processing_delay_s=0.01, clock=clock,
                            heartbeat_interval_ms=60_000, session_timeout_ms=120_000)
    fast = clients.consumer("fast", "fast")
    clients.reader(fast)
    clients.reader(slow)
    await wait_until(lambda: fast.fetcher.records_consumed == 300, what="the fast group")
    for batch in range(3):
        # Parked in a processing pause beside the wait between heartbeats.
        await wait_until(lambda: clock.pending == 2, what=f"batch {batch + 1}")
        assert slow.fetcher.records_consumed == 50 * batch
        clock.advance(0.499)
        assert clock.pending == 2
        clock.advance(0.001)
        assert clock.pending == 1
    await wait_until(lambda: slow.fetcher.records_consumed == 150 and clock.pending == 2,
                     what="batch 4")
    await fast.commit()
    await slow.commit()
    assert broker.groups.lag("fast") == {("t", 0): 0}
    assert broker.groups.lag("slow") == {("t", 0): 150}


async def coordinator_on(broker: Broker, clock: ManualClock) -> None:
    """Swap in a group coordinator on ``clock`` over the same broker and offset store."""
    await broker.groups.close()
    groups = GroupCoordinator(broker, broker.meta, GroupConfig.from_broker(broker.config),
                              clock=clock)
    broker.attach_groups(groups)
    await groups.start()


async def pump(clock: ManualClock, predicate, what: str, step: float = 0.05) -> None:
    """Advance ``clock`` a step at a time, letting the loop run between steps, until true."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        clock.advance(step)
        await asyncio.sleep(0.02)


def member_ids(broker: Broker, group: str) -> set[str]:
    return {m.member_id for m in broker.groups.group_info(group).members}


async def test_a_killed_member_is_evicted_when_its_session_timeout_runs_out_exactly(
    broker, clients
):
    clock = ManualClock()  # one clock for the coordinator and both consumers
    await coordinator_on(broker, clock)
    broker.create_topic("t", 2)
    kw = dict(clock=clock, heartbeat_interval_ms=100, auto_commit_interval_ms=60_000)
    # The survivor's long session keeps it safe however the clock jumps.
    survivor = clients.consumer("g", "survivor", session_timeout_ms=60_000, **kw)
    victim = clients.consumer("g", "victim", session_timeout_ms=1_000, **kw)
    await survivor.start()
    await victim.start()
    await pump(clock, lambda: all(c.membership.status == "stable" and len(c.assignment()) == 1
                                  for c in (survivor, victim)), what="one partition each")
    victim_id = victim.membership.member_id
    victim.kill()  # no LeaveGroup: only its session timeout removes it
    silent_ms = next(m.since_heartbeat_ms for m in broker.groups.group_info("g").members
                     if m.member_id == victim_id)
    clock.advance((1_000 - silent_ms) / 1000 - 0.001)
    assert victim_id in member_ids(broker, "g")  # a millisecond before its session ends
    clock.advance(0.001)
    assert victim_id not in member_ids(broker, "g")  # evicted on the dot
    left = [e.data["reason"] for e in broker.events
            if e.kind == "member_left" and e.data["member_id"] == victim_id]
    assert left == ["session timeout expired"]
    await pump(clock, lambda: survivor.membership.status == "stable"
               and len(survivor.assignment()) == 2, what="the survivor to take both partitions")


async def test_manual_commit_survives_a_broker_restart(tmp_path):
    path = tmp_path / "data"
    b = await make_broker(path)
    c = consumer(b, "g", "c", enable_auto_commit=False)
    try:
        b.create_topic("t", 2)
        await produce_keyed(b, "t", 100, keys=10)
        await read_records(c, 60)
        await c.commit()
        positions = dict(c.state().positions)
    finally:
        c.kill()
        await b.close()
    b2 = await make_broker(path)
    c2 = consumer(b2, "g", "c2", enable_auto_commit=False)
    try:
        await c2.start()
        await wait_until(lambda: len(c2.assignment()) == 2)
        assert {tp: c2.position(tp) for tp in c2.assignment()} == positions
        assert (await read_records(c2, 40)).total() == 40
        assert await c2.getmany(timeout_ms=50) == {}  # and nothing more
    finally:
        await c2.close()
        await b2.close()


async def test_static_member_restart_keeps_its_partitions_without_rebalance(broker, clients):
    broker.create_topic("t", 4)
    a = clients.consumer("g", "a", group_instance_id="a-1", session_timeout_ms=3000)
    b = clients.consumer("g", "b", group_instance_id="b-1", session_timeout_ms=3000)
    await a.start()
    await b.start()
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    gen, owned = b.membership.generation, b.assignment()
    rebalances = len(broker.groups.group_info("g").rebalances)
    b.kill()
    b2 = clients.consumer("g", "b", group_instance_id="b-1", session_timeout_ms=3000)
    await b2.start()
    await wait_until(lambda: b2.assignment() == owned)
    assert b2.membership.generation == gen and b2.membership.member_id != b.membership.member_id
    assert len(broker.groups.group_info("g").rebalances) == rebalances
    assert broker.groups.state_of("g") == GroupState.STABLE


async def test_leader_rebalances_when_a_subscribed_topic_grows(broker, clients):
    broker.create_topic("t", 2)
    a = clients.consumer("g", "a")
    b = clients.consumer("g", "b")
    await a.start()
    await b.start()
    await wait_until(lambda: len(a.assignment()) + len(b.assignment()) == 2)
    broker.add_partitions("t", 4)
    await wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)


async def test_consumer_state_reports_what_the_gui_shows(broker, clients):
    broker.create_topic("t", 2)
    await produce_keyed(broker, "t", 10, keys=5)
    c = clients.consumer("g", "viewer")
    await c.start()
    await wait_until(lambda: c.state().status == "stable")
    await read_records(c, 10)
    s = c.state()
    assert s.group_id == "g" and s.client_id == "viewer" and s.is_leader
    assert s.member_id.startswith("viewer-") and s.generation >= 1
    assert s.assignment == (("t", 0), ("t", 1)) and s.records_consumed == 10
    assert sum(s.positions.values()) == 10 and s.assignor == "range"
    member = broker.groups.group_info("g").members[0]
    assert member.client_host == "in-process" and member.assignment == {"t": (0, 1)}
    await c.close()
    assert c.state().status == "closed" and c.state().assignment == ()


async def test_the_fetcher_reads_what_it_is_given_without_a_group(broker):
    """The fetching half stands alone: positions in, records out, no coordinator."""
    broker.create_topic("t", 2)
    await produce_keyed(broker, "t", 40, keys=8)
    parts = Partitions()
    gone: list[bool] = []
    counted: Counter = Counter()

    def count(api_key: ApiKey, bytes_out: int = 0) -> None:
        counted[api_key] += 1

    fetcher = Fetcher(broker, parts, clock=ManualClock(), count=count,
                      stopped=lambda: False, topic_gone=lambda: gone.append(True),
                      auto_offset_reset="earliest", max_poll_records=500,
                      max_partition_fetch_bytes=1 << 20, processing_delay_s=0.0)
    parts.assigned.add(("t", 1))
    parts.positions[("t", 1)] = fetcher.start_position(("t", 1), committed=None)
    got = await fetcher.getmany(timeout_ms=0, max_records=None)
    end = broker.partition_offsets("t", 1)[1]
    assert list(got) == [("t", 1)] and [r.offset for r in got[("t", 1)]] == list(range(end))
    assert parts.positions == {("t", 1): end} and fetcher.records_consumed == end
    assert counted[ApiKey.FETCH] >= 1
    broker.delete_topic("t")
    assert await fetcher.getmany(timeout_ms=0, max_records=None) == {}
    assert gone == [True]
