"""Polls an external cluster at a bounded cost: what is on screen every time, the rest
every few polls, and counters derived from deltas so rates can be drawn (issue 15).

Contract:

* :meth:`ExternalPoller.poll` BLOCKS (network round trips; a worker thread calls it,
  every :attr:`ExternalPoller.interval_s` seconds, which the caller reads and may set
  from any thread; :meth:`ExternalPoller.wait_s` says how long until the next poll is
  due). It never sleeps itself.
* The first poll, every ``full_every``-th poll after it, and the first poll after
  :meth:`set_focus` names a topic the last full refresh did not have, are FULL refreshes
  (:meth:`ExternalObserver.snapshot`: every topic and group). The others are FOCUSED
  (:meth:`ExternalObserver.focused`): the focus topics' watermarks and the focus groups
  are re-read, the rest carried over from the last full refresh (with every group's lag
  recomputed against the fresh watermarks). :meth:`set_focus` may be called from any
  thread; it takes effect at the next poll. :attr:`requests_last` and
  :attr:`full_last` say what the last poll cost and whether it was full.
* Counters are filled from deltas between polls, since the poller started (its first
  poll is the baseline: all zeros): per partition ``records_in`` is the sum of positive
  high-watermark deltas, ``records_out`` the sum over groups of positive deltas of their
  committed offsets (records consumed); per topic, the sums over its partitions; the
  cluster's ``Counters.records_in`` / ``records_out`` the sums over every partition
  ever seen (monotonic even when a topic is deleted). A watermark or offset that moves
  back (topic re-created, offsets reset) is a new baseline, never a negative delta.
  Bytes stay 0: the wire does not say. A partition no live broker leads
  (``unavailable``) keeps the watermarks last seen and counts nothing. ``ClusterSnapshot.monotonic`` is the injected
  ``clock`` at the poll, the clock the reader divides the deltas by.
* Sampled tailing (``tail=True``, the default): every poll also takes the new records of
  the focus topics that a :class:`~core.monitor.external_tail.SampledTail` read (assign
  and seek only, never a group), and the snapshot's ``activity`` carries them as append
  samples with their keys' hashes, so the Log page colours new records as it does for
  the embedded broker; commits and read positions stay empty (the wire does not show
  other clients' fetches). ``tail=False`` leaves ``activity`` None.
* Failures raise :class:`ExternalError` (as the observer's); the counters and the
  last full refresh are kept, so the next successful poll carries on. The poll after a
  failure is a full one (a broker gone or a leader moved shows in Metadata).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from streamscope.core.external_conn import ExternalError, ExternalSettings
from streamscope.core.monitor.activity import ActivitySnapshot
from streamscope.core.monitor.external import ExternalObserver
from streamscope.core.monitor.external_tail import SampledTail
from streamscope.core.monitor.snapshot import ClusterSnapshot

__all__ = ["ExternalPoller"]


class ExternalPoller:
    """Bounded-cost polling of one external cluster (see the module contract)."""

    def __init__(self, settings: ExternalSettings, *, interval_s: float = 2.0,
                 full_every: int = 5, timeout_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, tail: bool = True) -> None:
        if full_every < 1:
            raise ValueError("full_every must be at least 1")
        self.settings = settings
        self.full_every = full_every
        self._clock = clock
        self._interval_s = 0.0
        self.interval_s = interval_s
        self._observer = ExternalObserver(settings, timeout_s=timeout_s,
                                          client_id="streamscope-poller")
        self._lock = threading.Lock()
        self._focus_topics: frozenset[str] = frozenset()
        self._focus_groups: frozenset[str] = frozenset()
        self._full_due = True
        self._base: ClusterSnapshot | None = None  # the last full refresh
        self._polls = 0
        self._last_poll_at: float | None = None
        self.requests_last = 0
        self.full_last = False
        # Delta state: last seen high watermark / committed offset, and the sums.
        self._hw: dict[tuple[str, int], int] = {}
        self._marks: dict[tuple[str, int], tuple[int, int]] = {}  # last seen (start, end)
        self._committed: dict[tuple[str, str, int], int] = {}
        self._in: dict[tuple[str, int], int] = {}
        self._out: dict[tuple[str, int], int] = {}
        self._total_in = 0
        self._total_out = 0
        # New records of the focus topics, sampled by tailing them (the Log page's colours).
        self._tail = SampledTail(settings) if tail else None

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"interval_s must be positive, not {value!r}")
        self._interval_s = float(value)

    @property
    def unsupported(self) -> set[str]:
        return self._observer.unsupported

    def wait_s(self) -> float:
        """Seconds until the next poll is due (0: now)."""
        if self._last_poll_at is None:
            return 0.0
        return max(0.0, self._last_poll_at + self._interval_s - self._clock())

    def set_focus(self, topics: Iterable[str] = (), groups: Iterable[str] = ()) -> None:
        """What is on screen: refreshed at every poll (any thread)."""
        topics, groups = frozenset(topics), frozenset(groups)
        with self._lock:
            self._focus_topics, self._focus_groups = topics, groups
            base = self._base
            if base is not None and not topics <= {t.name for t in base.topics}:
                self._full_due = True

    def close(self) -> None:
        self._observer.close()
        if self._tail is not None:
            self._tail.close()

    def __enter__(self) -> ExternalPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self) -> ClusterSnapshot:
        """One refresh (blocking): full or focused, with counters (module contract)."""
        with self._lock:
            topics, groups = self._focus_topics, self._focus_groups
            full = self._full_due or self._base is None or self._polls % self.full_every == 0
            self._full_due = False
        now = self._clock()
        self._last_poll_at = now
        try:
            if full:
                snap = self._observer.snapshot()
                self._base = snap
            else:
                assert self._base is not None
                snap = self._observer.focused(self._base, topics, groups)
        except ExternalError:
            # A failed refresh may mean the cluster changed shape (a broker gone, a
            # leader moved): the next poll is a full one, which asks Metadata first.
            with self._lock:
                self._full_due = True
            raise
        finally:
            self._polls += 1
            self.requests_last = self._observer.requests_last
        self.full_last = full
        snap = self._count(replace(snap, monotonic=now))
        if self._tail is not None:
            snap = self._sample_tail(snap, topics)
        return snap

    def _sample_tail(self, snap: ClusterSnapshot, topics: frozenset[str]) -> ClusterSnapshot:
        """The focus topics' new records, sampled (module contract), as the activity."""
        assert self._tail is not None
        ends = {(p.topic, p.index): p.high_watermark
                for t in snap.topics if t.name in topics for p in t.partitions
                if p.unavailable is None}
        self._tail.follow(ends)
        appends = self._tail.sample(0.0, ends)
        return replace(snap, activity=ActivitySnapshot(
            appends=appends, commits=(), read_positions=(),
            appends_dropped=self._tail.dropped))

    # -- counters from deltas ------------------------------------------------------------

    def _keep_unavailable(self, snap: ClusterSnapshot) -> ClusterSnapshot:
        """A partition no live broker leads keeps the watermarks last seen (the observer
        cannot ask for them): its messages do not drop to 0 while its leader is away."""
        if not any(p.unavailable for t in snap.topics for p in t.partitions):
            for t in snap.topics:
                for p in t.partitions:
                    self._marks[(p.topic, p.index)] = (p.log_start_offset, p.high_watermark)
            return snap
        topics = []
        for t in snap.topics:
            parts = []
            for p in t.partitions:
                key = (p.topic, p.index)
                if p.unavailable is None:
                    self._marks[key] = (p.log_start_offset, p.high_watermark)
                elif key in self._marks:
                    start, end = self._marks[key]
                    p = replace(p, log_start_offset=start, high_watermark=end)
                parts.append(p)
            messages = sum(max(0, p.high_watermark - p.log_start_offset) for p in parts)
            topics.append(replace(t, partitions=tuple(parts), messages=messages))
        return replace(snap, topics=tuple(topics))

    def _count(self, snap: ClusterSnapshot) -> ClusterSnapshot:
        snap = self._keep_unavailable(snap)
        for t in snap.topics:
            for p in t.partitions:
                key = (p.topic, p.index)
                if p.unavailable is not None:
                    continue  # its watermarks are the last seen: nothing moved
                last = self._hw.get(key)
                if last is not None and p.high_watermark > last:
                    self._in[key] = self._in.get(key, 0) + p.high_watermark - last
                    self._total_in += p.high_watermark - last
                self._hw[key] = p.high_watermark
        for g in snap.groups:
            for o in g.offsets:
                if o.committed_offset < 0:
                    continue
                ckey = (g.group_id, o.topic, o.partition)
                last = self._committed.get(ckey)
                if last is not None and o.committed_offset > last:
                    key = (o.topic, o.partition)
                    self._out[key] = self._out.get(key, 0) + o.committed_offset - last
                    self._total_out += o.committed_offset - last
                self._committed[ckey] = o.committed_offset
        topics = []
        for t in snap.topics:
            parts = tuple(
                replace(p, records_in=self._in.get((p.topic, p.index), 0),
                        records_out=self._out.get((p.topic, p.index), 0))
                for p in t.partitions)
            topics.append(replace(t, partitions=parts,
                                  records_in=sum(p.records_in for p in parts),
                                  records_out=sum(p.records_out for p in parts)))
        counters = replace(snap.counters, records_in=self._total_in,
                           records_out=self._total_out)
        return replace(snap, topics=tuple(topics), counters=counters)
