"""The consumer apps' headless state, fed a real Fleet's updates: the map shows each
partner's last update and a bounded trail, analytics' zone counts add up, geofence events
come once each at the right place, newest first, and every app counts duplicates and lost
updates from the partners' seqs."""

from __future__ import annotations

import dataclasses

import pytest
from streamscope.core.sim.apps import Analytics, CustomerMap, Notifications
from streamscope.core.sim.city import City, generate_city
from streamscope.core.sim.partners import Fleet, LocationUpdate

T0 = 1_700_000_000_000
STEP_MS = 500


def _fleet_updates(
    seed: int = 21, partners: int = 4, n: int = 4000, step_ms: int = STEP_MS
) -> tuple[City, list[LocationUpdate]]:
    city = generate_city(seed)
    fleet = Fleet(city, partners)
    return city, [fleet.next_update(T0 + i * step_ms) for i in range(n)]


def _feed(app: CustomerMap | Analytics | Notifications, updates: list[LocationUpdate],
          lag_ms: int = 40) -> None:
    for u in updates:
        app.ingest(u, produced_ms=u.ts, processed_ms=u.ts + lag_ms)


def _last_by_partner(updates: list[LocationUpdate]) -> dict[str, LocationUpdate]:
    return {u.partner: u for u in updates}


def test_map_shows_each_partners_last_update_and_a_bounded_trail():
    _, updates = _fleet_updates()
    app = CustomerMap(trail_len=20)
    _feed(app, updates)
    snap = app.snapshot()
    last = _last_by_partner(updates)
    assert [v.partner for v in snap.partners] == sorted(last)
    for view in snap.partners:
        u = last[view.partner]
        assert (view.x, view.y, view.status, view.order, view.ts) == (u.x, u.y, u.status, u.order, u.ts)
        mine = [(p.x, p.y) for p in updates if p.partner == view.partner]
        assert len(view.trail) == 20
        assert list(view.trail) == mine[-20:]
    assert snap.delivery.updates == len(updates)
    assert (snap.delivery.duplicates, snap.delivery.lost) == (0, 0)


def test_map_trail_is_shorter_while_a_partner_has_few_updates():
    _, updates = _fleet_updates(partners=3, n=9)
    app = CustomerMap(trail_len=20)
    _feed(app, updates)
    assert [len(v.trail) for v in app.snapshot().partners] == [3, 3, 3]


def test_delay_percentiles_come_from_the_given_times_over_a_bounded_window():
    _, updates = _fleet_updates(partners=2, n=300)
    app = CustomerMap(delay_window=100)
    assert app.snapshot().delay.p50_ms is None
    for i, u in enumerate(updates):
        # The last 100 records have delays 200..299 ms; older ones are far larger.
        delay = i if i >= 200 else 10_000 + i
        app.ingest(u, produced_ms=u.ts, processed_ms=u.ts + delay)
    delay = app.snapshot().delay
    assert delay.samples == 100
    assert delay.p50_ms == 249
    assert delay.p99_ms == 298
    assert delay.last_ms == 299


def test_analytics_zone_counts_add_up_to_the_updates_fed():
    city, updates = _fleet_updates()
    app = Analytics(city)
    _feed(app, updates)
    snap = app.snapshot(now_ms=updates[-1].ts + 40)
    assert sum(z.updates for z in snap.zones) == len(updates)
    for z in snap.zones:
        assert z.updates == sum(1 for u in updates if city.zone_of(u.x, u.y) == z.zone)
        moving = [u.speed for u in updates if city.zone_of(u.x, u.y) == z.zone and u.speed > 0]
        if moving:
            assert z.avg_speed == pytest.approx(sum(moving) / len(moving))
        else:
            assert z.avg_speed is None


def test_analytics_rate_counts_only_the_sliding_window():
    city, updates = _fleet_updates(partners=2, n=100)
    app = Analytics(city, window_ms=10_000, bucket_ms=1_000)
    # 50 records processed at t=0 s, 50 at t=20 s: a window ending at 25 s sees the second half.
    for i, u in enumerate(updates):
        app.ingest(u, produced_ms=u.ts, processed_ms=0 if i < 50 else 20_000)
    late = [city.zone_of(u.x, u.y) for u in updates[50:]]
    snap = app.snapshot(now_ms=25_000)
    for z in snap.zones:
        assert z.rate_per_s == pytest.approx(late.count(z.zone) / 10.0)
    assert sum(z.rate_per_s for z in app.snapshot(now_ms=40_000).zones) == 0


def test_analytics_shows_a_hot_partner_first():
    city, updates = _fleet_updates(partners=5, n=500)
    hot = [u for u in updates if u.partner == "partner-3"]
    app = Analytics(city, top_n=3)
    _feed(app, updates)
    for u in hot:  # partner-3's app sends everything twice: a hot key
        app.ingest(u, produced_ms=u.ts, processed_ms=u.ts)
    top = app.snapshot(now_ms=0).top_partners
    assert top[0] == ("partner-3", 200)
    assert len(top) == 3 and all(n == 100 for _, n in top[1:])


# Each partner updates every 2 s, or every 7 s (a block's drive at top speed: the sparsest
# stream the contract promises exact events for).
@pytest.mark.parametrize("step_ms", [500, 1750])
def test_geofence_events_come_once_per_leg_at_the_right_place_newest_first(step_ms: int):
    city, updates = _fleet_updates(step_ms=step_ms)
    app = Notifications(city, radius_m=50, max_events=10_000)
    _feed(app, updates)
    events = app.snapshot().events
    # Expected: one event per leg end, found from the public stream.
    expected = []
    prev: dict[str, LocationUpdate] = {}
    for u in updates:
        p = prev.get(u.partner)
        prev[u.partner] = u
        if p is not None and p.status != "idle" and (p.status, p.order) != (u.status, u.order):
            expected.append((p, u))
    assert len(events) == len(expected) > 20
    assert app.snapshot().emitted == len(expected)
    for event, (p, u) in zip(reversed(events), expected, strict=True):
        assert (event.partner, event.order) == (p.partner, p.order)
        if p.status == "to_customer":
            assert event.kind == "customer"
            c = city.customers[event.place]
            if u.status == "idle":  # idle partners stand still at the customer's door
                assert c.point == (u.x, u.y)
            else:  # it waited there and left within the interval: reachable by road
                via = abs(p.x - c.x) + abs(p.y - c.y) + abs(c.x - u.x) + abs(c.y - u.y)
                assert via <= p.speed * (u.ts - p.ts) / 1000 + 0.05
        else:
            # The restaurant lies on the road stretch driven between the two updates.
            assert event.kind == "restaurant"
            r = city.restaurants[event.place]
            driven = abs(p.x - r.x) + abs(p.y - r.y) + abs(r.x - u.x) + abs(r.y - u.y)
            assert driven == pytest.approx(p.speed * (u.ts - p.ts) / 1000, abs=0.05)
    keys = [(e.partner, e.order, e.kind) for e in events]
    assert len(set(keys)) == len(keys)
    assert all(a.ts >= b.ts for a, b in zip(events, events[1:], strict=False))
    assert "arriving at" in events[0].text and events[0].partner in events[0].text


def test_geofence_list_keeps_only_the_newest_events():
    city, updates = _fleet_updates()
    full = Notifications(city, max_events=10_000)
    short = Notifications(city, max_events=5)
    _feed(full, updates)
    _feed(short, updates)
    assert short.snapshot().events == full.snapshot().events[:5]
    assert short.snapshot().emitted == full.snapshot().emitted


def test_replayed_updates_count_as_duplicates_and_change_nothing_else():
    city, updates = _fleet_updates(n=2000)
    replay = updates[1000:1500]
    for make in (CustomerMap, lambda: Analytics(city), lambda: Notifications(city)):
        clean, dup = make(), make()
        _feed(clean, updates)
        _feed(dup, updates)
        _feed(dup, replay)  # redelivered after a crash before the commit
        counts = dup.snapshot(0).delivery if isinstance(dup, Analytics) else dup.snapshot().delivery
        assert (counts.updates, counts.duplicates, counts.lost) == (2500, 500, 0)
        if isinstance(dup, CustomerMap):
            assert isinstance(clean, CustomerMap)
            assert dup.snapshot().partners == clean.snapshot().partners
        if isinstance(dup, Notifications):
            assert isinstance(clean, Notifications)
            assert dup.snapshot().events == clean.snapshot().events
        if isinstance(dup, Analytics):
            # Analytics counts what it processes: the duplicates inflate its zones.
            assert sum(z.updates for z in dup.snapshot(0).zones) == 2500


def test_skipped_updates_count_as_lost():
    city, updates = _fleet_updates(partners=4, n=400)
    skipped = updates[100:140]  # 10 seqs of each partner lost (committed, never processed)
    kept = updates[:100] + updates[140:]
    for app in (CustomerMap(), Analytics(city), Notifications(city)):
        _feed(app, kept)
        counts = app.snapshot(0).delivery if isinstance(app, Analytics) else app.snapshot().delivery
        assert (counts.updates, counts.duplicates, counts.lost) == (len(kept), 0, len(skipped))


def test_an_app_joining_mid_stream_counts_nothing_lost():
    city, updates = _fleet_updates(partners=4, n=400)
    app = CustomerMap()
    _feed(app, updates[200:])
    assert app.snapshot().delivery.lost == 0


def test_same_feed_gives_equal_frozen_snapshots():
    city, updates = _fleet_updates(n=1000)
    a, b = Analytics(city), Analytics(city)
    _feed(a, updates)
    _feed(b, updates)
    assert a.snapshot(T0) == b.snapshot(T0)
    m = CustomerMap()
    _feed(m, updates)
    snap = m.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.partners[0].x = 0.0  # type: ignore[misc]
    assert m.snapshot() == snap


def test_average_speed_leaves_out_idle_partners():
    city = generate_city(21)
    app = Analytics(city)
    west, east = (10.0, 10.0), (city.size_m - 10.0, 10.0)
    feed = [
        LocationUpdate("partner-0", 1, 0, *west, 0.0, 0.0, "idle", T0),
        LocationUpdate("partner-1", 2, 0, *east, 0.0, 0.0, "idle", T0),
        LocationUpdate("partner-1", 2, 1, *east, 8.0, 0.0, "to_restaurant", T0),
        LocationUpdate("partner-1", 2, 2, *east, 12.0, 0.0, "to_restaurant", T0),
    ]
    for u in feed:
        app.ingest(u, produced_ms=u.ts, processed_ms=u.ts)
    zones = app.snapshot(now_ms=T0).zones
    assert zones[city.zone_of(*west)].avg_speed is None
    assert zones[city.zone_of(*east)].avg_speed == 10.0
    assert zones[city.zone_of(*east)].updates == 3


def _batches(updates: list[LocationUpdate], sizes: tuple[int, ...]) -> list[list[LocationUpdate]]:
    out, i, k = [], 0, 0
    while i < len(updates):
        n = sizes[k % len(sizes)]
        out.append(updates[i:i + n])
        i, k = i + n, k + 1
    return out


@pytest.mark.parametrize("kind", ["map", "analytics", "notifications"])
def test_a_batch_ingest_equals_one_ingest_per_update_with_snapshots_between(kind: str):
    city, updates = _fleet_updates(partners=6, n=3000)
    # Redeliveries and gaps, as a crash would cause: duplicates and lost must agree too.
    updates = updates[:1000] + updates[900:1000] + updates[1000:2000] + updates[2100:]

    def make() -> CustomerMap | Analytics | Notifications:
        if kind == "map":
            return CustomerMap(trail_len=30, delay_window=200)
        return Analytics(city) if kind == "analytics" else Notifications(city)

    def snap(app: CustomerMap | Analytics | Notifications, now_ms: float) -> object:
        return app.snapshot(now_ms) if isinstance(app, Analytics) else app.snapshot()

    batched, single = make(), make()
    snapshots = 0
    for n, batch in enumerate(_batches(updates, (1, 7, 250, 0, 64))):
        processed_ms = float(T0 + n * 700)  # one processing time per batch, as an app has
        batched.ingest_batch([(u, float(u.ts - n % 5)) for u in batch], processed_ms=processed_ms)
        for u in batch:
            single.ingest(u, produced_ms=float(u.ts - n % 5), processed_ms=processed_ms)
        if n % 3 == 0:  # the map's snapshot reuses what did not change since the last one
            assert snap(batched, processed_ms) == snap(single, processed_ms)
            snapshots += 1
    assert snapshots > 10
    assert snap(batched, T0 + 10**7) == snap(single, T0 + 10**7)
    assert batched.delivery.counts().duplicates == 100
    assert batched.delivery.counts().lost == 100


def test_the_maps_reused_snapshot_equals_one_built_from_scratch():
    _, updates = _fleet_updates(partners=8, n=2000)
    kept, fresh = CustomerMap(trail_len=25), CustomerMap(trail_len=25)
    first = None
    for batch in _batches(updates, (3, 50, 11)):
        kept.ingest_batch([(u, float(u.ts)) for u in batch], processed_ms=float(batch[-1].ts))
        first = first or kept.snapshot()
        kept.snapshot()
    for u in updates:
        fresh.ingest(u, produced_ms=u.ts, processed_ms=u.ts)
    # Delays differ (one processing time per batch); positions, trails and counts do not.
    assert kept.snapshot().partners == fresh.snapshot().partners
    assert kept.snapshot().delivery == fresh.snapshot().delivery
    assert first is not None and first.partners != kept.snapshot().partners  # it did move
    assert kept.snapshot() is not first and kept.snapshot() == kept.snapshot()


def test_analytics_puts_each_update_in_the_zone_the_city_names():
    city = generate_city(5)
    edge = city.size_m
    points = [(0.0, 0.0), (edge, edge), (edge, 0.0), (-3.0, 5.0), (edge + 9, -1.0),
              (edge / 3, edge / 3), (edge / 3 - 0.01, 2 * edge / 3), (123.45, 987.6)]
    app = Analytics(city)
    updates = [LocationUpdate(f"partner-{i}", 1, 0, x, y, 5.0, 0.0, "to_customer", T0)
               for i, (x, y) in enumerate(points)]
    app.ingest_batch([(u, float(T0)) for u in updates], processed_ms=float(T0))
    expected = [0] * city.zone_count
    for x, y in points:
        expected[city.zone_of(x, y)] += 1
    assert [z.updates for z in app.snapshot(T0).zones] == expected
