"""Bounded numpy histories of rates and lag, derived from successive cluster snapshots.

Contract: no widgets and no Qt. :class:`MonitorHistory.update` takes one
:class:`~core.monitor.ClusterSnapshot` per tick (about 10 Hz), turns counter deltas into
rates and appends them to fixed-size ring buffers; charts read contiguous numpy views.
Memory is bounded whatever runs: totals keep 15 minutes, per-topic and per-partition
series keep less, and series of topics, groups and clients that vanish are dropped.

Member colours live here too (:class:`MemberColors`): a member keeps its colour slot for
as long as it is in its group, and a newcomer gets a slot no live member has (one not used
recently, when the palette allows), so a survivor never takes a dead member's colour.

Group health is judged by the lag's trend, not its size (:func:`lag_trend`): at 5,000
msg/s a consumer that commits every second always trails by about 5,000 records and is
keeping up; one whose lag grows across the window is falling behind, whatever the figure.

Rates are measured over a sliding window (about one second) of cumulative counters, so a
batching producer does not make the line saw-tooth at the tick rate; a counter going
backwards (broker restarted, topic recreated) restarts that window instead of showing a
negative rate.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
from streamscope.core.monitor import ClusterSnapshot

TICK_HZ = 10
TOTAL_SECONDS = 15 * 60
TOPIC_SECONDS = 5 * 60
LAG_SECONDS = 5 * 60
PARTITION_LAG_SECONDS = 3 * 60
MEMBER_LAG_SECONDS = 3 * 60
MEMBER_COLOURS = 10  # the themes' member palette; slots beyond it repeat colours
UNASSIGNED = ""  # the member key of a group's partitions that no member owns
RATE_WINDOW_S = 1.0
TREND_WINDOW_S = 20.0  # how far back a group's lag trend looks
TREND_MIN_S = 6.0  # less history than this: the trend is not known yet


class Ring:
    """A fixed-capacity ring of samples with ``columns`` values each.

    Every sample is written twice (at ``i`` and ``i + capacity``), so the most recent
    ``n`` samples are always one contiguous slice: :meth:`view` never copies.
    """

    __slots__ = ("capacity", "columns", "_buf", "_pos", "_count")

    def __init__(self, capacity: int, columns: int = 2, dtype: type = np.float64) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self.columns = columns
        self._buf = np.zeros((columns, 2 * capacity), dtype=dtype)
        self._pos = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, values: Sequence[float]) -> None:
        pos = self._pos
        buf = self._buf
        for col, value in enumerate(values):
            buf[col, pos] = value
            buf[col, pos + self.capacity] = value
        self._pos = pos + 1 if pos + 1 < self.capacity else 0
        if self._count < self.capacity:
            self._count += 1

    def view(self, last: int | None = None) -> np.ndarray:
        """The newest samples, oldest first: shape ``(columns, n)``; a view, not a copy."""
        n = self._count if last is None else min(last, self._count)
        end = self._pos + self.capacity
        return self._buf[:, end - n : end]

    def latest(self) -> np.ndarray | None:
        if not self._count:
            return None
        return self._buf[:, self._pos + self.capacity - 1]

    def clear(self) -> None:
        self._pos = 0
        self._count = 0


class RateWindow:
    """Rates of several monotonic counters over a sliding time window."""

    __slots__ = ("window", "_samples")

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window = window_s
        self._samples: deque[tuple[float, tuple[int, ...]]] = deque()

    def update(self, t: float, counters: tuple[int, ...]) -> tuple[float, ...]:
        samples = self._samples
        if samples and any(c < p for c, p in zip(counters, samples[-1][1], strict=True)):
            samples.clear()  # a counter went backwards: start over rather than go negative
        samples.append((t, counters))
        # Keep exactly one sample at or before the window's start, as the base.
        while len(samples) > 2 and samples[1][0] <= t - self.window:
            samples.popleft()
        t0, base = samples[0]
        dt = t - t0
        if dt <= 0:
            return tuple(0.0 for _ in counters)
        return tuple((c - b) / dt for c, b in zip(counters, base, strict=True))


class MemberColors:
    """Colour slots of consumer-group members that do not move while a member lives.

    :meth:`update` is given each group's live members once per snapshot. A member keeps
    the slot it was given until it leaves; a new member gets a free slot, preferring one
    never used in this group, then the one freed longest ago (so a newcomer does not
    look like the member that just died). Groups that vanish are forgotten.
    """

    def __init__(self, palette: int = MEMBER_COLOURS) -> None:
        self.palette = palette
        self._live: dict[str, dict[str, int]] = {}
        self._freed: dict[str, dict[int, int]] = {}  # slot -> when freed (a counter)
        self._clock = itertools.count()

    def update(self, group_id: str, member_ids: Iterable[str]) -> dict[str, int]:
        live = self._live.setdefault(group_id, {})
        freed = self._freed.setdefault(group_id, {})
        # Sorted: members that arrive in the same snapshot get slots in a repeatable order.
        ids = sorted(set(member_ids))
        current = set(ids)
        for mid in [m for m in live if m not in current]:
            freed[live.pop(mid)] = next(self._clock)
        for mid in ids:
            if mid not in live:
                live[mid] = self._free_slot(live, freed)
        return live

    def _free_slot(self, live: dict[str, int], freed: dict[int, int]) -> int:
        used = set(live.values())
        free = [s for s in range(max(self.palette, len(used) + 1)) if s not in used]
        fresh = [s for s in free if s not in freed]
        if fresh:
            return fresh[0]
        return min(free, key=lambda s: freed[s])

    def slots(self, group_id: str) -> dict[str, int]:
        """Member id -> colour slot for the group's live members (a copy)."""
        return dict(self._live.get(group_id, {}))

    def forget_except(self, group_ids: Iterable[str]) -> None:
        keep = set(group_ids)
        for mapping in (self._live, self._freed):
            for gid in [g for g in mapping if g not in keep]:
                del mapping[gid]


class MonitorHistory:
    """Everything the charts and rate columns show, fed one snapshot per tick.

    Rings hold columns ``[t, ...]`` where ``t`` is seconds since the first snapshot seen
    (``epoch``; small numbers keep float32 series precise); charts plot ``t - now`` so
    the x axis reads "seconds ago".

    * ``totals``: ``[t, msgs_in/s, msgs_out/s, bytes_in/s, bytes_out/s]``
    * ``topics[name]``: same columns, per topic
    * ``group_lag[group]``: ``[t, total_lag]``
    * ``partition_lag[(group, topic, partition)]``: ``[t, lag]`` (float32)
    * ``member_lag[(group, member_id)]``: ``[t, lag of the partitions it owns then]``
      (float32, NaN while none has a committed offset); member id :data:`UNASSIGNED`
      sums the partitions nobody owns
    * ``member_colors``: the :class:`MemberColors` every view colours members by
    """

    def __init__(self, hz: int = TICK_HZ) -> None:
        self.hz = hz
        self.totals = Ring(TOTAL_SECONDS * hz, 5)
        self.topics: dict[str, Ring] = {}
        self.group_lag: dict[str, Ring] = {}
        self.partition_lag: dict[tuple[str, str, int], Ring] = {}
        self.member_lag: dict[tuple[str, str], Ring] = {}
        self.member_colors = MemberColors()
        # Current rates, for tables and the status bar.
        self.total_rates: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.topic_rates: dict[str, tuple[float, float, float, float]] = {}
        self.client_rates: dict[int, tuple[float, float, float]] = {}  # req/s, B/s in, out
        self._total_window = RateWindow()
        self._topic_windows: dict[str, RateWindow] = {}
        self._client_windows: dict[int, RateWindow] = {}
        self.last_monotonic: float | None = None
        self.epoch: float | None = None

    @property
    def now(self) -> float:
        """The time of the newest sample, on the rings' clock."""
        if self.last_monotonic is None or self.epoch is None:
            return 0.0
        return self.last_monotonic - self.epoch

    def update(self, snap: ClusterSnapshot) -> None:
        if self.last_monotonic is not None and snap.monotonic <= self.last_monotonic:
            return  # same snapshot seen twice: nothing new to record
        if self.epoch is None:
            self.epoch = snap.monotonic
        self.last_monotonic = snap.monotonic
        t = snap.monotonic - self.epoch
        c = snap.counters
        rates = self._total_window.update(t, (c.records_in, c.records_out, c.bytes_in, c.bytes_out))
        self.total_rates = rates  # type: ignore[assignment]
        self.totals.append((t, *rates))

        seen_topics = set()
        topic_rates = {}
        for topic in snap.topics:
            name = topic.name
            seen_topics.add(name)
            win = self._topic_windows.get(name)
            if win is None:
                win = self._topic_windows[name] = RateWindow()
                self.topics[name] = Ring(TOPIC_SECONDS * self.hz, 5, np.float32)
            r = win.update(
                t, (topic.records_in, topic.records_out, topic.bytes_in, topic.bytes_out)
            )
            topic_rates[name] = r
            self.topics[name].append((t, *r))
        self.topic_rates = topic_rates  # type: ignore[assignment]
        _drop_missing(self.topics, seen_topics)
        _drop_missing(self._topic_windows, seen_topics)

        seen_groups = set()
        seen_parts = set()
        seen_members: set[tuple[str, str]] = set()
        for g in snap.groups:
            seen_groups.add(g.group_id)
            ring = self.group_lag.get(g.group_id)
            if ring is None:
                ring = self.group_lag[g.group_id] = Ring(LAG_SECONDS * self.hz, 2)
            ring.append((t, g.total_lag))
            for o in g.offsets:
                key = (g.group_id, o.topic, o.partition)
                seen_parts.add(key)
                pring = self.partition_lag.get(key)
                if pring is None:
                    pring = self.partition_lag[key] = Ring(
                        PARTITION_LAG_SECONDS * self.hz, 2, np.float32
                    )
                pring.append((t, o.lag if o.lag is not None else np.nan))
            self.member_colors.update(g.group_id, (m.member_id for m in g.members))
            # Lag per member: what the partitions it owns at this instant are behind by;
            # NaN (a gap, not a zero) while none of them has a committed offset yet.
            owed: dict[str, float] = {m.member_id: np.nan for m in g.members}
            owed[UNASSIGNED] = np.nan
            for o in g.offsets:
                if o.lag is None:
                    continue
                mid = o.member_id if o.member_id in owed else UNASSIGNED
                owed[mid] = o.lag if np.isnan(owed[mid]) else owed[mid] + o.lag
            for mid, lag in owed.items():
                key = (g.group_id, mid)
                seen_members.add(key)
                mring = self.member_lag.get(key)
                if mring is None:
                    mring = self.member_lag[key] = Ring(MEMBER_LAG_SECONDS * self.hz, 2, np.float32)
                mring.append((t, lag))
        _drop_missing(self.group_lag, seen_groups)
        _drop_missing(self.partition_lag, seen_parts)
        _drop_missing(self.member_lag, seen_members)
        self.member_colors.forget_except(seen_groups)

        seen_conns = set()
        client_rates = {}
        for conn in snap.connections:
            seen_conns.add(conn.conn_id)
            win = self._client_windows.get(conn.conn_id)
            if win is None:
                win = self._client_windows[conn.conn_id] = RateWindow()
            client_rates[conn.conn_id] = win.update(
                t, (conn.requests, conn.bytes_in, conn.bytes_out)
            )
        self.client_rates = client_rates  # type: ignore[assignment]
        _drop_missing(self._client_windows, seen_conns)

    def group_trend(self, group_id: str) -> str | None:
        """The trend of the group's total lag (see :func:`lag_trend`)."""
        ring = self.group_lag.get(group_id)
        return lag_trend(ring.view(), self.now) if ring is not None else None


def lag_trend(samples: np.ndarray, now: float, window_s: float = TREND_WINDOW_S) -> str | None:
    """``"growing"``, ``"shrinking"``, ``"steady"`` or None (not enough history yet).

    ``samples`` is a ring's view: shape ``(2, n)``, rows ``t`` and ``lag``, oldest first. The last ``window_s`` is cut in
    quarters; lag grows when every sample of the last quarter is above every sample of the
    first (so the saw-tooth of periodic commits never reads as a trend), and shrinks in the
    mirror case. Gaps (NaN: nothing committed) are ignored.
    """
    if samples.shape[1] == 0:
        return None
    t = samples[0]
    lag = samples[1]
    keep = (t >= now - window_s) & np.isfinite(lag)
    t, lag = t[keep], lag[keep]
    if len(t) < 2 or t[-1] - t[0] < TREND_MIN_S:
        return None
    quarter = (t[-1] - t[0]) / 4
    first = lag[t <= t[0] + quarter]
    last = lag[t >= t[-1] - quarter]
    if last.min() > first.max():
        return "growing"
    if last.max() < first.min():
        return "shrinking"
    return "steady"


def _drop_missing(mapping: dict, keep: Iterable) -> None:
    keep = keep if isinstance(keep, set) else set(keep)
    if len(mapping) != len(keep) or any(k not in keep for k in mapping):
        for key in [k for k in mapping if k not in keep]:
            del mapping[key]
