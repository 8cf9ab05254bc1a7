"""``SimApp`` on a real in-process broker: real consumers in real groups, fed by real
in-process partners (``SimRunner`` with a ``limit``, so every count is exact).

Crashes, kills and rebalances run on the loop's clock with short session timeouts (the
test broker allows 100 ms); every wait is on a condition, never on time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

import pytest
from streamscope.core.broker import Broker
from streamscope.core.clients import Producer
from streamscope.core.sim.apps import MapSnapshot
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.consumers import AppKind, CommitMode, CrashPoint, SimApp
from streamscope.core.sim.database import DatabaseView
from streamscope.core.sim.partners import LocationUpdate
from streamscope.core.sim.runner import SimRunner

from tests.core.helpers import groups_of as _groups
from tests.core.helpers import wait_until

TOPIC = "deliveries"
PARTITIONS = 4
CITY = generate_city(5)
SESSION_MS = 1000


@pytest.fixture
async def started(broker: Broker) -> AsyncIterator[tuple[list[SimApp], list[SimRunner]]]:
    apps: list[SimApp] = []
    runners: list[SimRunner] = []
    yield apps, runners
    for r in runners:
        await r.stop()
    for a in apps:
        await a.close()


async def _partners(broker: Broker, started, *, limit: int, rate: float = 300.0,
                    partners: int = 20) -> SimRunner:
    r = SimRunner(broker, topic=TOPIC, partitions=PARTITIONS, partners=partners, rate=rate,
                  seed=5, city=CITY, limit=limit)
    started[1].append(r)
    await r.start()
    return r


async def _app(broker: Broker, started, *, kind: AppKind = "counter", group: str = "app",
               consumers: int = 2, commit: CommitMode = "after", **kw: object) -> SimApp:
    if broker.topic_partition_count(TOPIC) is None:
        broker.create_topic(TOPIC, PARTITIONS)
    kw.setdefault("session_timeout_ms", SESSION_MS)
    app = SimApp(broker, _groups(broker), kind=kind, group=group, topic=TOPIC, city=CITY,
                 commit=commit, **kw)  # type: ignore[arg-type]
    started[0].append(app)
    await app.add_consumers(consumers)
    return app


def _all_committed(app: SimApp, runner: SimRunner) -> bool:
    """Every update the partners send is in the log (the producer lingers: ``done`` alone
    is not enough) and the group committed every partition up to its end."""
    in_log = sum(app.broker.partition_offsets(TOPIC, p)[1] for p in range(PARTITIONS))
    return runner.done and in_log == runner.limit and app.lag() == 0


async def _crash_midway(broker: Broker, started, *, commit: CommitMode,
                        point: CrashPoint) -> SimApp:
    """1500 updates read by a two-consumer app whose member crashes at ``point`` once 200
    are processed; returns the app once its group committed every partition to the end."""
    runner = await _partners(broker, started, limit=1500)
    app = await _app(broker, started, commit=commit)
    await wait_until(lambda: app.processed >= 200, what="some updates processed")
    app.crash_next(point)
    await wait_until(lambda: app.crashes, what="the crash")
    await wait_until(lambda: _all_committed(app, runner), what="the group to finish")
    return app


def _stable(app: SimApp, members: int) -> bool:
    live = [m for m in app.view(0).members if m.status not in ("dead", "closed")]
    owned = sorted(tp for m in live for tp in m.assignment)
    return (len(live) == members and all(m.status == "stable" for m in live)
            and owned == [(TOPIC, p) for p in range(PARTITIONS)])


async def test_commit_after_with_a_crash_before_commit_redelivers_and_loses_nothing(
        broker, started):
    app = await _crash_midway(broker, started, commit="after", point="before_commit")
    view = app.view(0)
    (crash,) = view.crashes
    assert crash.point == "before_commit" and crash.records > 0
    assert [m.status for m in view.members].count("dead") == 1
    d = view.delivery
    # The dead member's batch was processed, not committed: its next owner read it again.
    assert d.duplicates >= crash.records > 0, (d, crash)
    assert d.lost == 0, d
    assert d.updates - d.duplicates == 1500 == view.processed - d.duplicates


async def test_commit_before_with_a_crash_after_commit_loses_and_never_redelivers(
        broker, started):
    app = await _crash_midway(broker, started, commit="before", point="after_commit")
    view = app.view(0)
    (crash,) = view.crashes
    assert crash.point == "after_commit" and crash.records > 0
    d = view.delivery
    # Committed, never processed: nobody reads that batch again; the partners' later
    # updates reveal the gap in their sequence numbers.
    assert d.duplicates == 0, d
    assert d.lost == crash.records, (d, crash)
    assert d.updates + d.lost == 1500


@pytest.mark.parametrize(("commit", "point"), [("before", "before_commit"),
                                             ("after", "after_commit")])
async def test_the_crash_point_not_the_commit_mode_decides_duplicates_or_losses(
        broker, started, commit, point):
    app = await _crash_midway(broker, started, commit=commit, point=point)
    (crash,) = app.crashes
    d = app.view(0).delivery
    if point == "before_commit":
        assert d.duplicates >= crash.records > 0 and d.lost == 0, (d, crash)
    else:
        assert d.lost == crash.records > 0 and d.duplicates == 0, (d, crash)
    (event,) = [e for e in broker.events if e.kind == "consumer_crashed"]
    assert crash.client_id in event.message and f"{crash.records} updates" in event.message


async def test_a_killed_member_is_evicted_after_its_session_and_its_partitions_move(
        broker, started):
    await _partners(broker, started, limit=100_000, rate=100.0)
    app = await _app(broker, started, consumers=2)
    await wait_until(lambda: _stable(app, 2), what="two members sharing the partitions")
    victim = next(m for m in app.view(0).members if m.assignment)
    killed = app.kill_consumer()
    assert killed == victim.client_id
    assert [e.data["client_id"] for e in broker.events if e.kind == "consumer_killed"] == [
        killed]
    # Dead at once for itself, but the group still counts it until its session expires.
    assert app.view(0).members[0].status == "dead"
    assert len(_groups(broker).group_info("app").members) == 2
    await wait_until(lambda: _stable(app, 1), what="the survivor to own every partition")
    assert len(_groups(broker).group_info("app").members) == 1
    survivor = next(m for m in app.view(0).members if m.status != "dead")
    before = survivor.processed
    await wait_until(lambda: app.view(0).members[1].processed > before + 50,
                     what="the survivor to keep processing")


async def test_a_cooperative_group_keeps_the_survivors_partitions_when_one_dies(
        broker, started):
    app = await _app(broker, started, consumers=3, assignor="cooperative-sticky")
    await wait_until(lambda: _stable(app, 3), what="three members sharing the partitions")
    before = {m.client_id: set(m.assignment) for m in app.view(0).members}
    killed = app.kill_consumer()
    await wait_until(lambda: _stable(app, 2), what="the survivors to take over")
    after = {m.client_id: set(m.assignment) for m in app.view(0).members
             if m.status != "dead"}
    assert killed not in after
    for client, owned in after.items():
        assert owned >= before[client]  # incremental: nobody gave up what it had


async def test_a_removed_member_leaves_the_group_at_once(broker, started):
    app = await _app(broker, started, consumers=3, session_timeout_ms=30_000)
    await wait_until(lambda: _stable(app, 3), what="three stable members")
    await app.remove_consumer()
    # LeaveGroup: the coordinator forgets it now, not after the 30 s session timeout.
    assert len(_groups(broker).group_info("app").members) == 2
    statuses = [m.status for m in app.view(0).members]
    assert statuses[2] == "closed"
    await wait_until(lambda: _stable(app, 2), what="the two left to share the partitions")


async def test_more_consumers_than_partitions_leaves_the_extra_ones_idle(broker, started):
    app = await _app(broker, started, consumers=PARTITIONS + 2)
    await wait_until(lambda: _stable(app, PARTITIONS + 2), what="all members stable")
    view = app.view(0)
    assert sum(m.idle for m in view.members) == 2
    assert all(len(m.assignment) == 1 for m in view.members if not m.idle)


async def test_a_delay_builds_lag_that_drains_once_it_is_lifted(broker, started):
    runner = await _partners(broker, started, limit=1500, rate=300.0)
    app = await _app(broker, started, consumers=1, delay_s=0.02)  # 50 records/s at most
    await wait_until(lambda: app.lag() >= 300, what="lag to build up")
    assert app.view(0).members[0].delay_s == 0.02
    app.set_delay(0.0)
    assert app.view(0).delay_s == 0.0
    await wait_until(lambda: _all_committed(app, runner), what="the lag to drain")
    assert app.lag() == 0 and app.processed == 1500


async def test_a_new_app_counts_its_whole_backlog_as_lag_before_its_first_commit(
        broker, started):
    runner = await _partners(broker, started, limit=200, rate=1000.0)
    await wait_until(lambda: sum(broker.partition_offsets(TOPIC, p)[1]
                                 for p in range(PARTITIONS)) == 200, what="the log to fill")
    app = await _app(broker, started, consumers=0)
    assert app.lag() == 200  # nothing committed: it will read from the log start
    latest = await _app(broker, started, group="late", consumers=0, offset_reset="latest")
    assert latest.lag() == 0
    await app.add_consumers(1)
    await wait_until(lambda: _all_committed(app, runner), what="the backlog to drain")


async def test_a_paused_app_processes_nothing_until_resumed(broker, started):
    runner = await _partners(broker, started, limit=2000, rate=400.0)
    app = await _app(broker, started, consumers=2)
    await wait_until(lambda: app.processed > 100, what="some updates processed")
    app.pause()
    await wait_until(lambda: app.lag() > 300, what="lag while paused")
    held = app.processed  # a batch handed out before the pause may still have landed
    lag = app.lag()
    await wait_until(lambda: app.lag() > lag + 300, what="more lag while paused")
    assert app.processed == held
    assert all(m.paused for m in app.view(0).members)
    app.resume()
    await wait_until(lambda: _all_committed(app, runner), what="the app to catch up")
    assert app.processed == 2000


async def test_auto_commit_mode_commits_without_being_asked(broker, started):
    runner = await _partners(broker, started, limit=600, rate=600.0)
    app = await _app(broker, started, commit="auto", consumers=1)
    await wait_until(lambda: _all_committed(app, runner), what="auto-commits to catch up")
    assert app.processed == 600


async def test_a_map_app_shows_every_partner_and_its_view_is_frozen(broker, started):
    runner = await _partners(broker, started, limit=400, partners=10)
    app = await _app(broker, started, kind="map")
    await wait_until(lambda: _all_committed(app, runner), what="the map to catch up")
    view = app.view(1e12)
    assert isinstance(view.model, MapSnapshot)
    assert [p.partner for p in view.model.partners] == sorted(f"partner-{i}" for i in range(10))
    assert view.delivery.updates == 400 and view.model.delivery == view.delivery
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.processed = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.members[0].processed = 0  # type: ignore[misc]


async def test_records_that_are_not_location_updates_are_counted_and_skipped(broker, started):
    app = await _app(broker, started, consumers=1)
    await broker_produce(broker, TOPIC, [b"not msgpack \xc1", None])
    await wait_until(lambda: app.undecodable == 2, what="both records seen")
    assert app.processed == 0


async def broker_produce(broker: Broker, topic: str, values: list[bytes | None]) -> None:
    producer = Producer(broker, linger_ms=1)
    futures = [await producer.send(topic, v, key=b"k", partition=0) for v in values]
    for f in futures:
        await f
    await producer.close()


class _FailingOnceSink:
    """A sink whose first write fails (a disk error, say); later writes are kept."""

    def __init__(self) -> None:
        self.failed = False
        self.rows: list[tuple[LocationUpdate, float]] = []

    async def process(self, updates: Sequence[tuple[LocationUpdate, float]]) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        self.rows.extend(updates)

    def view(self) -> DatabaseView:
        return DatabaseView(path="mem", rows=len(self.rows), transactions=0,
                            offered=len(self.rows), refused=0, backlog=0, writes_per_s=0.0,
                            p99_ms=None)

    async def close(self) -> None:
        pass


async def test_a_member_whose_processing_fails_dies_loudly_and_its_partitions_move(
        broker, started):
    runner = await _partners(broker, started, limit=600)
    sink = _FailingOnceSink()
    app = await _app(broker, started, kind="database", sink=sink)
    await wait_until(lambda: sink.failed, what="the failing write")
    await wait_until(lambda: _all_committed(app, runner), what="the survivor to take over")
    statuses = sorted(m.status for m in app.view(0).members)
    assert statuses == ["dead", "stable"]
    assert [e for e in broker.events if e.kind == "error" and "disk full" in e.message]
    # The failed batch was never committed, so the survivor wrote it: nothing is missing.
    assert {(u.partner, u.seq) for u, _ in sink.rows} == {
        (f"partner-{i}", seq) for i in range(20) for seq in range(30)}
    assert app.view(0).model == sink.view()


async def test_bad_arguments_are_refused(broker):
    kw = dict(topic=TOPIC, city=CITY, group="g")
    with pytest.raises(ValueError):
        SimApp(broker, _groups(broker), kind="nope", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SimApp(broker, _groups(broker), kind="map", commit="never", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SimApp(broker, _groups(broker), kind="database", **kw)  # type: ignore[arg-type]
    app = SimApp(broker, _groups(broker), kind="map", **kw)  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        app.kill_consumer()
    with pytest.raises(IndexError):
        app.crash_next("before_commit")
    with pytest.raises(ValueError):
        app.set_delay(-1)
