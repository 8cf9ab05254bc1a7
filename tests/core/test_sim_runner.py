"""``SimRunner`` on a real in-process broker, paced by a ManualClock the test owns: exact
counts for a simulated interval, bursts, retuning, topic creation, per-partner order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from streamscope.core.broker import Broker
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.groups.clock import ManualClock
from streamscope.core.records import iter_all_records
from streamscope.core.sim.partners import LocationUpdate, decode_update
from streamscope.core.sim.runner import SimRunner

from tests.core.helpers import wait_until

WALL = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def runners() -> AsyncIterator[list[SimRunner]]:
    started: list[SimRunner] = []
    yield started
    for r in started:
        await r.stop()


async def _runner(broker: Broker, clock: ManualClock, runners: list[SimRunner],
                  **kw: object) -> SimRunner:
    settings: dict[str, object] = dict(topic="deliveries", partitions=4, partners=20,
                                       rate=1000.0, seed=3, clock=clock, wall=lambda: WALL)
    settings.update(kw)
    r = SimRunner(broker, **settings)  # type: ignore[arg-type]
    runners.append(r)
    await r.start()
    return r


async def _advance(r: SimRunner, clock: ManualClock, seconds: float, steps: int) -> None:
    """Move the clock in ``steps`` equal steps, letting the runner catch up after each."""
    for _ in range(steps):
        clock.advance(seconds / steps)
        await wait_until(lambda: r.accounted_until == clock.time(), timeout=10,
                         what="runner to catch up")


def _read(broker: Broker, topic: str, partition: int) -> list[tuple[int, bytes, LocationUpdate]]:
    out = []
    offset = 0
    while True:
        res = broker.fetch(topic, partition, offset, 1 << 20)
        if not res.records:
            return out
        for rec in iter_all_records(res.records):
            if rec.offset >= offset:
                assert rec.key is not None and rec.value is not None
                out.append((rec.offset, rec.key, decode_update(rec.value)))
        offset = res.next_offset


@pytest.mark.parametrize("rate", [1.0, 1000.0, 20_000.0])
async def test_runner_sends_exactly_its_rate_over_a_simulated_interval(broker, clock, runners,
                                                                       rate):
    r = await _runner(broker, clock, runners, rate=rate)
    await _advance(r, clock, 2.0, 8)
    assert r.sent == int(rate * 2)
    assert sum(r.sent_per_partition.values()) == r.sent


async def test_tick_granularity_does_not_change_the_count(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=333.0)
    await _advance(r, clock, 1.0, 7)  # steps of 1/7 s: fractions of an update carry over
    assert r.sent == 333


async def test_lunch_rush_multiplies_the_rate_inside_its_window_only(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=1000.0)
    await _advance(r, clock, 1.0, 4)
    assert r.sent == 1000
    r.lunch_rush(3.0, 0.3)
    assert r.burst == 3.0
    await _advance(r, clock, 1.0, 4)  # the window ends inside the second tick
    assert r.sent == 1000 + 3 * 300 + 700
    assert r.burst == 1.0


async def test_retune_changes_rate_and_partners_while_running(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=100.0, partners=2)
    await _advance(r, clock, 1.0, 2)
    r.retune(rate=500.0, partners=7)
    await _advance(r, clock, 1.0, 2)
    assert r.sent == 600
    await r.stop()
    keys = {k for p in range(4) for _, k, _ in _read(broker, "deliveries", p)}
    assert keys == {f"partner-{i}".encode() for i in range(7)}
    with pytest.raises(ValueError):
        r.retune(rate=0)


async def test_runner_creates_a_missing_topic_and_keeps_an_existing_one(broker, clock, runners):
    await _runner(broker, clock, runners, topic="fresh", partitions=5)
    assert broker.topic_partition_count("fresh") == 5
    broker.create_topic("existing", 2)
    r = await _runner(broker, clock, runners, topic="existing", partitions=8)
    assert broker.topic_partition_count("existing") == 2
    await _advance(r, clock, 1.0, 2)
    assert set(r.sent_per_partition) <= {0, 1}


async def test_each_partner_stays_in_its_key_partition_in_order(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=5000.0, partners=30, batch=64)
    await _advance(r, clock, 1.0, 5)
    await r.stop()
    assert r.errors == 0
    total = 0
    for p in range(4):
        records = _read(broker, "deliveries", p)
        assert len(records) == r.sent_per_partition.get(p, 0)
        total += len(records)
        last: dict[str, LocationUpdate] = {}
        for offset, key, update in records:
            assert key == update.key
            assert partition_for_key(key, 4) == p
            prev = last.get(update.partner)
            if prev is not None:
                assert update.seq == prev.seq + 1, (offset, update)
                assert update.ts >= prev.ts
            last[update.partner] = update
    assert total == r.sent == 5000


async def test_update_timestamps_follow_the_injected_clock(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=10.0, partners=1, partitions=1)
    await _advance(r, clock, 1.0, 1)
    await r.stop()
    stamps = [u.ts for _, _, u in _read(broker, "deliveries", 0)]
    assert stamps == [int(WALL * 1000) + 100 * i for i in range(1, 11)]


async def test_stop_ends_sending_and_leaves_no_timer(broker, clock, runners):
    r = await _runner(broker, clock, runners, rate=100.0)
    await _advance(r, clock, 1.0, 2)
    await r.stop()
    assert not r.running and clock.pending == 0
    clock.advance(5.0)
    assert r.sent == 100
    await r.start()
    await _advance(r, clock, 1.0, 2)
    assert r.sent == 200
