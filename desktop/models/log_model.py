"""The log view's data model: one snapshot in, one :class:`Lane` per partition out.

Contract: no Qt, no pixels. :class:`LogModel` is fed one
:class:`~core.monitor.ClusterSnapshot` per tick (:meth:`LogModel.update`) for the topic it
shows, and turns it into one :class:`Lane` per partition: log start offset, segment
bases, high watermark, the partition's rate (msgs/s from ``records_in`` deltas over about
a second), and per consumer group reading the topic a :class:`GroupCursor` (committed
offset and lag as :mod:`core.groups.lag` defines them, the group's live read position from
the broker's fetch feed). It keeps a bounded sample of recent appends per partition (the
feed's :class:`~core.monitor.activity.AppendSample`, at most :data:`TOKEN_SAMPLES`
batches and :data:`TOKEN_TTL_S` seconds old): the per-tick work is bounded by the feed,
never by the message rate. A record produced from the app (:meth:`LogModel.highlight`)
is marked on its lane for :data:`PRODUCED_S` seconds. A compacted partition's lane carries
its cleaner state (clean and dirty sections); a transactional one its last stable offset
(when an open transaction holds it below the high watermark) and recent aborted ranges.

The model owns a :class:`~desktop.models.log_viewport.Viewport` (which offsets each lane
shows) and refits it to every tick's lanes. Laying lanes out in pixels is
:mod:`desktop.models.log_marks`; what a mark means, :mod:`desktop.models.log_explain`.

A group keeps its colour slot in the theme's member palette while it exists
(:class:`desktop.history.MemberColors`, keyed by group id under :data:`GROUPS_KEY`).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from streamscope.core.monitor import (
    ClusterSnapshot,
    CompactionSnapshot,
    PartitionSnapshot,
    TopicSnapshot,
)
from streamscope.core.monitor.activity import ActivitySnapshot, AppendSample, ReadPosition
from streamscope.desktop.history import MemberColors, RateWindow
from streamscope.desktop.models.log_viewport import Viewport

# Recent appends kept per partition to draw as tokens, and for how long.
TOKEN_SAMPLES = 96
TOKEN_TTL_S = 15.0
# A record produced from the app stays highlighted this long.
PRODUCED_S = 30.0

GROUPS_KEY = "\x00log-view-groups"  # the MemberColors "group" whose members are group ids


@dataclass(frozen=True, slots=True)
class GroupCursor:
    """One consumer group on one partition."""

    group_id: str
    slot: int  # colour slot in the theme's member palette
    committed: int | None  # the next offset the group resumes from; None: nothing committed
    high_watermark: int  # as the lag was computed against
    lag: int | None  # core.groups.lag: None when nothing is committed
    read: int | None = None  # fetch offset of the group's latest Fetch (None: none seen)
    reader: str = ""  # "client-id at host" of that Fetch
    read_age_s: float | None = None

    @property
    def uncommitted(self) -> int:
        """Records fetched but not committed (what a crash would deliver again)."""
        if self.read is None or self.committed is None:
            return 0
        return max(0, self.read - self.committed)


@dataclass(frozen=True, slots=True)
class Lane:
    topic: str
    partition: int
    log_start: int
    high_watermark: int
    segment_bases: tuple[int, ...]
    segment_count: int
    size_bytes: int
    rate: float  # msgs/s appended, over about a second
    groups: tuple[GroupCursor, ...]  # one per group row of the topic, same order on every lane
    readers: tuple[ReadPosition, ...] = ()  # fetchers not attributed to a group
    appends: tuple[AppendSample, ...] = ()  # recent appends kept for tokens, oldest first
    now: float = 0.0  # wall clock of the snapshot (token ages)
    produced: int | None = None  # offset of a record just produced from the app
    # What is wrong with the partition's storage ("disk error: ...", "offline: ..."), if
    # anything: the lane's label says it in red (issue 13).
    storage_problem: str | None = None
    # A compacted partition's cleaner state (clean/dirty sections); None: not compacted.
    compaction: CompactionSnapshot | None = None
    # The last stable offset when an open transaction holds it below the high watermark
    # (read_committed consumers stop there); None: it equals the high watermark.
    stable_offset: int | None = None
    aborted: tuple[tuple[int, int], ...] = ()  # aborted transactions' [first, last] offsets

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"

    @property
    def retained(self) -> int:
        return max(0, self.high_watermark - self.log_start)

    @property
    def first_offset_on_disk(self) -> int:
        """The oldest segment's base (below the log start after DeleteRecords)."""
        if self.segment_bases:
            return min(self.segment_bases[0], self.log_start)
        return self.log_start

    def group(self, group_id: str) -> GroupCursor | None:
        return next((g for g in self.groups if g.group_id == group_id), None)


class LogModel:
    """The lanes of one topic; see the module docstring."""

    def __init__(self, colors: MemberColors | None = None) -> None:
        self.topic: str | None = None
        self.lanes: tuple[Lane, ...] = ()
        self.group_ids: tuple[str, ...] = ()  # the topic's group rows, in order
        self.topic_snapshot: TopicSnapshot | None = None
        self.viewport = Viewport()
        self.colors = colors or MemberColors()
        self.appends_dropped = 0
        self.feed_visible = False  # the snapshot carries an activity feed
        self.external = False
        # (topic, partition, offset, wall clock): a record produced from the app.
        self.produced: tuple[str, int, int, float] | None = None
        self._rates: dict[int, RateWindow] = {}
        self._samples: dict[int, deque[AppendSample]] = {}
        self._unhashed: set[int] = set()  # seqs of kept appends whose keys are not read yet
        self._last_seq = -1
        self._last_monotonic: float | None = None

    def set_topic(self, name: str | None) -> None:
        if name == self.topic:
            return
        self.topic = name
        self.lanes = ()
        self.group_ids = ()
        self.topic_snapshot = None
        self._rates = {}
        self._samples = {}
        self._unhashed = set()
        # Take the next snapshot whatever its age, and the feed's appends of this topic
        # that were passed over while another topic was shown.
        self._last_seq = -1
        self._last_monotonic = None
        self.viewport = Viewport()

    @staticmethod
    def topic_names(snap: ClusterSnapshot) -> list[str]:
        return [t.name for t in snap.topics]

    def update(self, snap: ClusterSnapshot, *, force: bool = False) -> bool:
        """Take this tick's snapshot; False if it was already taken (nothing changed),
        unless ``force`` (the model's own state changed: lay the lanes out again)."""
        if (
            not force
            and self._last_monotonic is not None
            and snap.monotonic <= self._last_monotonic
        ):
            return False
        self._last_monotonic = snap.monotonic
        self.colors.update(GROUPS_KEY, (g.group_id for g in snap.groups))
        slots = self.colors.slots(GROUPS_KEY)
        activity = snap.activity
        self.feed_visible = activity is not None
        self.external = snap.external  # sampled tailing only: no read positions
        t = snap.topic(self.topic) if self.topic is not None else None
        self.topic_snapshot = t
        if t is None:
            self._take_appends(activity, ())
            self.lanes = ()
            self.group_ids = ()
            self.viewport.fit(())
            return True
        parts = {p.index: p for p in t.partitions}
        self._take_appends(activity, parts.values())
        if activity is not None:
            self.appends_dropped = activity.appends_dropped

        # Groups reading this topic: committed offsets on it, or a member's fetches.
        committed: dict[str, dict[int, tuple[int, int, int | None]]] = {}
        for g in snap.groups:
            for o in g.offsets:
                if o.topic == t.name and o.committed_offset >= 0:
                    committed.setdefault(g.group_id, {})[o.partition] = (
                        o.committed_offset,
                        o.high_watermark,
                        o.lag,
                    )
        reads: dict[tuple[str, int], ReadPosition] = {}
        loose: dict[int, list[ReadPosition]] = {}
        if activity is not None:
            for rp in activity.read_positions:
                if rp.topic != t.name:
                    continue
                if rp.group_id is None:
                    loose.setdefault(rp.partition, []).append(rp)
                    continue
                key = (rp.group_id, rp.partition)
                seen = reads.get(key)
                # After a rebalance two members may have fetched one partition: the
                # latest Fetch is where the group reads now.
                if seen is None or rp.at > seen.at:
                    reads[key] = rp
        group_ids = sorted(set(committed) | {gid for gid, _ in reads})
        self.group_ids = tuple(group_ids)

        lanes = []
        for index in sorted(parts):
            p = parts[index]
            rate = self._rate(index, snap.monotonic, p.records_in)
            cursors = []
            for gid in group_ids:
                c = committed.get(gid, {}).get(index)
                rp = reads.get((gid, index))
                cursors.append(
                    GroupCursor(
                        group_id=gid,
                        slot=slots.get(gid, 0),
                        committed=c[0] if c else None,
                        high_watermark=c[1] if c else p.high_watermark,
                        lag=c[2] if c else None,
                        read=rp.offset if rp else None,
                        reader=f"{rp.client_id} at {rp.host}" if rp else "",
                        read_age_s=max(0.0, snap.taken_at - rp.at) if rp else None,
                    )
                )
            samples = self._samples.get(index)
            kept: tuple[AppendSample, ...] = ()
            if samples:
                while samples and (
                    snap.taken_at - samples[0].at > TOKEN_TTL_S
                    or samples[0].last_offset < p.log_start_offset
                ):
                    samples.popleft()
                kept = tuple(samples)
            lanes.append(
                Lane(
                    topic=t.name,
                    partition=index,
                    log_start=p.log_start_offset,
                    high_watermark=p.high_watermark,
                    segment_bases=p.segment_bases,
                    segment_count=p.segment_count,
                    size_bytes=p.size_bytes,
                    rate=rate,
                    groups=tuple(cursors),
                    readers=tuple(sorted(loose.get(index, ()), key=lambda r: r.conn_id)),
                    appends=kept,
                    now=snap.taken_at,
                    produced=self._produced_on(t.name, index, snap.taken_at),
                    storage_problem=p.storage_problem,
                    compaction=p.compaction,
                    stable_offset=(
                        p.last_stable_offset
                        if p.last_stable_offset is not None
                        and p.last_stable_offset < p.high_watermark
                        else None
                    ),
                    aborted=tuple((a.first_offset, a.last_offset) for a in p.aborted),
                )
            )
        self.lanes = tuple(lanes)
        for gone in [i for i in self._rates if i not in parts]:
            del self._rates[gone]
        self.viewport.fit(self.lanes)
        return True

    def _rate(self, partition: int, t: float, records_in: int) -> float:
        win = self._rates.get(partition)
        if win is None:
            win = self._rates[partition] = RateWindow()
        return win.update(t, (records_in,))[0]

    def _take_appends(
        self, activity: ActivitySnapshot | None, parts: Iterable[PartitionSnapshot]
    ) -> None:
        """Keep the feed's new appends to this topic; fill in key hashes that arrived later
        for batches already kept (the feed reads keys back off the produce path).

        The feed is numbered in order, so only its tail is looked at: entries newer than
        the last seen, and from the oldest kept batch still waiting for its key hashes.
        """
        if activity is None or not activity.appends:
            return
        wanted = {p.index for p in parts}
        last = self._last_seq
        waiting = self._unhashed
        since = min(last, min(waiting) - 1) if waiting else last
        appends = activity.appends
        for a in appends[bisect.bisect_right(appends, since, key=lambda x: x.seq):]:
            if a.topic != self.topic or a.partition not in wanted:
                continue
            if a.seq > last:
                samples = self._samples.get(a.partition)
                if samples is None:
                    samples = self._samples[a.partition] = deque(maxlen=TOKEN_SAMPLES)
                samples.append(a)
                if a.key_hashes is None:
                    waiting.add(a.seq)
            elif a.seq in waiting and a.key_hashes is not None:
                waiting.discard(a.seq)
                samples = self._samples.get(a.partition)
                if samples is not None:
                    for i, kept in enumerate(samples):
                        if kept.seq == a.seq:
                            samples[i] = a
                            break
        # Batches the feed no longer carries will not get their hashes: stop waiting.
        oldest = appends[0].seq
        if waiting and min(waiting) < oldest:
            waiting.difference_update([q for q in waiting if q < oldest])
        self._last_seq = max(last, appends[-1].seq)

    def highlight(self, topic: str, partition: int, offset: int, at: float) -> None:
        """Mark the record at ``offset`` (produced from the app at wall clock ``at``) for
        :data:`PRODUCED_S` seconds."""
        self.produced = (topic, partition, offset, at)

    def _produced_on(self, topic: str, partition: int, now: float) -> int | None:
        h = self.produced
        if h is None or (h[0], h[1]) != (topic, partition) or now - h[3] > PRODUCED_S:
            return None
        return h[2]

    def lane(self, partition: int) -> Lane | None:
        return next((ln for ln in self.lanes if ln.partition == partition), None)

