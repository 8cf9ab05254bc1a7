"""What the monitor learns of each member's heartbeats (issue 9, item 3), on a real Broker.

The coordinator reports, on the broker loop's clock, how long since it last heard from each
member, the interval the member was seen heartbeating at, and whether it is parked in a
rebalance; the snapshot turns that into "suspect". Real in-process consumers, one killed
(heartbeats stop, no LeaveGroup); waits poll with deadlines, nothing asserts wall time.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from streamscope.core.clients import Consumer
from streamscope.core.config import BrokerConfig
from streamscope.core.monitor import EmbeddedObserver, MemberSnapshot
from streamscope.core.node import start_broker


@pytest.fixture
async def broker(tmp_path):
    b = await start_broker(BrokerConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path / "data",
        group_initial_rebalance_delay_ms=50, group_min_session_timeout_ms=100,
    ))
    try:
        yield b
    finally:
        await b.close()


async def wait_until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def members_of(observer: EmbeddedObserver, group_id: str) -> dict[str, MemberSnapshot]:
    g = observer.snapshot().group(group_id)
    return {m.client_id: m for m in g.members} if g is not None else {}


async def test_a_killed_member_turns_suspect_before_its_session_timeout_evicts_it(broker):
    broker.create_topic("t", 2)
    observer = EmbeddedObserver(broker, broker.groups)
    consumers = [
        await Consumer(broker, "g", ["t"], client_id=f"c{i}", session_timeout_ms=3000,
                       heartbeat_interval_ms=100, rebalance_timeout_ms=3000).start()
        for i in (1, 2)
    ]
    try:
        def heartbeating() -> bool:
            ms = members_of(observer, "g")
            return len(ms) == 2 and all(
                m.heartbeat_interval_ms is not None and not m.awaiting_rebalance
                for m in ms.values()
            )

        await wait_until(heartbeating, what="both members heartbeating")
        ms = members_of(observer, "g")
        for m in ms.values():
            assert m.session_timeout_ms == 3000
            assert m.since_heartbeat_ms is not None and m.since_heartbeat_ms >= 0
            assert m.suspect_after_ms == pytest.approx(
                min(2 * m.heartbeat_interval_ms, 1500.0)
            )

        consumers[1].kill()
        last: list[float] = []

        def c2_suspect() -> bool:
            ms = members_of(observer, "g")
            if "c2" not in ms:
                return False
            last.append(ms["c2"].since_heartbeat_ms)
            return ms["c2"].suspect and not ms["c1"].suspect

        await wait_until(c2_suspect, what="the killed member to turn suspect")
        ms = members_of(observer, "g")
        assert set(ms) == {"c1", "c2"}  # not evicted yet: the session timeout still runs
        assert ms["c2"].since_heartbeat_ms < 3000
        assert last == sorted(last)  # silence only grows on the broker's clock

        await wait_until(lambda: set(members_of(observer, "g")) == {"c1"},
                         what="the session timeout to evict it")
        assert not members_of(observer, "g")["c1"].suspect
    finally:
        for c in consumers:
            await c.close()


def test_suspect_needs_known_heartbeats_and_is_never_said_of_a_member_in_a_rebalance():
    base = MemberSnapshot("m", "c", "h", None, ())
    assert not base.suspect and base.suspect_after_ms is None  # an external cluster's member
    m = MemberSnapshot("m", "c", "h", None, (), session_timeout_ms=45_000,
                       since_heartbeat_ms=16_000.0)
    assert m.suspect_after_ms == 15_000  # interval unknown: a third of the session
    assert m.suspect
    m = MemberSnapshot("m", "c", "h", None, (), session_timeout_ms=45_000,
                       since_heartbeat_ms=7_000.0, heartbeat_interval_ms=3_000.0)
    assert m.suspect  # two 3 s heartbeats missed
    parked = MemberSnapshot("m", "c", "h", None, (), session_timeout_ms=45_000,
                            since_heartbeat_ms=30_000.0, heartbeat_interval_ms=3_000.0,
                            awaiting_rebalance=True)
    assert not parked.suspect
