"""Delivery partners driving in a :class:`~.city.City`, and their location updates.

Contract:

* :class:`Fleet` holds N partners (ids ``partner-0`` .. ``partner-{N-1}``). Each partner
  loops: drive to a restaurant (status ``to_restaurant``), drive the order to a customer
  (``to_customer``), wait a little (``idle``), take the next order. Positions move along
  the city's roads at the partner's speed.
* :meth:`Fleet.next_update` gives the next :class:`LocationUpdate`, taking partners in
  turn (round robin); ``at_ms`` is the simulated time of the update (epoch milliseconds,
  never decreasing) and the partner is moved by the time since its previous update.
  Pure and deterministic: the same seed, city, partner count and sequence of ``at_ms``
  give the same updates (each partner has its own ``random.Random`` seeded from the seed
  and its index, so adding partners never changes the existing ones' drives).
* Per partner, ``seq`` counts its updates from 0 and ``ts`` never decreases, so a reader
  can check that a partner's updates arrived in order.

Wire schema (msgpack map, version 1; :func:`encode_update` / :func:`decode_update`)::

    {"v": 1,                # schema version; readers reject other versions
     "partner": str,        # partner id, also the record key (UTF-8)
     "order": int,          # order id (0 while idle before the first order)
     "seq": int,            # the partner's update counter, from 0
     "x": float, "y": float,# position in metres from the city's south-west corner
     "speed": float,        # metres per second (0 when idle)
     "heading": float,      # degrees, 0 = east, 90 = north, counter-clockwise
     "status": str,         # "to_restaurant" | "to_customer" | "idle"
     "ts": int}             # simulated time of the update, epoch milliseconds
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

import msgpack
from streamscope.core.sim.city import City, Point

SCHEMA_VERSION = 1
Status = Literal["to_restaurant", "to_customer", "idle"]
STATUSES: tuple[Status, ...] = ("to_restaurant", "to_customer", "idle")
ORDERS_PER_PARTNER = 1_000_000  # order ids are partner index * this + the partner's count


@dataclass(frozen=True, slots=True)
class LocationUpdate:
    partner: str
    order: int
    seq: int
    x: float
    y: float
    speed: float
    heading: float
    status: Status
    ts: int

    @property
    def key(self) -> bytes:
        """The record key: the partner id, so one partner's updates share a partition."""
        return self.partner.encode()


def encode_update(update: LocationUpdate) -> bytes:
    return msgpack.packb({
        "v": SCHEMA_VERSION, "partner": update.partner, "order": update.order,
        "seq": update.seq, "x": update.x, "y": update.y, "speed": update.speed,
        "heading": update.heading, "status": update.status, "ts": update.ts,
    })


def decode_update(data: bytes) -> LocationUpdate:
    """The update in ``data``; ValueError for another schema version or a malformed map."""
    obj = msgpack.unpackb(data)
    if not isinstance(obj, dict) or obj.get("v") != SCHEMA_VERSION:
        raise ValueError(f"not a v{SCHEMA_VERSION} location update")
    # Fast path (the consumer apps decode every record): the fields already have the
    # types encode_update writes, so no conversion is needed and the frozen dataclass is
    # filled through its slots. Anything else (an int where a float goes, a bool, a
    # missing key) takes the converting path below, so both give the same result.
    try:
        partner, order, seq = obj["partner"], obj["order"], obj["seq"]
        x, y, speed, heading = obj["x"], obj["y"], obj["speed"], obj["heading"]
        status, ts = obj["status"], obj["ts"]
    except KeyError:
        pass
    else:
        if (type(partner) is str and type(order) is int and type(seq) is int
                and type(x) is float and type(y) is float and type(speed) is float
                and type(heading) is float and type(ts) is int
                and type(status) is str and status in _STATUS_SET):
            return _fast_update(partner, order, seq, x, y, speed, heading, status, ts)
    try:
        status = obj["status"]
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        return LocationUpdate(
            str(obj["partner"]), int(obj["order"]), int(obj["seq"]), float(obj["x"]),
            float(obj["y"]), float(obj["speed"]), float(obj["heading"]), status, int(obj["ts"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed location update: {exc!r}") from exc


_STATUS_SET = frozenset(STATUSES)
# The slots' setters: a frozen dataclass's __init__ goes through object.__setattr__ per
# field, which costs as much as the msgpack decoding; these set the same slots directly.
(_set_partner, _set_order, _set_seq, _set_x, _set_y, _set_speed, _set_heading, _set_status,
 _set_ts) = (vars(LocationUpdate)[name].__set__ for name in (
    "partner", "order", "seq", "x", "y", "speed", "heading", "status", "ts"))


def _fast_update(partner: str, order: int, seq: int, x: float, y: float, speed: float,
                 heading: float, status: Status, ts: int) -> LocationUpdate:
    """``LocationUpdate(...)`` for already-typed fields, without the frozen __init__."""
    u = object.__new__(LocationUpdate)
    _set_partner(u, partner)
    _set_order(u, order)
    _set_seq(u, seq)
    _set_x(u, x)
    _set_y(u, y)
    _set_speed(u, speed)
    _set_heading(u, heading)
    _set_status(u, status)
    _set_ts(u, ts)
    return u


class _Partner:
    __slots__ = ("id", "index", "rng", "x", "y", "speed", "heading", "status", "order",
                 "orders", "waypoints", "idle_s", "seq", "last_ms")

    def __init__(self, city: City, seed: int, index: int) -> None:
        self.id = f"partner-{index}"
        self.index = index
        self.rng = random.Random(f"{seed}:partner:{index}")
        home = self.rng.choice(city.customers)
        self.x, self.y = home.x, home.y
        self.speed = self.rng.uniform(6.0, 14.0)  # metres per second: 20 .. 50 km/h
        self.heading = 0.0
        self.status: Status = "idle"
        self.order = 0
        self.orders = 0
        self.waypoints: list[Point] = []
        self.idle_s = self.rng.uniform(0.0, 5.0)
        self.seq = 0
        self.last_ms: float | None = None

    def advance(self, city: City, dt: float) -> None:
        """Move ``dt`` seconds along the partner's plan."""
        while dt > 0:
            if self.status == "idle":
                if dt < self.idle_s:
                    self.idle_s -= dt
                    return
                dt -= self.idle_s
                self._take_order(city)
                continue
            if not self.waypoints:
                self._arrive(city)
                continue
            tx, ty = self.waypoints[0]
            dx, dy = tx - self.x, ty - self.y
            dist = math.hypot(dx, dy)
            if dist > 0:
                self.heading = math.degrees(math.atan2(dy, dx)) % 360.0
            step = self.speed * dt
            if step < dist:
                self.x += dx / dist * step
                self.y += dy / dist * step
                return
            dt -= dist / self.speed if dist else 0.0
            self.x, self.y = tx, ty
            self.waypoints.pop(0)

    def _take_order(self, city: City) -> None:
        self.orders += 1
        self.order = self.index * ORDERS_PER_PARTNER + self.orders
        restaurant = self.rng.choice(city.restaurants)
        self.status = "to_restaurant"
        self.waypoints = city.route((self.x, self.y), restaurant.point)

    def _arrive(self, city: City) -> None:
        if self.status == "to_restaurant":
            customer = self.rng.choice(city.customers)
            self.status = "to_customer"
            self.waypoints = city.route((self.x, self.y), customer.point)
        else:
            self.status = "idle"
            self.idle_s = self.rng.uniform(2.0, 20.0)

    def update(self, city: City, at_ms: float) -> LocationUpdate:
        if self.last_ms is not None and at_ms > self.last_ms:
            self.advance(city, (at_ms - self.last_ms) / 1000.0)
        self.last_ms = at_ms if self.last_ms is None else max(self.last_ms, at_ms)
        moving = self.status != "idle"
        out = LocationUpdate(
            self.id, self.order, self.seq, round(self.x, 2), round(self.y, 2),
            round(self.speed, 2) if moving else 0.0, round(self.heading, 1), self.status,
            int(self.last_ms),
        )
        self.seq += 1
        return out


class Fleet:
    """N partners in one city, updated in turn (see the module contract)."""

    def __init__(self, city: City, partners: int, *, seed: int | None = None) -> None:
        self.city = city
        self.seed = city.seed if seed is None else seed
        self._partners: list[_Partner] = []
        self._turn = 0
        self.resize(partners)

    @property
    def size(self) -> int:
        return len(self._partners)

    @property
    def partner_ids(self) -> list[str]:
        return [p.id for p in self._partners]

    def last_seqs(self) -> dict[str, int]:
        """Each partner's last update made (partner id -> seq); none before its first."""
        return {p.id: p.seq - 1 for p in self._partners if p.seq > 0}

    def resize(self, partners: int) -> None:
        """Grow (new partners by index) or shrink (the highest indexes leave) the fleet."""
        if partners < 1:
            raise ValueError("a fleet has at least one partner")
        while len(self._partners) < partners:
            self._partners.append(_Partner(self.city, self.seed, len(self._partners)))
        del self._partners[partners:]
        self._turn %= partners

    def next_update(self, at_ms: float) -> LocationUpdate:
        partner = self._partners[self._turn]
        self._turn = (self._turn + 1) % len(self._partners)
        return partner.update(self.city, at_ms)
