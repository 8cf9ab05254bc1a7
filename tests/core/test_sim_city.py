"""The simulated city and its delivery partners: pure, deterministic, on the roads, and
their updates survive the documented msgpack schema."""

from __future__ import annotations

import msgpack
import pytest
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.partners import (
    STATUSES,
    Fleet,
    LocationUpdate,
    decode_update,
    encode_update,
)

T0 = 1_700_000_000_000.0


def _drive(seed: int, partners: int, n: int, step_ms: float = 500.0) -> list[LocationUpdate]:
    fleet = Fleet(generate_city(seed), partners)
    return [fleet.next_update(T0 + i * step_ms) for i in range(n)]


def test_same_seed_gives_the_same_city_and_another_seed_another():
    assert generate_city(7) == generate_city(7)
    assert generate_city(7) != generate_city(8)


def test_places_are_distinct_intersections_with_their_zone():
    city = generate_city(3, blocks=10, zones_per_side=2, restaurants=5, customers=30)
    places = city.restaurants + city.customers
    assert len({p.point for p in places}) == 35
    for p in places:
        assert p.x % city.block_m == 0 and p.y % city.block_m == 0
        assert 0 <= p.x <= city.size_m and 0 <= p.y <= city.size_m
        assert p.zone == city.zone_of(p.x, p.y)
    assert {p.zone for p in places} <= set(range(4))
    assert city.zone_of(0, 0) == 0 and city.zone_of(city.size_m, city.size_m) == 3


def test_a_city_too_small_for_its_places_is_refused():
    with pytest.raises(ValueError):
        generate_city(1, blocks=2, restaurants=5, customers=5)


def test_same_seed_gives_the_same_updates():
    assert _drive(11, 5, 400) == _drive(11, 5, 400)
    assert _drive(11, 5, 400) != _drive(12, 5, 400)


def test_partners_drive_on_roads_through_every_status_in_order():
    city = generate_city(5)
    updates = _drive(5, 4, 4000)
    seen: dict[str, list[LocationUpdate]] = {}
    for u in updates:
        seen.setdefault(u.partner, []).append(u)
        on_road = u.x % city.block_m < 1e-6 or u.y % city.block_m < 1e-6 or (
            abs(u.x % city.block_m - city.block_m) < 0.01
            or abs(u.y % city.block_m - city.block_m) < 0.01)
        assert on_road, u
        assert 0 <= u.x <= city.size_m and 0 <= u.y <= city.size_m
        assert u.status in STATUSES
        assert (u.speed == 0) == (u.status == "idle")
    assert set(seen) == {f"partner-{i}" for i in range(4)}
    for ups in seen.values():
        assert [u.seq for u in ups] == list(range(len(ups)))
        assert all(a.ts <= b.ts for a, b in zip(ups, ups[1:], strict=False))
        statuses = [u.status for u in ups]
        assert {"to_restaurant", "to_customer", "idle"} <= set(statuses)
        allowed = {("idle", "to_restaurant"), ("to_restaurant", "to_customer"),
                   ("to_customer", "idle")}
        # Long gaps could skip a leg; 500 ms steps never do.
        for a, b in zip(statuses, statuses[1:], strict=False):
            assert a == b or (a, b) in allowed, (a, b)
        orders = [u.order for u in ups if u.status != "idle"]
        assert orders == sorted(orders)


def test_adding_partners_leaves_the_existing_ones_driving_as_before():
    small, big = Fleet(generate_city(9), 2), Fleet(generate_city(9), 2)
    big.resize(5)
    a = [small.next_update(T0 + i * 1000) for i in range(2)]
    b = [big.next_update(T0 + i * 1000) for i in range(5)]
    assert a == b[:2]
    assert big.partner_ids == [f"partner-{i}" for i in range(5)]
    big.resize(3)
    assert big.size == 3


def test_update_round_trips_through_the_versioned_msgpack_schema():
    update = _drive(2, 3, 50)[-1]
    data = encode_update(update)
    raw = msgpack.unpackb(data)
    assert raw["v"] == 1
    assert set(raw) == {"v", "partner", "order", "seq", "x", "y", "speed", "heading",
                        "status", "ts"}
    assert decode_update(data) == update
    assert update.key == update.partner.encode()


def test_other_schema_versions_and_malformed_maps_are_rejected():
    update = _drive(2, 1, 3)[-1]
    raw = msgpack.unpackb(encode_update(update))
    with pytest.raises(ValueError):
        decode_update(msgpack.packb({**raw, "v": 2}))
    with pytest.raises(ValueError):
        decode_update(msgpack.packb({k: v for k, v in raw.items() if k != "x"}))
    with pytest.raises(ValueError):
        decode_update(msgpack.packb({**raw, "status": "flying"}))
