"""decode_update's fast path (fields already of the types encode_update writes) gives
exactly what the converting path gives, and anything else still converts or is refused;
the consumer apps' decode cache returns the same updates and stays bounded."""

from __future__ import annotations

import dataclasses

import msgpack
import pytest
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.consumers import _DecodeCache
from streamscope.core.sim.partners import Fleet, LocationUpdate, decode_update, encode_update

T0 = 1_700_000_000_000


def _updates(n: int = 300) -> list[LocationUpdate]:
    fleet = Fleet(generate_city(3), 7)
    return [fleet.next_update(T0 + i * 250) for i in range(n)]


def _wire(**changes: object) -> bytes:
    obj: dict[str, object] = {"v": 1, "partner": "partner-3", "order": 3_000_002, "seq": 41,
                              "x": 120.5, "y": 300.25, "speed": 9.5, "heading": 90.0,
                              "status": "to_customer", "ts": T0}
    obj.update(changes)
    return msgpack.packb({k: v for k, v in obj.items() if v is not _DROP})


_DROP = object()


def test_every_fleet_update_round_trips_to_an_equal_frozen_update():
    for u in _updates():
        got = decode_update(encode_update(u))
        assert got == u and hash(got) == hash(u) and repr(got) == repr(u)
        assert type(got) is LocationUpdate
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.x = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(("changes", "field", "expected"), [
    ({"x": 120}, "x", 120.0),            # an int where a float goes: converted
    ({"speed": 0}, "speed", 0.0),
    ({"order": True}, "order", 1),       # a bool is not an int on the wire: converted
    ({"seq": 41.0}, "seq", 41),
    ({"ts": 5.9}, "ts", 5),
])
def test_fields_of_other_types_are_converted_as_before(changes, field, expected):
    got = decode_update(_wire(**changes))
    value = getattr(got, field)
    assert value == expected and type(value) is type(expected)
    assert got == dataclasses.replace(decode_update(_wire()), **{field: expected})


@pytest.mark.parametrize("data", [
    _wire(v=2), _wire(v=_DROP), _wire(status="flying"), _wire(status=[1]), _wire(x=_DROP), _wire(ts="soon"),
    _wire(partner=_DROP), msgpack.packb([1, 2, 3]), msgpack.packb("text"),
])
def test_other_versions_and_malformed_maps_are_refused(data: bytes):
    with pytest.raises(ValueError):
        decode_update(data)


def test_the_decode_cache_gives_what_decode_update_gives_for_copies_of_the_bytes():
    cache = _DecodeCache(64)
    values = [encode_update(u) for u in _updates(100)]
    for value in values + [bytes(bytearray(v)) for v in values]:  # another app's copies
        assert cache.decode(value) == decode_update(value)
    assert cache.decode(None) is None
    assert cache.decode(b"\xc1garbage") is None
    assert cache.decode(_wire(v=2)) is None
    assert cache.decode(bytearray(values[0])) == decode_update(values[0])


def test_the_decode_cache_keeps_at_most_two_generations():
    cache = _DecodeCache(10)
    for u in _updates(95):
        cache.decode(encode_update(u))
    assert len(cache._new) <= 10 and len(cache._old) <= 10
    assert len(cache._new) + len(cache._old) >= 10
