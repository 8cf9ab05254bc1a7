"""``Scenario`` on a real broker: partners (in-process, or a real client over TCP) and
consumer apps in their own groups; fan-out counts, clean reset, determinism by seed. Also
the runner's ``limit`` and ``speed`` (the knobs the scenario adds), on a ManualClock."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.groups.clock import ManualClock
from streamscope.core.node import Node, start_node
from streamscope.core.sim.apps import AnalyticsSnapshot, MapSnapshot, NotificationsSnapshot
from streamscope.core.sim.runner import SimRunner
from streamscope.core.sim.scenario import Scenario, ScenarioView

from tests.core.helpers import groups_of, scenario_on, wait_until

WALL = 1_700_000_000.0


@pytest.fixture
async def scenario(broker: Broker, tmp_path: Path) -> AsyncIterator[Scenario]:
    async with scenario_on(broker, seed=7, data_dir=tmp_path / "db") as s:
        yield s


@asynccontextmanager
async def started_runner(broker: Broker, **kw: object) -> AsyncIterator[SimRunner]:
    """A started :class:`SimRunner` (stamping records at ``WALL``), stopped on exit."""
    r = SimRunner(broker, wall=lambda: WALL, **kw)  # type: ignore[arg-type]
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


def _in_log(broker: Broker, topic: str = "deliveries") -> int:
    count = broker.topic_partition_count(topic) or 0
    return sum(broker.partition_offsets(topic, p)[1] for p in range(count))


def _caught_up(s: Scenario, n: int) -> bool:
    """All ``n`` updates are in the log and every app committed up to its end."""
    return _in_log(s.broker) == n and all(app.lag() == 0 for app in s.apps)


async def test_three_apps_on_one_topic_each_process_every_update(scenario, broker):
    await scenario.start_partners(partitions=6, partners=20, rate=400.0, limit=1200)
    await scenario.add_app("map", "customer-map")
    await scenario.add_app("analytics", "analytics", consumers=2)
    await scenario.add_app("notifications", "notifications", consumers=3)
    await wait_until(lambda: _caught_up(scenario, 1200), what="three apps to catch up")
    view = scenario.view()
    assert isinstance(view, ScenarioView) and view.city is scenario.city
    assert [a.group for a in view.apps] == ["customer-map", "analytics", "notifications"]
    assert [a.processed for a in view.apps] == [1200, 1200, 1200]
    assert [a.delivery.updates for a in view.apps] == [1200, 1200, 1200]
    assert all(a.lag == 0 and a.delivery.duplicates == a.delivery.lost == 0 for a in view.apps)
    assert isinstance(view.apps[0].model, MapSnapshot)
    assert isinstance(view.apps[1].model, AnalyticsSnapshot)
    assert isinstance(view.apps[2].model, NotificationsSnapshot)
    p = view.partners
    assert p is not None and not p.running and p.sent == 1200 and p.limit == 1200
    assert p.partitions == 6 and len(p.per_partition) == 6 and sum(p.per_partition) == 1200
    assert not p.real_client and p.errors == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.at_ms = 0  # type: ignore[misc]


async def test_reset_deletes_the_apps_groups_and_the_named_topics(scenario, broker):
    await scenario.start_partners(partitions=3, partners=5, rate=200.0, limit=300)
    await scenario.add_app("counter", "a", consumers=2, session_timeout_ms=30_000)
    await scenario.add_app("map", "b")
    await wait_until(lambda: _caught_up(scenario, 300), what="apps to catch up")
    # A killed member stays in its group until its (30 s) session ends: reset evicts it.
    scenario.app("a").kill_consumer()
    await scenario.reset(delete_topics=["deliveries"])
    assert set(groups_of(broker).group_ids()) & {"a", "b"} == set()
    assert broker.topic_partition_count("deliveries") is None
    view = scenario.view()
    assert view.apps == () and view.partners is None
    with pytest.raises(KeyError):
        scenario.app("a")


async def test_the_same_seed_gives_the_same_partitions_and_counts_after_a_reset(
        scenario, broker):
    runs = []
    for _ in range(2):
        await scenario.start_partners(partitions=4, partners=9, rate=500.0, limit=450)
        await scenario.add_app("counter", "c")
        await wait_until(lambda: _caught_up(scenario, 450), what="the run to finish")
        view = scenario.view()
        assert view.partners is not None
        offsets = [broker.partition_offsets("deliveries", p)[1] for p in range(4)]
        runs.append((view.partners.per_partition, offsets, view.apps[0].processed))
        await scenario.reset(delete_topics=["deliveries"])
    assert runs[0] == runs[1]
    assert runs[0][2] == 450


async def test_apps_are_found_by_group_and_removing_one_keeps_its_offsets(scenario, broker):
    await scenario.start_partners(partitions=2, partners=4, rate=200.0, limit=200)
    app = await scenario.add_app("counter", "svc", consumers=2)
    assert scenario.app("svc") is app
    with pytest.raises(ValueError):
        await scenario.add_app("map", "svc")
    with pytest.raises(KeyError):
        scenario.app("nope")
    await wait_until(lambda: _caught_up(scenario, 200), what="the app to catch up")
    await scenario.remove_app("svc")
    assert scenario.view().apps == ()
    assert not groups_of(broker).group_info("svc").members
    assert groups_of(broker).lag("svc") == {("deliveries", 0): 0, ("deliveries", 1): 0}


async def test_start_partners_keeps_an_existing_topic_and_replaces_running_partners(
        scenario, broker):
    broker.create_topic("deliveries", 2)
    await scenario.start_partners(partitions=8, partners=3, rate=50.0)
    first = scenario.runner
    assert first is not None and first.running
    await scenario.start_partners(partitions=8, partners=3, rate=50.0, limit=10)
    assert not first.running and scenario.runner is not first
    await wait_until(lambda: not scenario.partners_running, what="the limit to be reached")
    view = scenario.view().partners
    assert view is not None and view.partitions == 2 and len(view.per_partition) == 2
    assert view.sent == 10


async def test_a_database_app_writes_every_update_into_sqlite(scenario, broker, tmp_path):
    await scenario.start_partners(partitions=3, partners=6, rate=300.0, limit=600)
    await scenario.add_app("database", "db-writer", consumers=2)
    await wait_until(lambda: _caught_up(scenario, 600), what="the database app to catch up")
    model = scenario.view().apps[0].model
    assert model is not None and model.rows == 600  # type: ignore[union-attr]
    assert Path(model.path).parent == tmp_path / "db"  # type: ignore[union-attr]
    await scenario.reset()
    assert not Path(model.path).exists()  # type: ignore[union-attr]


# --- pacing on a ManualClock: speed, lunch rush, achieved rate -------------------------


async def _advance(s: Scenario, clock: ManualClock, seconds: float, steps: int) -> None:
    runner = s.runner
    assert runner is not None
    for _ in range(steps):
        clock.advance(seconds / steps)
        await wait_until(lambda: runner.accounted_until == clock.time(), timeout=10,
                         what="partners to catch up")


async def test_speed_and_lunch_rush_scale_what_the_partners_send(broker):
    clock = ManualClock()
    async with scenario_on(broker, seed=2, clock=clock, wall=lambda: WALL) as s:
        s.set_speed(0.5)
        await s.start_partners(partitions=2, partners=10, rate=1000.0)
        await _advance(s, clock, 1.0, 4)
        assert s.partners_sent == 500
        s.view()  # the achieved rate is measured between views
        s.set_speed(1.0)
        s.lunch_rush(2.0, 10.0)
        view = s.view().partners
        assert view is not None and view.burst == 2.0 and view.rate == 1000.0
        await _advance(s, clock, 1.0, 4)
        assert s.partners_sent == 2500
        view = s.view().partners
        assert view is not None and view.achieved_rate == pytest.approx(2000.0)
        assert view.speed == 1.0
        s.retune(rate=100.0, partners=3)
        view = s.view().partners
        assert view is not None and view.rate == 100.0 and view.partners == 3


async def test_runner_limit_stops_after_exactly_that_many_updates(broker):
    clock = ManualClock()
    async with started_runner(broker, topic="t", partitions=2, partners=5, rate=1000.0,
                              clock=clock, limit=1234) as r:
        for _ in range(4):
            clock.advance(0.25)
            await wait_until(lambda: r.accounted_until == clock.time(), timeout=10)
        assert r.sent == 1000 and r.running and not r.done
        clock.advance(1.0)
        await wait_until(lambda: not r.running, timeout=10, what="the runner to end")
        assert r.sent == 1234 and r.done and clock.pending == 0
        assert _in_log(broker, "t") == 1234  # flushed before it ended
    assert _in_log(broker, "t") == 1234


async def test_runner_speed_scales_the_rate_and_is_checked(broker):
    clock = ManualClock()
    async with started_runner(broker, topic="t", partitions=1, partners=2, rate=1000.0,
                              clock=clock, speed=0.25) as r:
        clock.advance(1.0)
        await wait_until(lambda: r.accounted_until == clock.time(), timeout=10)
        assert r.sent == 250
        with pytest.raises(ValueError):
            r.retune(speed=0)
    with pytest.raises(ValueError):
        SimRunner(broker, limit=-1)


# --- real-client partners ---------------------------------------------------------------


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(BrokerConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path / "data",
        group_initial_rebalance_delay_ms=50, group_min_session_timeout_ms=100,
    ))
    try:
        yield n
    finally:
        await n.close()


async def test_real_client_partners_need_a_listening_broker(scenario):
    with pytest.raises(RuntimeError):
        await scenario.start_partners(real_client=True, limit=1)


@pytest.mark.skipif(importlib.util.find_spec("confluent_kafka") is None,
                    reason="confluent-kafka is not installed")
async def test_real_client_partners_send_over_tcp_to_the_apps(node, tmp_path):
    broker = node.broker
    s = Scenario(broker, node.groups, seed=4, bootstrap=lambda: node.bootstrap)
    try:
        await s.start_partners(partitions=3, partners=6, rate=200.0, limit=300,
                               real_client=True)
        await s.add_app("counter", "remote-readers")
        await wait_until(lambda: _caught_up(s, 300), what="real-client updates consumed")
        view = s.view()
        p = view.partners
        assert p is not None and p.real_client and p.sent == 300 and p.errors == 0
        assert p.partitions == 3 and sum(p.per_partition) == 300
        assert view.apps[0].processed == 300 and view.apps[0].delivery.lost == 0
    finally:
        await s.reset(delete_topics=["deliveries"])
