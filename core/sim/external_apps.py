"""``ExternalApp``: one simulated consumer app as a consumer group of real confluent-kafka
consumers against any cluster, one thread per member (the Sim page's apps in external mode).

The twin of :class:`~.consumers.SimApp` for a cluster that is not the embedded broker:
the same kinds (map, analytics, notifications, database, counter), the same shared model
per app (:mod:`.apps`; a :class:`~.consumers.AppSink` for ``"database"``), the same
:class:`~.consumers.AppView`, so the Sim page and the lesson checks read either alike.
Contract:

* Each member is a confluent-kafka ``Consumer`` in group ``group`` (client id
  ``<group>-<n>``), subscribed to ``topic`` with the app's assignor
  (``partition.assignment.strategy``: range, roundrobin, cooperative-sticky), session
  timeout and ``auto.offset.reset``, connected with the target's
  :func:`~.remote.client_config` (an address, or an ``ExternalSettings`` with SSL/SASL).
  It runs in its own thread, never on an event loop: ``consume`` -> decode
  (:func:`~.partners.decode_update`; records that are not location updates are counted
  in ``undecodable``) -> wait the processing delay (``delay_s`` per record, interruptible
  by a stop) -> feed the model under the app's lock (a database sink's ``process`` runs
  on ``loop``, the scenario's event loop) -> commit as :data:`~.consumers.CommitMode`
  says: ``after`` commits the batch's offsets synchronously after processing
  (at-least-once), ``before`` commits first and, if the commit is refused, seeks back
  without processing, ``auto`` stores the offsets after processing and lets the client
  auto-commit every second. With a delay, batches are cut to about half a second of
  work, so a pause or a stop is seen promptly.
* A member's status is what its client has told it: ``joining`` until its first
  assignment, ``stable`` after an assignment (empty included), ``rebalancing`` between a
  revocation (or a lost assignment) and the next assignment, ``closed`` once it left
  (``Consumer.close``: LeaveGroup), ``dead`` if its thread failed. Its assignment and
  member id are read from the client after every poll.
* :meth:`pause` / :meth:`resume` are applied by each member's thread before its next poll
  (``Consumer.pause`` of its whole assignment, again after each rebalance).
* What a real client in this process cannot do is refused with :class:`EmbeddedOnly`:
  killing a member abruptly (no commit, no LeaveGroup: ``Consumer.close`` always leaves
  the group) and arming a crash (which kills). Those are the embedded broker's
  in-process consumers' tricks.
* ``lag`` is set from outside (the scenario's probe, from the cluster's watermarks and
  this group's committed offsets); :meth:`view` is cheap (no I/O) and safe from any
  thread.
* :meth:`close` (a coroutine: it joins threads through ``asyncio.to_thread``) makes every
  member leave its group and waits at most ``CLOSE_TIMEOUT_S`` for each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamscope.core.sim.apps import Analytics, DeliveryCounter
from streamscope.core.sim.city import City
from streamscope.core.sim.consumers import (
    AppKind,
    AppSink,
    AppView,
    CommitMode,
    CrashPoint,
    CrashRecord,
    MemberView,
    _make_model,
    check_app,
)
from streamscope.core.sim.partners import LocationUpdate, decode_update
from streamscope.core.sim.remote import client_config

if TYPE_CHECKING:
    from confluent_kafka import Consumer, KafkaError, Message
    from streamscope.core.monitor.external import ExternalSettings

log = logging.getLogger(__name__)

ASSIGNORS = {"range": "range", "roundrobin": "roundrobin",
             "cooperative-sticky": "cooperative-sticky"}
BATCH = 500  # records per consume() call at most
POLL_S = 0.1  # how long consume() waits: stop, pause and leave requests are seen within this
WORK_S = 0.5  # with a processing delay, a batch holds about this much work
CLOSE_TIMEOUT_S = 15.0  # per member: commit, LeaveGroup, close
AUTO_COMMIT_INTERVAL_MS = 1000


class EmbeddedOnly(RuntimeError):
    """An act only the embedded broker's in-process clients can perform."""


class _Member:
    """One consumer thread; its fields are written by that thread and read by any."""

    def __init__(self, app: ExternalApp, client_id: str) -> None:
        self.app = app
        self.client_id = client_id
        self.member_id = ""
        self.status = "created"
        self.assignment: tuple[tuple[str, int], ...] = ()
        self.processed = 0
        self.leave = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"sim-ext-{client_id}",
                                       daemon=True)
        self._repause = False
        self._paused: set[tuple[str, int]] = set()

    @property
    def alive(self) -> bool:
        return not self.leave.is_set() and self.status not in ("closed", "dead")

    def _should_stop(self) -> bool:
        return self.leave.is_set()

    # --- the thread -------------------------------------------------------------------

    def _main(self) -> None:
        from confluent_kafka import Consumer

        app = self.app
        session = app.session_timeout_ms
        try:
            consumer = Consumer({
                **client_config(app.target),
                "group.id": app.group,
                "client.id": self.client_id,
                "auto.offset.reset": app.offset_reset,
                "enable.auto.commit": app.commit == "auto",
                "enable.auto.offset.store": False,
                "auto.commit.interval.ms": AUTO_COMMIT_INTERVAL_MS,
                "partition.assignment.strategy": ASSIGNORS[app.assignor],
                "session.timeout.ms": session,
                "heartbeat.interval.ms": max(100, min(1000, session // 3)),
                "error_cb": app._error,
            })
        except Exception as exc:  # bad settings: the member never ran
            self.status = "dead"
            app._fail(f"{self.client_id}: {exc}")
            return
        self.status = "joining"
        try:
            consumer.subscribe([app.topic], on_assign=self._on_assign,
                               on_revoke=self._on_revoke, on_lost=self._on_revoke)
            while not self.leave.is_set():
                self._sync_pause(consumer)
                delay = app.delay_s
                n = BATCH if delay <= 0 else max(1, min(BATCH, int(WORK_S / delay)))
                messages = consumer.consume(n, POLL_S)
                self._read_state(consumer)
                if messages:
                    self._handle(consumer, messages)
        except Exception as exc:  # a member that dies says why in the app's last error
            self.status = "dead"
            app._fail(f"{self.client_id}: {exc}")
        finally:
            try:
                consumer.close()  # commits nothing by itself here; LeaveGroup
            except Exception as exc:  # noqa: BLE001 - already leaving: say why, go on
                app._fail(f"{self.client_id} closing: {exc}")
            if self.status != "dead":
                self.status = "closed"
            self.assignment = ()

    def _on_assign(self, consumer: Consumer, partitions: list) -> None:
        self.status = "stable"
        self._repause = True

    def _on_revoke(self, consumer: Consumer, partitions: list) -> None:
        self.status = "rebalancing"

    def _read_state(self, consumer: Consumer) -> None:
        from confluent_kafka import KafkaException

        try:
            self.assignment = tuple(sorted((tp.topic, tp.partition)
                                           for tp in consumer.assignment()))
            self.member_id = consumer.memberid() or ""
        except (KafkaException, RuntimeError):
            pass  # closing: the next loop ends

    def _sync_pause(self, consumer: Consumer) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        want = self.app.paused
        try:
            if want and (self._repause or not self._paused):
                owned = consumer.assignment()
                if owned:
                    consumer.pause(owned)
                self._paused = {(tp.topic, tp.partition) for tp in owned}
                self._repause = False
            elif not want and self._paused:
                owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
                back = [TopicPartition(t, p) for t, p in self._paused & owned]
                if back:
                    consumer.resume(back)
                self._paused = set()
        except KafkaException as exc:
            log.info("sim app member %s: pause/resume: %s", self.client_id, exc)

    def _handle(self, consumer: Consumer, messages: list[Message]) -> None:
        from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError, KafkaException
        from confluent_kafka import TopicPartition as Tp

        app = self.app
        decoded: list[tuple[LocationUpdate, float]] = []
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        undecodable = 0
        now_ms = app.wall() * 1000.0
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    app._error(err)
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition is None or offset is None:
                continue
            first.setdefault(partition, offset)
            last[partition] = offset
            try:
                update = decode_update(msg.value() or b"")
            except (ValueError, TypeError):
                undecodable += 1
                continue
            ts_type, ts = msg.timestamp()
            decoded.append((update, now_ms if ts_type == TIMESTAMP_NOT_AVAILABLE else float(ts)))
        if not last:
            return
        offsets = [Tp(app.topic, p, o + 1) for p, o in last.items()]
        if app.commit == "before":
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                # Not committed: not processed either; read again from where it was.
                log.info("sim app member %s: commit refused: %s", self.client_id, exc)
                for p, o in first.items():
                    try:
                        consumer.seek(Tp(app.topic, p, o))
                    except KafkaException:
                        pass  # no longer ours: its next owner reads it from the commit
                return
        delay = app.delay_s * len(decoded)
        if delay > 0:
            self.leave.wait(delay)
        app._process(decoded, undecodable)
        self.processed += len(decoded)
        try:
            if app.commit == "after":
                consumer.commit(offsets=offsets, asynchronous=False)
            elif app.commit == "auto":
                consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:  # a rebalance took the partition: re-read by its owner
            log.info("sim app member %s: commit refused: %s", self.client_id, exc)


class ExternalApp:
    """One consumer group of real clients running one simulated app (module contract)."""

    def __init__(
        self,
        target: str | ExternalSettings,
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
        wall: Callable[[], float] = time.time,
        sink: AppSink | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        check_app(kind, commit, group, topic, delay_s)
        if assignor not in ASSIGNORS:
            raise ValueError(f"unknown assignor {assignor!r} (one of {', '.join(ASSIGNORS)})")
        if kind == "database" and (sink is None or loop is None):
            raise ValueError("a database app needs a sink and the loop it runs on")
        self.target = target
        self.kind: AppKind = kind
        self.group = group
        self.topic = topic
        self.city = city
        self.assignor = assignor
        self.commit: CommitMode = commit
        self.delay_s = float(delay_s)
        self.session_timeout_ms = session_timeout_ms
        self.offset_reset = offset_reset
        self.wall = wall
        self.sink = sink
        self.loop = loop
        self.model = _make_model(kind, city)
        self.delivery = self.model.delivery if self.model is not None else DeliveryCounter()
        self.processed = 0
        self.undecodable = 0
        self.errors = 0
        self.last_error = ""
        self.paused = False
        self.lag = 0  # set by the scenario's probe
        self.members: list[_Member] = []
        self.crashes: list[CrashRecord] = []  # never filled: crashes are embedded-only
        self._lock = threading.Lock()  # the model, the counters
        self._serial = 0

    # --- members ------------------------------------------------------------------------

    def live_members(self) -> list[_Member]:
        return [m for m in self.members if m.alive]

    async def add_consumers(self, n: int = 1) -> None:
        if n < 0:
            raise ValueError("cannot add a negative number of consumers")
        for _ in range(n):
            self._serial += 1
            member = _Member(self, f"{self.group}-{self._serial}")
            self.members.append(member)
            member.thread.start()

    async def remove_consumer(self) -> None:
        """The newest live member leaves gracefully (LeaveGroup); no-op if none is left."""
        live = self.live_members()
        if live:
            await self._leave([live[-1]])

    async def _leave(self, members: list[_Member]) -> None:
        for m in members:
            m.leave.set()

        def join() -> None:
            deadline = time.monotonic() + CLOSE_TIMEOUT_S
            for m in members:
                if m.thread.ident is not None:  # started
                    m.thread.join(max(0.0, deadline - time.monotonic()))

        await asyncio.to_thread(join)

    def kill_consumer(self, index: int | None = None) -> str:
        raise EmbeddedOnly(
            "killing a consumer abruptly (no commit, no LeaveGroup) needs the embedded "
            "broker's in-process consumers: a real client always leaves its group on close")

    def crash_next(self, point: CrashPoint, index: int | None = None) -> None:
        raise EmbeddedOnly(
            "a consumer crash (dying without a commit or a LeaveGroup) needs the embedded "
            "broker's in-process consumers")

    @property
    def crash_armed(self) -> bool:
        return False

    def set_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the processing delay cannot be negative")
        self.delay_s = float(seconds)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def close(self) -> None:
        """Every member leaves the group (members close together); the sink closes."""
        await self._leave(list(self.members))
        if self.sink is not None:
            await self.sink.close()

    async def evict_dead(self) -> None:
        """Nothing to evict: a real client's member always leaves (or dies with its thread)."""

    # --- processing (member threads) ----------------------------------------------------

    def _process(self, decoded: list[tuple[LocationUpdate, float]], undecodable: int) -> None:
        processed_ms = self.wall() * 1000.0
        with self._lock:
            self.undecodable += undecodable
            if self.model is not None:
                self.model.ingest_batch(decoded, processed_ms=processed_ms)
            else:
                for update, _ in decoded:
                    self.delivery.observe(update.partner, update.seq)
            self.processed += len(decoded)
        if self.sink is not None and decoded and self.loop is not None:
            asyncio.run_coroutine_threadsafe(self.sink.process(decoded), self.loop).result()

    def _error(self, err: KafkaError) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = err.str()

    def _fail(self, text: str) -> None:
        log.warning("sim app %s: %s", self.group, text)
        with self._lock:
            self.errors += 1
            self.last_error = text

    # --- the view -----------------------------------------------------------------------

    def view(self, now_ms: float) -> AppView:
        with self._lock:
            model = self.model
            if isinstance(model, Analytics):
                snapshot = model.snapshot(now_ms)
            elif model is not None:
                snapshot = model.snapshot()
            elif self.sink is not None:
                snapshot = self.sink.view()
            else:
                snapshot = None
            delivery = self.delivery.counts()
            processed, undecodable = self.processed, self.undecodable
        members = tuple(
            MemberView(client_id=m.client_id, member_id=m.member_id, status=m.status,
                       assignment=m.assignment, paused=self.paused, delay_s=self.delay_s,
                       processed=m.processed,
                       idle=m.status == "stable" and not m.assignment)
            for m in self.members)
        return AppView(
            group=self.group, kind=self.kind, topic=self.topic, assignor=self.assignor,
            commit=self.commit, members=members, delivery=delivery, processed=processed,
            lag=self.lag, model=snapshot, paused=self.paused, delay_s=self.delay_s,
            undecodable=undecodable, crashes=(),
        )
