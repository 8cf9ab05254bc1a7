"""Headless state of the three simulated consumer apps: customer map, analytics, notifications.

Contract:

* Each app is fed decoded :class:`~.partners.LocationUpdate` s, one call per consumed
  record: ``ingest(update, produced_ms=..., processed_ms=...)`` where ``produced_ms`` is the
  record's timestamp and ``processed_ms`` the time the app processed it (both epoch
  milliseconds, passed in: nothing here reads a clock). ``ingest_batch(pairs,
  processed_ms=...)`` with ``(update, produced_ms)`` pairs in log order is the same as one
  ``ingest`` per pair with that ``processed_ms`` (the consumer apps' hot path: one call per
  consumed batch). ``snapshot()`` returns frozen dataclasses that any thread (a future GUI)
  may keep; the map rebuilds only the partners that moved since its previous snapshot.
* Pure and deterministic: the same calls give equal snapshots. No Qt, no I/O.
* Bounded memory: per partner a fixed amount (last seq, last position, a trail of at most
  ``trail_len`` points, a count); delays over the last ``delay_window`` records; zone rates
  in ``window_ms / bucket_ms`` buckets; at most ``max_events`` notifications.
* Delivery guarantees (:class:`DeliveryCounter`, in every app): per partner only the last
  seq is kept. An update whose seq is not above it is a *duplicate* (redelivery); a seq
  jumping forward by more than one counts the skipped seqs as *lost*. The first update
  seen of a partner sets its baseline (an app may start mid-stream). Duplicates never move
  the map or raise notifications (they are stale); analytics counts every record it
  processes, duplicates included, as a real at-least-once analytics job would.
* Notifications: the wire schema does not name an order's places, so the app finds them
  from the stream: a partner's leg (``to_restaurant`` / ``to_customer``) ends when its
  status or order changes, and it ended at a place of the leg's kind the partner drove
  through between its two updates (by road, at its speed: an idle update stands on its
  customer; a partner driving on from its restaurant went exactly ``speed * dt`` via it),
  the one nearest that stretch, provided it lies within ``radius_m`` of it (else no event).
  Exact while a partner drives less than a block between two of its updates (at 14 m/s
  and 100 m blocks: one update per partner every 7 s or more often); sparser streams can
  name a wrong place or miss an event. One event per (partner, order, place kind), newest
  first; the event is made when the update after the arrival is processed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from streamscope.core.sim.city import City, Place, Point
from streamscope.core.sim.partners import LocationUpdate, Status


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    updates: int  # records processed, duplicates included
    duplicates: int  # updates whose (partner, seq) was already seen
    lost: int  # seqs skipped over


class DeliveryCounter:
    """Duplicates and lost updates from each partner's seq (last seq per partner only)."""

    def __init__(self) -> None:
        self._last_seq: dict[str, int] = {}
        self.updates = 0
        self.duplicates = 0
        self.lost = 0

    def observe(self, partner: str, seq: int) -> bool:
        """Count one update; True when it is new (not a duplicate)."""
        self.updates += 1
        last = self._last_seq.get(partner)
        if last is not None and seq <= last:
            self.duplicates += 1
            return False
        if last is not None and seq > last + 1:
            self.lost += seq - last - 1
        self._last_seq[partner] = seq
        return True

    def counts(self) -> DeliveryCounts:
        return DeliveryCounts(self.updates, self.duplicates, self.lost)


@dataclass(frozen=True, slots=True)
class DelayStats:
    """End-to-end delay (processing time minus produce timestamp) over the recent window."""

    samples: int  # in the window
    p50_ms: float | None  # None while no record was processed
    p99_ms: float | None
    last_ms: float | None


def _percentile(ordered: list[float], q: float) -> float:
    # Nearest rank: always a delay that was actually observed.
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class PartnerView:
    partner: str
    order: int
    x: float
    y: float
    speed: float
    heading: float
    status: Status
    ts: int
    trail: tuple[Point, ...]  # oldest first, ending with (x, y)


@dataclass(frozen=True, slots=True)
class MapSnapshot:
    partners: tuple[PartnerView, ...]  # sorted by partner id
    delay: DelayStats
    delivery: DeliveryCounts


class CustomerMap:
    """Each partner's last known position, a short trail and status; end-to-end delay."""

    def __init__(self, *, trail_len: int = 20, delay_window: int = 1000) -> None:
        if trail_len < 1 or delay_window < 1:
            raise ValueError("trail_len and delay_window must be positive")
        self.trail_len = trail_len
        self.delivery = DeliveryCounter()
        self._last: dict[str, LocationUpdate] = {}
        self._trails: dict[str, deque[Point]] = {}
        self._delays: deque[float] = deque(maxlen=delay_window)
        # The previous snapshot's parts, so a snapshot copies only what changed since
        # (a trail is up to trail_len points, per partner, per GUI tick).
        self._views: dict[str, PartnerView] = {}
        self._dirty: set[str] = set()  # partners moved since their view was built
        self._sorted: tuple[PartnerView, ...] | None = None  # None: rebuild from _views
        self._delay_stats: DelayStats | None = None  # None: delays changed since

    def ingest(self, update: LocationUpdate, *, produced_ms: float, processed_ms: float) -> None:
        self.ingest_batch(((update, produced_ms),), processed_ms=processed_ms)

    def ingest_batch(self, updates: Iterable[tuple[LocationUpdate, float]], *,
                     processed_ms: float) -> None:
        delays, last, trails, dirty = self._delays, self._last, self._trails, self._dirty
        observe = self.delivery.observe
        self._delay_stats = None
        for update, produced_ms in updates:
            # Every processed record shows up on screen (or not) at processed_ms: all
            # count for delay.
            delays.append(processed_ms - produced_ms)
            partner = update.partner
            if not observe(partner, update.seq):
                continue
            last[partner] = update
            dirty.add(partner)
            trail = trails.get(partner)
            if trail is None:
                trail = trails[partner] = deque(maxlen=self.trail_len)
            trail.append((update.x, update.y))

    def delay(self) -> DelayStats:
        if self._delay_stats is not None:
            return self._delay_stats
        if not self._delays:
            stats = DelayStats(0, None, None, None)
        else:
            ordered = sorted(self._delays)
            stats = DelayStats(len(ordered), _percentile(ordered, 0.5),
                               _percentile(ordered, 0.99), self._delays[-1])
        self._delay_stats = stats
        return stats

    def snapshot(self) -> MapSnapshot:
        if self._dirty:
            views, trails = self._views, self._trails
            if any(pid not in views for pid in self._dirty):
                self._sorted = None  # a new partner: the order changes
            for pid in self._dirty:
                u = self._last[pid]
                views[pid] = PartnerView(u.partner, u.order, u.x, u.y, u.speed, u.heading,
                                         u.status, u.ts, tuple(trails[pid]))
            self._dirty.clear()
            if self._sorted is not None:  # same partners: replace the moved ones in order
                self._sorted = tuple(views[v.partner] for v in self._sorted)
        if self._sorted is None:
            self._sorted = tuple(v for _, v in sorted(self._views.items()))
        return MapSnapshot(self._sorted, self.delay(), self.delivery.counts())


@dataclass(frozen=True, slots=True)
class ZoneStats:
    zone: int
    updates: int  # since the start
    rate_per_s: float  # over the sliding window ending at the snapshot's time
    avg_speed: float | None  # metres per second over moving updates; None if none moved


@dataclass(frozen=True, slots=True)
class AnalyticsSnapshot:
    at_ms: float
    zones: tuple[ZoneStats, ...]  # by zone number
    top_partners: tuple[tuple[str, int], ...]  # (partner, updates), most first, then by id
    delivery: DeliveryCounts


class Analytics:
    """Updates and average speed per zone, rate per zone over a window, busiest partners."""

    def __init__(
        self, city: City, *, window_ms: float = 10_000.0, bucket_ms: float = 1_000.0,
        top_n: int = 5,
    ) -> None:
        if bucket_ms <= 0 or window_ms < bucket_ms or top_n < 1:
            raise ValueError("need 0 < bucket_ms <= window_ms and top_n >= 1")
        self.city = city
        self.window_ms = window_ms
        self.bucket_ms = bucket_ms
        self.top_n = top_n
        self.delivery = DeliveryCounter()
        zones = city.zone_count
        self._counts = [0] * zones
        self._speed_sum = [0.0] * zones
        self._moving = [0] * zones
        self._per_partner: dict[str, int] = {}
        self._buckets_kept = math.ceil(window_ms / bucket_ms)
        # (bucket number, counts per zone), oldest first; bucket = processed_ms // bucket_ms.
        self._buckets: deque[tuple[int, list[int]]] = deque(maxlen=self._buckets_kept)

    def ingest(self, update: LocationUpdate, *, produced_ms: float, processed_ms: float) -> None:
        self.ingest_batch(((update, produced_ms),), processed_ms=processed_ms)

    def ingest_batch(self, updates: Iterable[tuple[LocationUpdate, float]], *,
                     processed_ms: float) -> None:
        recent: list[int] | None = None  # the bucket's counts, once there is a record
        observe = self.delivery.observe
        counts, speed_sum, moving = self._counts, self._speed_sum, self._moving
        per_partner = self._per_partner
        # City.zone_of, inlined (it is per record); test_sim_apps checks they agree.
        per_side = self.city.zones_per_side
        side = self.city.size_m / per_side
        top = per_side - 1
        for update, _produced_ms in updates:
            partner = update.partner
            observe(partner, update.seq)
            zx = min(int(max(update.x, 0.0) // side), top)
            zy = min(int(max(update.y, 0.0) // side), top)
            zone = zy * per_side + zx
            counts[zone] += 1
            if recent is None:
                recent = self._bucket(processed_ms)
            recent[zone] += 1
            speed = update.speed
            if speed > 0:
                speed_sum[zone] += speed
                moving[zone] += 1
            per_partner[partner] = per_partner.get(partner, 0) + 1

    def _bucket(self, processed_ms: float) -> list[int]:
        """The zone counts of the bucket a record processed at ``processed_ms`` goes to."""
        bucket = int(processed_ms // self.bucket_ms)
        if not self._buckets or self._buckets[-1][0] < bucket:
            self._buckets.append((bucket, [0] * self.city.zone_count))
        # A record processed "earlier" than the newest bucket (times passed out of order)
        # is counted in the newest one rather than rewriting history.
        return self._buckets[-1][1]

    def snapshot(self, now_ms: float) -> AnalyticsSnapshot:
        newest = int(now_ms // self.bucket_ms)
        oldest = newest - self._buckets_kept + 1
        recent = [0] * self.city.zone_count
        for bucket, counts in self._buckets:
            if oldest <= bucket <= newest:
                for zone, n in enumerate(counts):
                    recent[zone] += n
        window_s = self._buckets_kept * self.bucket_ms / 1000.0
        zones = tuple(
            ZoneStats(
                zone, self._counts[zone], recent[zone] / window_s,
                self._speed_sum[zone] / self._moving[zone] if self._moving[zone] else None,
            )
            for zone in range(self.city.zone_count)
        )
        top = sorted(self._per_partner.items(), key=lambda kv: (-kv[1], kv[0]))[: self.top_n]
        return AnalyticsSnapshot(now_ms, zones, tuple(top), self.delivery.counts())


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    partner: str
    order: int
    kind: str  # "restaurant" | "customer"
    place: int  # the Place id among the city's places of that kind
    ts: int  # the update's timestamp that revealed the arrival

    @property
    def text(self) -> str:
        return f"{self.partner} arriving at {self.kind} {self.place} for order {self.order}"


@dataclass(frozen=True, slots=True)
class NotificationsSnapshot:
    events: tuple[GeofenceEvent, ...]  # newest first
    emitted: int  # events since the start (the list keeps the newest max_events)
    delivery: DeliveryCounts


def _distance_to_stretch(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


_ROUNDING_M = 0.5  # positions and speeds travel rounded to cm, times to ms
_LEG_KIND: dict[str, str] = {"to_restaurant": "restaurant", "to_customer": "customer"}


class Notifications:
    """Geofence events: a partner reaching its order's restaurant or customer."""

    def __init__(self, city: City, *, radius_m: float = 50.0, max_events: int = 100) -> None:
        if radius_m <= 0 or max_events < 1:
            raise ValueError("radius_m and max_events must be positive")
        self.city = city
        self.radius_m = radius_m
        self.delivery = DeliveryCounter()
        self._last: dict[str, LocationUpdate] = {}
        # Per partner: the order of its newest event and the kinds already emitted for it.
        self._emitted: dict[str, tuple[int, frozenset[str]]] = {}
        self._events: deque[GeofenceEvent] = deque(maxlen=max_events)
        self.emitted = 0

    def ingest(self, update: LocationUpdate, *, produced_ms: float, processed_ms: float) -> None:
        self.ingest_batch(((update, produced_ms),), processed_ms=processed_ms)

    def ingest_batch(self, updates: Iterable[tuple[LocationUpdate, float]], *,
                     processed_ms: float) -> None:
        observe, last = self.delivery.observe, self._last
        for update, _produced_ms in updates:
            partner = update.partner
            if not observe(partner, update.seq):
                continue
            prev = last.get(partner)
            last[partner] = update
            if prev is None or prev.status not in _LEG_KIND:
                continue
            if prev.status == update.status and prev.order == update.order:
                continue  # still on the same leg
            self._leg_ended(prev, update)

    def _leg_ended(self, prev: LocationUpdate, update: LocationUpdate) -> None:
        """``prev``'s leg ended before ``update``: emit its arrival if it is new."""
        kind = _LEG_KIND[prev.status]
        order, kinds = self._emitted.get(update.partner, (-1, frozenset()))
        if prev.order < order or (prev.order == order and kind in kinds):
            return
        place = self._leg_end(prev, update, kind)
        if place is None:
            return
        self._emitted[update.partner] = (
            prev.order, (kinds if prev.order == order else frozenset()) | {kind}
        )
        self._events.appendleft(GeofenceEvent(update.partner, prev.order, kind, place.id, update.ts))
        self.emitted += 1

    def _leg_end(self, prev: LocationUpdate, update: LocationUpdate, kind: str) -> Place | None:
        """The place of ``kind`` where ``prev``'s leg ended, on the way to ``update``."""
        places = self.city.restaurants if kind == "restaurant" else self.city.customers
        a, b = (prev.x, prev.y), (update.x, update.y)
        driven = prev.speed * max(0, update.ts - prev.ts) / 1000.0

        def via(p: Place) -> float:  # road distance prev -> p -> update (routes are L-shaped)
            return abs(a[0] - p.x) + abs(a[1] - p.y) + abs(p.x - b[0]) + abs(p.y - b[1])

        if kind == "customer" and update.status == "idle":
            # Partners wait at the customer's door: the idle update stands on it.
            candidates = [p for p in places if math.hypot(p.x - b[0], p.y - b[1]) <= _ROUNDING_M]
        elif kind == "restaurant" and (update.status, update.order) == ("to_customer", prev.order):
            # Driving without a stop through the restaurant: exactly speed * dt via it.
            candidates = [p for p in places if abs(via(p) - driven) <= _ROUNDING_M]
        else:
            # Several legs within one interval: any place it could have reached in the time.
            candidates = [p for p in places if via(p) <= driven + _ROUNDING_M]
        if not candidates:
            return None
        best = min(candidates, key=lambda p: (_distance_to_stretch(p.point, a, b), p.id))
        return best if _distance_to_stretch(best.point, a, b) <= self.radius_m else None

    def snapshot(self) -> NotificationsSnapshot:
        return NotificationsSnapshot(tuple(self._events), self.emitted, self.delivery.counts())
