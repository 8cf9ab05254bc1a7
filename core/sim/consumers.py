"""``SimApp``: one simulated consumer app (map, analytics, notifications, database, counter),
run as its own consumer group of in-process consumers on the broker's loop.

Contract:

* One app = one group id = one service: its model (:mod:`.apps`: ``CustomerMap``,
  ``Analytics``, ``Notifications``; a :class:`AppSink` for ``"database"``; nothing but the
  delivery counter for ``"counter"``) is shared by all its members, as the instances of one
  service share one store. Each member is a :class:`~streamscope.core.clients.Consumer`
  (auto-commit off except in ``"auto"`` mode) and a poll task:
  ``getmany`` -> decode every record (:func:`~.partners.decode_update`, through a small
  cache shared by the apps of the process: they read the same values; a record that does
  not decode is counted in ``undecodable`` and skipped) -> process -> commit, in the order
  :data:`CommitMode` says. Processing a pure model is
  ``ingest_batch([(update, record timestamp), ...], processed_ms=wall() * 1000)`` (the same
  as one ``ingest`` per record); a sink gets the whole batch,
  ``await sink.process([(update, produced_ms), ...])``.
* Commit modes. ``after``: process, then commit the batch's offsets (at-least-once: a
  member that dies before its commit leaves the batch to be re-read). ``before``: commit,
  then process (at-most-once); if that commit is refused (a rebalance), the batch is not
  processed and the member seeks back to it, so a refused commit never loses records.
  ``auto``: the consumer auto-commits its positions every second.
* Crashes (:meth:`SimApp.crash_next`): armed for one member (or whichever member gets the
  next non-empty batch) and fired on that batch, whatever the commit mode.
  ``before_commit``: process it, then die (``Consumer.kill``: no commit, no LeaveGroup).
  ``after_commit``: commit its offsets, then die without processing it (a refused commit
  defers the crash to the next batch). Each crash is kept as a :class:`CrashRecord` and
  told to the broker's event log (``consumer_crashed``; a kill: ``consumer_killed``). The coordinator evicts a dead member after its session
  timeout and the survivors re-read from the committed offsets, so duplicates (resp. lost
  updates) appear in :attr:`AppView.delivery` once the group has rebalanced.
* Dead members stay listed (status ``dead``) so a view can show what happened;
  :meth:`SimApp.evict_dead` tells the coordinator to drop dead members at once (used by
  ``Scenario.reset``).
* :meth:`SimApp.view` is cheap (no I/O, no await) and returns frozen data any thread may
  keep. Everything else runs on the broker's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, get_args

from streamscope.core.broker import Broker
from streamscope.core.clients.clock import LOOP_CLOCK, Clock
from streamscope.core.clients.consumer import Consumer, ConsumerRecord, TopicPartition
from streamscope.core.errors import KafkaError
from streamscope.core.groups import GroupCoordinator, partition_lag, total_lag
from streamscope.core.sim.apps import (
    Analytics,
    AnalyticsSnapshot,
    CustomerMap,
    DeliveryCounter,
    DeliveryCounts,
    MapSnapshot,
    Notifications,
    NotificationsSnapshot,
)
from streamscope.core.sim.city import City
from streamscope.core.sim.partners import LocationUpdate, decode_update

if TYPE_CHECKING:
    from streamscope.core.sim.database import DatabaseView

log = logging.getLogger(__name__)

AppKind = Literal["map", "analytics", "notifications", "database", "counter"]
CommitMode = Literal["after", "before", "auto"]
CrashPoint = Literal["before_commit", "after_commit"]
APP_KINDS: tuple[str, ...] = get_args(AppKind)
COMMIT_MODES: tuple[str, ...] = get_args(CommitMode)
CRASH_POINTS: tuple[str, ...] = get_args(CrashPoint)

POLL_TIMEOUT_MS = 500
# Pause after a KafkaError (e.g. a commit refused mid-rebalance) before polling again.
POLL_RETRY_S = 0.2
# How long a member may take to finish its batch once told to stop, then it is cancelled.
STOP_TIMEOUT_S = 5.0
# How long one member may take to leave gracefully before it is killed instead.
CLOSE_TIMEOUT_S = 10.0
AUTO_COMMIT_INTERVAL_MS = 1000
# Records per batch: each batch costs a commit (a SQLite write on the broker loop), so
# fewer, larger batches than a client's default 500 when the apps keep up with thousands
# of updates/s. A crash's batch (duplicates or lost updates) is at most this many.
MAX_POLL_RECORDS = 1000
# Bytes decoded per partition per fetch: the decoding runs on the broker loop in one go,
# so a fill of a client's default 1 MiB (~8,000 updates) stalls the loop for tens of ms.
MAX_PARTITION_FETCH_BYTES = 64 * 1024


class AppSink(Protocol):
    """Where a ``"database"`` app writes (``core/sim/database.py``'s ``DatabaseSink``)."""

    async def process(self, updates: Sequence[tuple[LocationUpdate, float]]) -> None:
        """Store one consumed batch: (update, produced_ms) pairs, in log order."""
        ...

    def view(self) -> DatabaseView: ...

    async def close(self) -> None:
        """Release what it holds (the app is closing); idempotent."""
        ...


@dataclass(frozen=True, slots=True)
class MemberView:
    """One consumer of an app."""

    client_id: str
    member_id: str  # "" until it has joined
    status: str  # the Consumer's: created, joining, rebalancing, stable, closed, dead
    assignment: tuple[tuple[str, int], ...]
    paused: bool
    delay_s: float  # processing delay per record
    processed: int  # records this member processed
    idle: bool  # stable with an empty assignment


@dataclass(frozen=True, slots=True)
class CrashRecord:
    """A crash that happened: who, where, and how many records its batch held."""

    client_id: str
    point: CrashPoint
    records: int  # in the batch it died with (re-read as duplicates, or lost)


@dataclass(frozen=True, slots=True)
class AppView:
    group: str
    kind: AppKind
    topic: str
    assignor: str
    commit: CommitMode
    members: tuple[MemberView, ...]  # oldest first, dead ones included
    delivery: DeliveryCounts
    processed: int  # records processed by the app (duplicates included)
    lag: int  # sum over the topic's partitions of log end - committed offset
    model: MapSnapshot | AnalyticsSnapshot | NotificationsSnapshot | DatabaseView | None
    paused: bool = False
    delay_s: float = 0.0
    undecodable: int = 0  # records skipped because they were not location updates
    crashes: tuple[CrashRecord, ...] = ()  # oldest first


Model = CustomerMap | Analytics | Notifications


class _Member:
    """One consumer and its poll task (see the module docstring for the loop)."""

    def __init__(self, app: SimApp, consumer: Consumer) -> None:
        self.app = app
        self.consumer = consumer
        self.client_id = consumer.membership.client_id
        self.processed = 0
        self.stopping = False
        self.crash: CrashPoint | None = None
        self.in_poll = False
        self.task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return not self.stopping and self.consumer.membership.status not in ("closed", "dead")

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.get_running_loop().create_task(
            self._poll(), name=f"sim-app-{self.client_id}"
        )
        self.task.add_done_callback(self._poll_done)

    async def _poll(self) -> None:
        consumer = self.consumer
        while not self.stopping:
            if consumer.membership.status in ("closed", "dead"):
                return
            try:
                self.in_poll = True
                try:
                    batch = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS)
                finally:
                    self.in_poll = False
                if batch and await self._handle(batch):
                    return
            except KafkaError as exc:
                if consumer.membership.status in ("closed", "dead") or self.stopping:
                    return
                log.info("sim app member %s: %s", self.client_id, exc)
                await asyncio.sleep(POLL_RETRY_S)

    async def _handle(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Process and commit one batch as the app's commit mode says; True once dead."""
        app = self.app
        crash = self._take_crash()
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        # A crash point overrides the commit mode: it says what happens to this batch.
        if crash == "before_commit":
            await app._process(self, batch)
            self._die(crash, batch)
            return True
        if app.commit == "before" or crash == "after_commit":
            try:
                await self.consumer.commit(offsets)
            except KafkaError:
                if crash is not None:
                    self.crash = crash  # fire on the next batch instead
                # Not committed: not processed either. Whoever owns these partitions next
                # (maybe us) reads them again from the committed offset.
                self._seek_back(batch)
                raise
            if crash == "after_commit":
                self._die(crash, batch)
                return True
            await app._process(self, batch)
            return False
        await app._process(self, batch)
        if app.commit == "after":
            await self.consumer.commit(offsets)
        return False

    def _take_crash(self) -> CrashPoint | None:
        crash = self.crash or self.app._take_any_crash()
        self.crash = None
        return crash

    def _seek_back(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        owned = self.consumer.assignment()
        for tp, records in batch.items():
            if tp in owned:
                with contextlib.suppress(KafkaError):
                    self.consumer.seek(tp, records[0].offset)

    def _die(self, point: CrashPoint,
             batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        records = sum(len(r) for r in batch.values())
        log.info("sim app member %s crashes %s with %d records", self.client_id,
                 point.replace("_", " "), records)
        app = self.app
        app.crashes.append(CrashRecord(self.client_id, point, records))
        self.stopping = True
        self.consumer.kill()
        if point == "before_commit":
            what = (f"after processing {records} updates, before committing them: "
                    "their next owner reads them again (duplicates)")
        else:
            what = (f"after committing {records} updates, before processing them: "
                    "nobody will process them (lost updates)")
        app.broker.emit_event(
            "consumer_crashed", f"Consumer {self.client_id} of group {app.group} crashed {what}",
            group=app.group, client_id=self.client_id,
        )

    def _poll_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.error("poll loop of sim app member %s failed", self.client_id, exc_info=exc)
        # A member that no longer consumes must not keep its partitions: it dies, so the
        # group moves them to the others at its session timeout.
        self.stopping = True
        self.consumer.kill()
        self.app.broker.emit_event(
            "error",
            f"Consumer {self.client_id} of app {self.app.group} stopped consuming: {exc!r}",
            group=self.app.group, client_id=self.client_id,
        )

    async def stop_polling(self) -> None:
        """End the poll loop: at once while it waits for records, else after its batch."""
        self.stopping = True
        task = self.task
        if task is None or task.done():
            return
        if self.in_poll:
            task.cancel()  # nothing handed out yet: cancelling loses nothing
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if not done:
            task.cancel()
            await asyncio.wait({task})

    async def close(self) -> None:
        await self.stop_polling()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.consumer.close()
        except Exception:  # noqa: BLE001 - a member that cannot leave is killed instead
            log.exception("sim app member %s did not leave gracefully; killed", self.client_id)
            self.consumer.kill()

    def kill(self) -> None:
        self.stopping = True
        if self.task is not None:
            self.task.cancel()
        self.consumer.kill()

    def view(self) -> MemberView:
        c = self.consumer
        m = c.membership
        assignment = tuple(sorted(c.assignment())) if m.status not in ("closed", "dead") else ()
        return MemberView(
            client_id=self.client_id,
            member_id=m.member_id,
            status=m.status,
            assignment=assignment,
            paused=self.app.paused,
            delay_s=c.fetcher.processing_delay_s,
            processed=self.processed,
            idle=m.status == "stable" and not assignment,
        )


def check_app(kind: str, commit: str, group: str, topic: str, delay_s: float) -> None:
    """An app's settings, checked alike for the embedded and the external simulation;
    ValueError says which is wrong."""
    if kind not in APP_KINDS:
        raise ValueError(f"unknown app kind {kind!r} (one of {', '.join(APP_KINDS)})")
    if commit not in COMMIT_MODES:
        raise ValueError(f"unknown commit mode {commit!r} (one of {', '.join(COMMIT_MODES)})")
    if not group or not topic:
        raise ValueError("an app needs a group id and a topic")
    if delay_s < 0:
        raise ValueError("the processing delay cannot be negative")


class SimApp:
    """One consumer group running one simulated app (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        groups: GroupCoordinator,
        *,
        kind: AppKind,
        group: str,
        topic: str,
        city: City,
        assignor: str = "range",
        commit: CommitMode = "after",
        delay_s: float = 0.0,
        session_timeout_ms: int = 6000,
        offset_reset: str = "earliest",
        clock: Clock = LOOP_CLOCK,
        wall: Callable[[], float] = time.time,
        sink: AppSink | None = None,
    ) -> None:
        check_app(kind, commit, group, topic, delay_s)
        if kind == "database" and sink is None:
            raise ValueError("a database app needs a sink")
        self.broker = broker
        self.groups = groups
        self.kind: AppKind = kind
        self.group = group
        self.topic = topic
        self.city = city
        self.assignor = assignor
        self.commit: CommitMode = commit
        self.delay_s = float(delay_s)
        self.session_timeout_ms = session_timeout_ms
        self.offset_reset = offset_reset
        self.clock = clock
        self.wall = wall
        self.sink = sink
        self.model: Model | None = _make_model(kind, city)
        self.delivery = self.model.delivery if self.model is not None else DeliveryCounter()
        self.processed = 0
        self.undecodable = 0
        self.paused = False
        self.members: list[_Member] = []
        self._crash_any: CrashPoint | None = None
        self.crashes: list[CrashRecord] = []
        self._serial = 0

    # --- members ----------------------------------------------------------------------

    def live_members(self) -> list[_Member]:
        return [m for m in self.members if m.alive]

    async def add_consumers(self, n: int = 1) -> None:
        if n < 0:
            raise ValueError("cannot add a negative number of consumers")
        started = []
        for _ in range(n):
            self._serial += 1
            member = _Member(self, self._consumer(f"{self.group}-{self._serial}"))
            self.members.append(member)
            started.append(member.start())
        await asyncio.gather(*started)

    def _consumer(self, client_id: str) -> Consumer:
        session = self.session_timeout_ms
        return Consumer(
            self.broker, self.group, (self.topic,),
            client_id=client_id,
            assignors=(self.assignor,),
            session_timeout_ms=session,
            heartbeat_interval_ms=max(20, min(1000, session // 3)),
            rebalance_timeout_ms=max(session, 10_000),
            auto_offset_reset=self.offset_reset,
            enable_auto_commit=self.commit == "auto",
            auto_commit_interval_ms=AUTO_COMMIT_INTERVAL_MS,
            max_poll_records=MAX_POLL_RECORDS,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
            processing_delay_s=self.delay_s,
            on_assigned=self._on_assigned,
            clock=self.clock,
            groups=self.groups,
        )

    async def remove_consumer(self) -> None:
        """The newest live member leaves gracefully (LeaveGroup); no-op if none is left."""
        live = self.live_members()
        if live:
            await live[-1].close()

    def _pick(self, index: int | None) -> _Member:
        live = self.live_members()
        if index is not None:
            if not 0 <= index < len(self.members) or not self.members[index].alive:
                raise IndexError(f"app {self.group} has no live member #{index}")
            return self.members[index]
        if not live:
            raise IndexError(f"app {self.group} has no live member")
        # Default: the oldest member owning partitions, so the act has a visible effect.
        owning = [m for m in live if m.consumer.assignment()]
        return (owning or live)[0]

    def kill_consumer(self, index: int | None = None) -> str:
        """Kill a live member abruptly (no commit, no LeaveGroup); returns its client id.
        ``index`` is its place in :attr:`AppView.members`; by default the oldest live
        member that owns partitions."""
        member = self._pick(index)
        member.kill()
        self.broker.emit_event(
            "consumer_killed",
            f"Consumer {member.client_id} of group {self.group} killed (no commit, no "
            f"LeaveGroup): the group notices after its {self.session_timeout_ms / 1000:g} s "
            "session timeout",
            group=self.group, client_id=member.client_id,
        )
        return member.client_id

    def crash_next(self, point: CrashPoint, index: int | None = None) -> None:
        """Arm a crash at ``point`` on the next non-empty batch of member ``index`` (by
        default: of whichever live member gets one first)."""
        if point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}")
        if index is None:
            if not self.live_members():
                raise IndexError(f"app {self.group} has no live member")
            self._crash_any = point
        else:
            self._pick(index).crash = point

    def _take_any_crash(self) -> CrashPoint | None:
        crash, self._crash_any = self._crash_any, None
        return crash

    @property
    def crash_armed(self) -> bool:
        return self._crash_any is not None or any(m.crash for m in self.live_members())

    def set_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the processing delay cannot be negative")
        self.delay_s = float(seconds)
        for m in self.members:
            m.consumer.fetcher.processing_delay_s = self.delay_s

    def pause(self) -> None:
        self.paused = True
        for m in self.live_members():
            m.consumer.pause()

    def resume(self) -> None:
        self.paused = False
        for m in self.live_members():
            m.consumer.resume()

    def _on_assigned(self, tps: set[TopicPartition]) -> None:
        if self.paused:
            for m in self.live_members():
                owned = tps & m.consumer.assignment()
                if owned:
                    m.consumer.pause(*owned)

    async def close(self) -> None:
        """Every live member leaves the group (members close together)."""
        await asyncio.gather(*(m.close() for m in self.members if m.alive))
        for m in self.members:  # dead ones: their poll tasks are already ending
            if m.task is not None and not m.task.done():
                m.task.cancel()
                await asyncio.wait({m.task})
        if self.sink is not None:
            await self.sink.close()

    async def evict_dead(self) -> None:
        """Have the coordinator drop dead members now, not at their session timeout."""
        ids = [m.consumer.membership.member_id for m in self.members
               if not m.alive and m.consumer.membership.status == "dead"]
        ids = [i for i in ids if i]
        if ids:
            await self.groups.leave_group(
                self.group, [(i, None) for i in ids], reason="the simulation evicted it"
            )

    # --- processing -------------------------------------------------------------------

    async def _process(
        self, member: _Member, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        decoded: list[tuple[LocationUpdate, float]] = []
        append = decoded.append
        decode = _DECODED.decode
        for records in batch.values():
            for record in records:
                update = decode(record.value)
                if update is None:
                    self.undecodable += 1
                else:
                    append((update, float(record.timestamp)))
        model = self.model
        if model is not None:
            model.ingest_batch(decoded, processed_ms=self.wall() * 1000.0)
        else:
            observe = self.delivery.observe
            for update, _ in decoded:
                observe(update.partner, update.seq)
            if self.sink is not None and decoded:
                await self.sink.process(decoded)
        member.processed += len(decoded)
        self.processed += len(decoded)

    # --- the view ---------------------------------------------------------------------

    def lag(self) -> int:
        """Records of the topic the group has yet to commit past: log end - committed
        offset (:func:`~streamscope.core.groups.partition_lag`) per partition. A partition
        with no commit yet counts from where this app starts reading it (the log start
        with ``earliest``, the end with ``latest``), so a new app's backlog shows."""
        count = self.broker.topic_partition_count(self.topic) or 0
        committed = self.groups.fetch_offsets(self.group, [(self.topic, p) for p in range(count)])
        lags: list[int | None] = []
        for p in range(count):
            try:
                start, end = self.broker.partition_offsets(self.topic, p)
            except KafkaError:
                continue
            found = committed.get((self.topic, p))
            offset = found.offset if found is not None and found.offset >= 0 else -1
            if offset < 0:
                offset = start if self.offset_reset == "earliest" else end
            lags.append(partition_lag(offset, end))
        return total_lag(lags)

    def view(self, now_ms: float) -> AppView:
        model = self.model
        snapshot: MapSnapshot | AnalyticsSnapshot | NotificationsSnapshot | DatabaseView | None
        if isinstance(model, Analytics):
            snapshot = model.snapshot(now_ms)
        elif model is not None:
            snapshot = model.snapshot()
        elif self.sink is not None:
            snapshot = self.sink.view()
        else:
            snapshot = None
        return AppView(
            group=self.group, kind=self.kind, topic=self.topic, assignor=self.assignor,
            commit=self.commit, members=tuple(m.view() for m in self.members),
            delivery=self.delivery.counts(), processed=self.processed, lag=self.lag(),
            model=snapshot, paused=self.paused, delay_s=self.delay_s,
            undecodable=self.undecodable, crashes=tuple(self.crashes),
        )


class _DecodeCache:
    """:func:`~.partners.decode_update` remembering the recent values it decoded.

    The apps of one simulation read the same records (each its own group, so each its
    own fetch and its own copy of the value bytes) at nearly the same place in the log:
    the first app to reach a record decodes it, the others find the (immutable) update by
    its bytes. Decoding is a pure function of the bytes, so this changes no result.
    Bounded: two generations of at most ``size`` values each; a value not met again within
    about ``2 * size`` records is decoded again. Broker loop (or any one thread) use; a
    race between threads could only cost a decode.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._new: dict[bytes, LocationUpdate] = {}
        self._old: dict[bytes, LocationUpdate] = {}

    def decode(self, value: bytes | None) -> LocationUpdate | None:
        """The update in ``value``; None when it is not one (null, another schema, garbage)."""
        if type(value) is not bytes:  # None (or a buffer type that cannot be a dict key)
            if value is None:
                return None
            try:
                return decode_update(value)
            except ValueError:
                return None
        update = self._new.get(value)
        if update is not None:
            return update
        update = self._old.get(value)
        if update is None:
            try:
                update = decode_update(value)
            except ValueError:
                return None
        if len(self._new) >= self.size:
            self._old, self._new = self._new, {}
        self._new[value] = update
        return update


# Values kept per generation: a few seconds of the apps' reads at the rates a lesson
# runs, about one second at 20,000 updates/s; ~100 bytes per value plus its update.
_DECODED = _DecodeCache(16_384)


def _make_model(kind: AppKind, city: City) -> Model | None:
    if kind == "map":
        # Long enough to show where each partner came from (a few blocks at the lessons'
        # rates of 1-5 updates/s per partner); the map thins it when it is dense.
        return CustomerMap(trail_len=150)
    if kind == "analytics":
        return Analytics(city)
    if kind == "notifications":
        return Notifications(city)
    return None
