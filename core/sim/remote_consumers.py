"""Consumer apps through a real client: the engine of ``streamscope sim --consumers ...``.

Each app (``APP:GROUP:N``) is one consumer group of N confluent-kafka consumers, one
thread each, feeding ONE shared pure model of :mod:`~.apps` (one service, several
instances): ``map`` -> :class:`~.apps.CustomerMap`, ``analytics`` ->
:class:`~.apps.Analytics`, ``notifications`` -> :class:`~.apps.Notifications`,
``counter`` -> a bare :class:`~.apps.DeliveryCounter`. Contract:

* The clients connect to ``bootstrap``: an address (PLAINTEXT) or an external cluster's
  :class:`~streamscope.core.monitor.external.ExternalSettings` (SSL, SASL included).
* A member subscribes to the topic (``auto.offset.reset=earliest``, the client's default
  assignors), decodes each record with :func:`~.partners.decode_update` in its own thread
  and feeds the model under the app's lock with ``produced_ms`` = the record timestamp
  and ``processed_ms`` = the wall clock. Commits are at-least-once: a batch's offsets are
  stored after it is processed and auto-committed every second, on a rebalance and on
  close. Records that do not decode (another producer on the topic) are skipped and
  counted as ``undecodable``.
* Lag, once a second per member: for each assigned partition the broker's high
  watermark (asked, not cached) minus the member's position (its committed offset, or
  the log start, before its first record). An app's lag is the sum over its members;
  it is unknown (None) while a member cannot tell.
* :func:`run_apps` runs the apps (and, when given, :class:`~.remote_partners.RemotePartners`
  in the same process) with one progress line about once a second on ``progress``
  (``partners: ... | map/g1: consumed N rate X/s dup N lost N lag N | ...``). It ends on
  Ctrl-C (first SIGINT, main thread; a second one stops waiting), on ``stop()``, or after
  ``seconds``. With partners and ``seconds`` the partners send exactly
  ``seconds x total rate`` updates, then the apps keep reading until each is caught up
  (every partition assigned, lag 0, measured after the partners' last acknowledgement),
  at most ``drain_timeout`` more seconds. Then partners stop (bounded flush) and every
  consumer closes: its offsets are committed and it leaves its group.
* :class:`AppsResult` has the per-app :class:`AppStats` and the partners'
  :class:`~.remote.SimResult`; :meth:`AppsResult.summary` gives the final lines and
  :attr:`AppsResult.ok` the exit status (no delivery error, no consumer error that was
  fatal, and with partners and ``seconds``, every app caught up).

confluent_kafka is imported inside the functions, so ``streamscope.core`` stays importable
without it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from streamscope.core.sim.apps import Analytics, CustomerMap, DeliveryCounter, Notifications
from streamscope.core.sim.city import City, generate_city
from streamscope.core.sim.partners import LocationUpdate, decode_update
from streamscope.core.sim.remote import (
    SimResult,
    StopOnInterrupt,
    client_config,
    ensure_topic,
)
from streamscope.core.sim.remote_partners import RemotePartners

if TYPE_CHECKING:
    from confluent_kafka import Consumer, KafkaError, Message
    from streamscope.core.monitor.external import ExternalSettings

AppKind = Literal["map", "analytics", "notifications", "counter"]
APP_KINDS: tuple[AppKind, ...] = ("map", "analytics", "notifications", "counter")
LAG_EVERY_S = 1.0
BATCH = 500  # records per consume() call
POLL_S = 0.1  # how long consume() waits: stop requests are seen within this
JOIN_S = 30.0  # how long stopping waits for a member to close (commit, leave its group)


@dataclass(frozen=True)
class AppSpec:
    kind: AppKind
    group: str
    consumers: int

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.group}"


def parse_app_spec(text: str) -> AppSpec:
    """``APP:GROUP:N`` (the group may itself hold colons); ValueError with the reason."""
    kind, sep, rest = text.partition(":")
    group, sep2, count = rest.rpartition(":")
    if not sep or not sep2:
        raise ValueError(f"expected APP:GROUP:N, got {text!r}")
    if kind not in APP_KINDS:
        raise ValueError(f"unknown app {kind!r} (one of {', '.join(APP_KINDS)})")
    if not group:
        raise ValueError(f"empty group in {text!r}")
    try:
        n = int(count)
    except ValueError:
        raise ValueError(f"not a number of consumers: {count!r}") from None
    if n < 1:
        raise ValueError(f"an app needs at least 1 consumer, got {n}")
    return AppSpec(kind, group, n)  # type: ignore[arg-type]  # checked against APP_KINDS


class _Model(Protocol):
    delivery: DeliveryCounter

    def ingest(self, update: LocationUpdate, *, produced_ms: float,
               processed_ms: float) -> None: ...


class _Counter:
    """The ``counter`` app: only the delivery counter."""

    def __init__(self) -> None:
        self.delivery = DeliveryCounter()

    def ingest(self, update: LocationUpdate, *, produced_ms: float, processed_ms: float) -> None:
        self.delivery.observe(update.partner, update.seq)


def _make_model(kind: AppKind, city: City) -> _Model:
    if kind == "map":
        return CustomerMap()
    if kind == "analytics":
        return Analytics(city)
    if kind == "notifications":
        return Notifications(city)
    return _Counter()


def _detail(model: _Model, now_ms: float) -> str:
    """What the app would show, in one phrase (for the summary)."""
    if isinstance(model, CustomerMap):
        snap = model.snapshot()
        delay = snap.delay
        text = f"{len(snap.partners)} partners on the map"
        if delay.p50_ms is not None and delay.p99_ms is not None:
            text += f", end-to-end delay p50 {delay.p50_ms:.0f} ms p99 {delay.p99_ms:.0f} ms"
        return text
    if isinstance(model, Analytics):
        zones = model.snapshot(now_ms).zones
        hot = max(zones, key=lambda z: (z.updates, -z.zone))
        return f"{len(zones)} zones, busiest zone {hot.zone} with {hot.updates} updates"
    if isinstance(model, Notifications):
        snap = model.snapshot()
        text = f"{snap.emitted} arrivals"
        if snap.events:
            text += f", latest: {snap.events[0].text}"
        return text
    return "counted"


@dataclass(frozen=True)
class AppStats:
    spec: AppSpec
    consumed: int  # records processed, duplicates included
    duplicates: int
    lost: int
    lag: int | None  # None: not known (a member has no measurement yet)
    assigned: int  # partitions assigned over the members
    lag_at: float  # monotonic time of the oldest member measurement (0: none yet)
    undecodable: int
    errors: int
    fatal: bool
    last_error: str

    @property
    def unique(self) -> int:
        return self.consumed - self.duplicates


class _Member:
    """One consumer thread's figures (written by that thread, read by any)."""

    __slots__ = ("index", "client_id", "processed", "lag", "assigned", "lag_at")

    def __init__(self, index: int, client_id: str) -> None:
        self.index = index
        self.client_id = client_id
        self.processed = 0
        self.lag: int | None = None
        self.assigned = 0
        self.lag_at = 0.0


class RemoteApp:
    """One app: a consumer group of ``spec.consumers`` threads sharing one model."""

    def __init__(self, bootstrap: str | ExternalSettings, spec: AppSpec, topic: str, city: City, *,
                 wall: Callable[[], float] = time.time) -> None:
        self.bootstrap = bootstrap
        self.spec = spec
        self.topic = topic
        self.wall = wall
        self.model = _make_model(spec.kind, city)
        self._lock = threading.Lock()  # the model and the error figures
        self._stop = threading.Event()
        self._members = [_Member(i, f"streamscope-sim-{spec.kind}-{i}")
                         for i in range(spec.consumers)]
        self._threads: list[threading.Thread] = []
        self.undecodable = 0
        self.errors = 0
        self.fatal = False
        self.last_error = ""

    def start(self) -> None:
        for member in self._members:
            thread = threading.Thread(target=self._member_main, args=(member,),
                                      name=f"sim-{self.spec.name}-{member.index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = JOIN_S) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def stats(self) -> AppStats:
        with self._lock:
            counts = self.model.delivery.counts()
        lags = [m.lag for m in self._members]
        return AppStats(
            self.spec, counts.updates, counts.duplicates, counts.lost,
            None if any(lag is None for lag in lags) else sum(lag or 0 for lag in lags),
            sum(m.assigned for m in self._members), min(m.lag_at for m in self._members),
            self.undecodable, self.errors, self.fatal, self.last_error,
        )

    def detail(self) -> str:
        with self._lock:
            return _detail(self.model, self.wall() * 1000.0)

    # --- a member's thread --------------------------------------------------------------

    def _error(self, err: KafkaError) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = err.str()
            self.fatal = self.fatal or err.fatal()

    def _member_main(self, member: _Member) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({
            **client_config(self.bootstrap),
            "group.id": self.spec.group,
            "client.id": member.client_id,
            "auto.offset.reset": "earliest",
            # At-least-once: offsets are stored after processing, committed every second.
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": 1000,
            "error_cb": self._error,
        })
        try:
            consumer.subscribe([self.topic])
            next_lag = time.monotonic()
            while not self._stop.is_set():
                messages = consumer.consume(BATCH, POLL_S)
                if messages:
                    self._process(consumer, member, messages)
                now = time.monotonic()
                if now >= next_lag:
                    next_lag = now + LAG_EVERY_S
                    member.lag, member.assigned = _lag(consumer)
                    member.lag_at = now
        except Exception as exc:  # a member that dies says why in the summary
            with self._lock:
                self.errors += 1
                self.fatal = True
                self.last_error = f"{member.client_id}: {exc}"
        finally:
            # Commits the stored offsets and leaves the group (LeaveGroup).
            consumer.close()

    def _process(self, consumer: Consumer, member: _Member, messages: list[Message]) -> None:
        from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaException, TopicPartition

        decoded: list[tuple[LocationUpdate, float | None]] = []
        last: dict[int, int] = {}
        undecodable = 0
        for msg in messages:
            err = msg.error()
            if err is not None:
                self._error(err)
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition is not None and offset is not None:
                last[partition] = offset
            try:
                update = decode_update(msg.value() or b"")
            except (ValueError, TypeError):
                undecodable += 1
                continue
            ts_type, ts = msg.timestamp()
            decoded.append((update, None if ts_type == TIMESTAMP_NOT_AVAILABLE else float(ts)))
        processed_ms = self.wall() * 1000.0
        with self._lock:
            for update, produced_ms in decoded:
                self.model.ingest(update, produced_ms=produced_ms or processed_ms,
                                  processed_ms=processed_ms)
            self.undecodable += undecodable
        member.processed += len(decoded)
        if last:
            try:
                consumer.store_offsets(offsets=[
                    TopicPartition(self.topic, p, o + 1) for p, o in last.items()])
            except KafkaException:
                pass  # the partition was revoked meanwhile: its next owner re-reads it


def _lag(consumer: Consumer) -> tuple[int | None, int]:
    """(lag over the member's assignment or None if unknown, partitions assigned)."""
    from confluent_kafka import KafkaException

    try:
        assignment = consumer.assignment()
        if not assignment:
            return 0, 0
        positions = consumer.position(assignment)
        unread = [tp for tp in positions if tp.offset < 0]
        committed = ({tp.partition: tp.offset for tp in consumer.committed(unread, timeout=2)}
                     if unread else {})
        total = 0
        for tp in positions:
            low, high = consumer.get_watermark_offsets(tp, timeout=2)
            start = tp.offset if tp.offset >= 0 else committed.get(tp.partition, -1)
            total += max(0, high - (start if start >= 0 else low))
        return total, len(assignment)
    except KafkaException:
        return None, 0


@dataclass(frozen=True)
class AppsOptions:
    bootstrap: str
    apps: tuple[AppSpec, ...]
    topic: str = "deliveries"
    partitions: int = 6
    seed: int = 1
    seconds: float | None = None
    connect_timeout: float = 10.0
    drain_timeout: float = 30.0
    # Partners in the same run (None: consumers only); rate is per partner, as the CLI's.
    partners: int | None = None
    rate: float | None = None
    flush_timeout: float = 30.0
    # The cluster's security settings (SSL, SASL); None: PLAINTEXT to ``bootstrap``.
    settings: ExternalSettings | None = None

    @property
    def total_rate(self) -> float:
        return (self.partners or 0) * (self.rate or 0.0)

    @property
    def target(self) -> str | ExternalSettings:
        return self.settings if self.settings is not None else self.bootstrap


@dataclass
class AppsResult:
    apps: list[AppStats]
    details: list[str]
    elapsed: float
    partners: SimResult | None = None
    target_rate: float = 0.0
    interrupted: bool = False
    caught_up: bool | None = None  # None: nothing to catch up with (no partners, no end)

    @property
    def ok(self) -> bool:
        partners_ok = self.partners is None or self.partners.ok
        return partners_ok and self.caught_up is not False and not any(
            a.fatal for a in self.apps)

    def summary(self) -> str:
        lines: list[str] = []
        if self.partners is not None:
            lines.append(self.partners.summary(self.target_rate))
        for app, detail in zip(self.apps, self.details, strict=True):
            rate = app.consumed / self.elapsed if self.elapsed > 0 else 0.0
            lag = "?" if app.lag is None else str(app.lag)
            line = (f"app {app.spec.name} ({app.spec.consumers} consumer"
                    f"{'s' if app.spec.consumers != 1 else ''}): consumed {app.consumed} "
                    f"unique {app.unique} duplicates {app.duplicates} lost {app.lost} "
                    f"lag {lag} in {self.elapsed:.2f} s, {rate:.1f} updates/s; {detail}")
            if app.undecodable:
                line += f"; {app.undecodable} records not location updates"
            if app.errors:
                line += f"; {app.errors} errors, last: {app.last_error}"
            lines.append(line)
        if self.caught_up is False:
            lines.append("not every app caught up with the partners before the drain timeout")
        if self.interrupted:
            lines.append("(interrupted)")
        return "\n".join(lines)


class _ProgressLine:
    """One line about once a second: partners, then each app (rates over the last line)."""

    def __init__(self, apps: Sequence[RemoteApp], partners: RemotePartners | None,
                 progress: TextIO, now: float) -> None:
        self.apps = apps
        self.partners = partners
        self.progress = progress
        self._at = now
        self._next = now + 1.0
        self._acked = 0
        self._consumed = [0] * len(apps)

    def __call__(self, now: float) -> None:
        if now < self._next:
            return
        dt = now - self._at
        parts: list[str] = []
        if self.partners is not None:
            p = self.partners
            acked = p.acked
            parts.append(f"partners: sent {p.sent} acked {acked} "
                         f"rate {(acked - self._acked) / dt:.1f}/s errors {p.errors}")
            self._acked = acked
        for i, app in enumerate(self.apps):
            s = app.stats()
            parts.append(f"{s.spec.name}: consumed {s.consumed} "
                         f"rate {(s.consumed - self._consumed[i]) / dt:.1f}/s "
                         f"dup {s.duplicates} lost {s.lost} "
                         f"lag {'?' if s.lag is None else s.lag}")
            self._consumed[i] = s.consumed
        self._at, self._next = now, now + 1.0
        print(" | ".join(parts), file=self.progress, flush=True)


def _caught_up(apps: Sequence[RemoteApp], partitions: int, since: float) -> bool:
    for app in apps:
        s = app.stats()
        if s.lag != 0 or s.assigned < partitions or s.lag_at <= since:
            return False
    return True


def run_apps(options: AppsOptions, progress: TextIO,
             stop: Callable[[], bool] = lambda: False) -> AppsResult:
    """Run the apps (and partners) until Ctrl-C, ``stop()`` or the end (module contract)."""
    if not options.apps:
        raise ValueError("no app to run")
    target = options.target
    partitions = ensure_topic(target, options.topic, options.partitions,
                              options.connect_timeout)
    city = generate_city(options.seed)
    apps = [RemoteApp(target, spec, options.topic, city) for spec in options.apps]
    partners: RemotePartners | None = None
    if options.partners is not None:
        if options.rate is None:
            raise ValueError("partners need a rate")
        limit = (math.floor(options.seconds * options.total_rate)
                 if options.seconds is not None else None)
        partners = RemotePartners(
            target, options.topic, options.partners, options.total_rate,
            options.seed, limit=limit, partitions=options.partitions,
            connect_timeout=options.connect_timeout, flush_timeout=options.flush_timeout)
    interrupt = StopOnInterrupt()
    start = time.monotonic()
    partners_done_at: float | None = None
    caught_up: bool | None = None
    with interrupt:
        try:
            for app in apps:
                app.start()
            if partners is not None:
                partners.start()
            line = _ProgressLine(apps, partners, progress, start)
            while not (interrupt.requested or stop()):
                time.sleep(0.05)
                now = time.monotonic()
                line(now)
                if options.seconds is None or now - start < options.seconds:
                    continue
                if partners is None:
                    break
                if partners_done_at is None:
                    if partners.running:
                        continue  # still sending or flushing its last updates
                    partners_done_at = now
                if _caught_up(apps, partitions, partners_done_at):
                    caught_up = True
                    break
                if now - partners_done_at > options.drain_timeout:
                    caught_up = False
                    break
        finally:
            try:
                for app in apps:
                    app.request_stop()
                if partners is not None:
                    partners.stop()
                for app in apps:
                    app.join()
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                pass
    elapsed = time.monotonic() - start
    partners_result = None
    if partners is not None:
        partners_result = SimResult(
            sent=partners.sent, acked=partners.acked, errors=partners.errors,
            elapsed=(partners_done_at or time.monotonic()) - start,
            interrupted=interrupt.requested, per_partition=Counter(partners.per_partition),
            last_error=partners.last_error)
    return AppsResult(
        apps=[app.stats() for app in apps], details=[app.detail() for app in apps],
        elapsed=elapsed, partners=partners_result, target_rate=options.total_rate,
        interrupted=interrupt.requested, caught_up=caught_up,
    )
