"""The simulation against an external cluster: :class:`ExternalScenario` and the thread it
lives on, :class:`ExternalSimThread`.

``ExternalScenario`` is the twin of :class:`~.scenario.Scenario` for any Kafka-compatible
cluster reached through real confluent-kafka clients with an
:class:`~streamscope.core.monitor.external.ExternalSettings` (its
:meth:`~streamscope.core.monitor.external.ExternalSettings.client_config`: SSL and SASL
clusters too). It offers the same commands and the same frozen
:class:`~.scenario.ScenarioView`, so the Sim page, the simulation service and the lesson
player drive either alike. Contract:

* It lives on an event loop that is NOT the embedded broker's (the
  :class:`ExternalSimThread`'s own): commands are coroutines run there; every blocking
  client call goes to a worker thread (``asyncio.to_thread``) or runs on the clients' own
  threads, so the loop never waits on the network.
* Partners: :class:`~.remote_partners.RemotePartners` (one producer on its own thread;
  creates a missing topic with ``partitions``). Apps: :class:`~.external_apps.ExternalApp`
  (one consumer thread per member). ``seed``, :meth:`reseed`, :meth:`set_speed`,
  :meth:`retune`, :meth:`lunch_rush`, ``limit`` mean what they mean on ``Scenario``.
* A probe thread (started with the first partners or app, stopped by :meth:`close`)
  asks the cluster about once a second (``PROBE_S``) for the partition counts and the
  high watermarks of the topics in use and each app's committed offsets (one Metadata,
  two ListOffsets, one OffsetFetch per group) and sets each app's lag with the one lag
  definition (:func:`~streamscope.core.groups.partition_lag`; a partition with no commit
  counts from the log start, or the end with ``latest``). Its last failure is
  :attr:`probe_error` (one line). Lag is therefore as fresh as the last probe, and as
  right as the cluster's high watermarks.
* :meth:`view` is cheap (no I/O): counters the client threads keep and the probe's last
  figures. ``PartnersView.sent`` counts updates handed to the producer, ``acked`` and
  ``per_partition`` the acknowledged ones; ``real_client`` is always True.
* Lesson helpers (also on ``Scenario``): :meth:`create_topic` (kept if it exists),
  :meth:`partition_count`, :meth:`read_topic` (reads every partition from its start to
  its end with an assigned consumer: no group joined, nothing committed) and
  :meth:`produce` (records to named partitions, each acknowledged or the call fails).
* :meth:`reset` stops the partners, closes every app (members leave), removes the
  database apps' SQLite files, deletes the apps' groups and the named topics on the cluster (what the cluster refuses is logged, not
  raised) and forgets the partners. :meth:`close` does what reset does minus deleting,
  then stops the probe: what a switch to another target needs.

``ExternalSimThread`` owns one loop on one daemon thread with one ``ExternalScenario``:
:meth:`~ExternalSimThread.submit` runs ``fn(scenario)`` there (awaited when it returns an
awaitable) and returns a ``concurrent.futures.Future``; :meth:`~ExternalSimThread.stop`
closes the scenario (bounded), stops the loop and joins the thread. Nothing here touches
the embedded broker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from streamscope.core.groups import partition_lag, total_lag
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.sim.city import City, generate_city
from streamscope.core.sim.consumers import AppKind, AppSink, CommitMode
from streamscope.core.sim.external_apps import EmbeddedOnly, ExternalApp
from streamscope.core.sim.remote import client_config
from streamscope.core.sim.remote_partners import RemotePartners
from streamscope.core.sim.runner import MAX_SPEED
from streamscope.core.sim.scenario import (
    RATE_WINDOW_S,
    PartnersView,
    ScenarioBase,
    ScenarioView,
    _unlink_db,
)

__all__ = ["EmbeddedOnly", "ExternalScenario", "ExternalSimThread"]

log = logging.getLogger(__name__)

PROBE_S = 1.0
READ_TIMEOUT_S = 20.0  # reading a lesson topic back: at most this long
# A Record to produce to a named partition: (partition, key, value, timestamp ms).
Record = tuple[int, bytes | None, bytes | None, int]


class _Probe:
    """The probe thread: partition counts and lags of what the scenario uses."""

    def __init__(self, scenario: ExternalScenario) -> None:
        self.scenario = scenario
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-ext-probe", daemon=True)
        self.counts: dict[str, int] = {}
        self.error = ""

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(15.0)

    def _run(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(client_config(self.scenario.settings))
        while not self._stop.is_set():
            try:
                self._once(admin)
                self.error = ""
            except Exception as exc:  # noqa: BLE001 - shown as the probe's error, tried again
                self.error = _reason(exc)
            self._stop.wait(PROBE_S)

    def _once(self, admin: Any) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        sc = self.scenario
        apps = list(sc._apps.values())
        topics = {a.topic for a in apps}
        if sc._partners is not None:
            topics.add(sc._partners.topic)
        if not topics:
            return
        timeout = sc.timeout_s
        metadata = admin.list_topics(timeout=timeout)
        counts = {t: len(metadata.topics[t].partitions) for t in topics
                  if t in metadata.topics and metadata.topics[t].error is None}
        self.counts = counts
        tps = [(t, p) for t, n in counts.items() for p in range(n)]
        if not tps or not apps:
            return
        ends = _offsets(admin, tps, OffsetSpec.latest(), timeout)
        starts = _offsets(admin, tps, OffsetSpec.earliest(), timeout)
        futures = {
            a.group: admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(
                    a.group, [TopicPartition(a.topic, p) for p in range(counts.get(a.topic, 0))])],
                request_timeout=timeout)[a.group]
            for a in apps if counts.get(a.topic)}
        for app in apps:
            fut = futures.get(app.group)
            if fut is None:
                continue
            committed = {tp.partition: tp.offset
                         for tp in fut.result(timeout + 1).topic_partitions or ()}
            lags = []
            for p in range(counts[app.topic]):
                end = ends.get((app.topic, p), 0)
                offset = committed.get(p, -1)
                if offset < 0:
                    offset = (starts.get((app.topic, p), 0) if app.offset_reset == "earliest"
                              else end)
                lags.append(partition_lag(offset, end))
            app.lag = total_lag(lags)


def _offsets(admin: Any, tps: list[tuple[str, int]], spec: Any,
             timeout: float) -> dict[tuple[str, int], int]:
    from confluent_kafka import TopicPartition

    futures = admin.list_offsets({TopicPartition(t, p): spec for t, p in tps},
                                 request_timeout=timeout)
    out = {}
    for tp, fut in futures.items():
        out[(tp.topic, tp.partition)] = fut.result(timeout + 1).offset
    return out


def _reason(exc: BaseException) -> str:
    """One line for a user: a KafkaError's text, else the exception's."""
    arg = exc.args[0] if exc.args else None
    text = arg.str() if hasattr(arg, "str") else str(exc) or type(exc).__name__
    return " ".join(text.split())


class ExternalScenario(ScenarioBase):
    """The simulation on an external cluster (see the module contract)."""

    external = True
    broker = None  # no embedded broker: lesson actions that need one refuse to run
    runner = None  # no in-process partners

    def __init__(
        self,
        settings: ExternalSettings,
        *,
        seed: int = 1,
        wall: Callable[[], float] = time.time,
        data_dir: Path | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.wall = wall
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        self.city: City = generate_city(seed)
        self.speed = 1.0
        self._partners: RemotePartners | None = None
        self._rate = 0.0  # the nominal total rate (the partners send rate x speed)
        self._apps: dict[str, ExternalApp] = {}
        self._groups_used: set[str] = set()
        self._samples: deque[tuple[float, int]] = deque()
        self._probe = _Probe(self)
        self._closed = False
        self._admin_client: Any = None  # one AdminClient for the lesson helpers (thread-safe)
        self._db_files: set[Path] = set()

    def _admin(self) -> Any:
        """The scenario's AdminClient, made on first use (worker threads only)."""
        if self._admin_client is None:
            from confluent_kafka.admin import AdminClient

            self._admin_client = AdminClient(client_config(self.settings))
        return self._admin_client

    def bootstrap(self) -> str:
        return self.settings.bootstrap

    @property
    def probe_error(self) -> str:
        return self._probe.error

    # --- partners -------------------------------------------------------------------------

    async def start_partners(
        self, *, topic: str = "deliveries", partitions: int = 6, partners: int = 50,
        rate: float = 100.0, limit: int | None = None, real_client: bool = True,
    ) -> None:
        """Start the partners on the cluster (replacing running ones); ``real_client`` is
        accepted for the embedded scenario's signature: here every client is real."""
        if partitions < 1 or partners < 1:
            raise ValueError("partitions and partners must be positive")
        self._check_open()
        await self.stop_partners()
        self._samples.clear()
        remote = RemotePartners(
            self.settings, topic=topic, partners=partners, rate=rate * self.speed,
            seed=self.seed, limit=limit, partitions=partitions,
            connect_timeout=self.timeout_s)
        await asyncio.to_thread(remote.start)  # raises if the cluster does not answer
        self._partners, self._rate = remote, float(rate)
        self._probe.start()

    async def stop_partners(self) -> None:
        if self._partners is not None:
            await asyncio.to_thread(self._partners.stop)

    def retune(self, *, rate: float | None = None, partners: int | None = None) -> None:
        if self._partners is not None:
            self._partners.retune(rate=None if rate is None else rate * self.speed,
                                  partners=partners)
            if rate is not None:
                self._rate = float(rate)

    def set_speed(self, speed: float) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be in (0, {MAX_SPEED:g}]")
        self.speed = float(speed)
        if self._partners is not None:
            self._partners.retune(rate=self._rate * speed)

    def lunch_rush(self, multiplier: float, seconds: float) -> None:
        if self._partners is not None:
            self._partners.lunch_rush(multiplier, seconds)

    @property
    def partners_sent(self) -> int:
        return self._partners.sent if self._partners is not None else 0

    @property
    def partners_running(self) -> bool:
        return self._partners is not None and self._partners.running

    # --- apps -----------------------------------------------------------------------------

    async def add_app(
        self, kind: AppKind, group: str, *, topic: str = "deliveries", consumers: int = 1,
        assignor: str = "range", commit: CommitMode = "after", delay_s: float = 0.0,
        session_timeout_ms: int = 6000, offset_reset: str = "earliest",
        sink: AppSink | None = None,
    ) -> ExternalApp:
        """Start an app of ``consumers`` real consumers in its own group ``group``."""
        self._check_open()
        if group in self._apps:
            raise ValueError(f"an app with group {group!r} is already running")
        if kind == "database" and sink is None:
            from streamscope.core.sim.database import DatabaseSink

            path = await asyncio.to_thread(self._db_path, group)
            self._db_files.add(path)
            sink = DatabaseSink(path, wall=self.wall)
        app = ExternalApp(
            self.settings, kind=kind, group=group, topic=topic, city=self.city,
            assignor=assignor, commit=commit, delay_s=delay_s,
            session_timeout_ms=session_timeout_ms, offset_reset=offset_reset, wall=self.wall,
            sink=sink, loop=asyncio.get_running_loop(),
        )
        self._apps[group] = app
        self._groups_used.add(group)
        self._probe.start()
        if consumers > 0:
            await app.add_consumers(consumers)
        return app

    async def _stop_all(self) -> None:
        await self.stop_partners()
        apps = list(self._apps.values())
        self._apps.clear()
        closed = await asyncio.gather(*(a.close() for a in apps), return_exceptions=True)
        for app, outcome in zip(apps, closed, strict=True):
            if isinstance(outcome, BaseException):
                log.error("closing app %s failed", app.group, exc_info=outcome)

    async def reset(self, *, delete_topics: Sequence[str] = ()) -> None:
        """Stop partners, close apps, delete their groups and the named topics."""
        await self._stop_all()
        groups = sorted(self._groups_used)
        self._groups_used.clear()
        files, self._db_files = sorted(self._db_files), set()
        if files:
            await asyncio.to_thread(lambda: [_unlink_db(f) for f in files])
        if groups or delete_topics:
            await asyncio.to_thread(self._delete, groups, tuple(delete_topics))
        self._partners = None
        self._samples.clear()

    def _delete(self, groups: list[str], topics: tuple[str, ...]) -> None:
        from confluent_kafka import KafkaError, KafkaException

        admin = self._admin()
        timeout = self.timeout_s
        if groups:
            for gid, fut in admin.delete_consumer_groups(groups, request_timeout=timeout).items():
                try:
                    fut.result(timeout + 1)
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                        log.warning("reset: group %s not deleted: %s", gid, _reason(exc))
        if topics:
            known = admin.list_topics(timeout=timeout).topics
            present = [t for t in topics if t in known]
            if present:
                futures = admin.delete_topics(present, operation_timeout=timeout,
                                              request_timeout=timeout)
                for topic, fut in futures.items():
                    try:
                        fut.result(timeout + 1)
                    except KafkaException as exc:
                        log.warning("reset: topic %s not deleted: %s", topic, _reason(exc))
                self._wait_gone(admin, present)

    def _wait_gone(self, admin: Any, topics: list[str]) -> None:
        """Deleting is asynchronous on most clusters: wait (bounded) until Metadata agrees,
        so a lesson that recreates the topic at once does not find the old one."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            known = admin.list_topics(timeout=self.timeout_s).topics
            if not any(t in known for t in topics):
                return
            time.sleep(0.1)  # polling the cluster's metadata, with a deadline

    async def close(self) -> None:
        """Stop the partners and close every app (no deletion), then the probe."""
        self._closed = True
        await self._stop_all()
        await asyncio.to_thread(self._probe.stop)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the simulation on this cluster was closed")

    # --- lesson helpers -------------------------------------------------------------------

    async def partition_count(self, topic: str) -> int | None:
        """The topic's partition count on the cluster; None if it does not exist."""
        def ask() -> int | None:
            known = self._admin().list_topics(timeout=self.timeout_s).topics.get(topic)
            return len(known.partitions) if known is not None and known.error is None else None

        return await asyncio.to_thread(ask)

    async def create_topic(self, topic: str, partitions: int,
                           configs: Mapping[str, str] | None = None) -> None:
        """Create the topic (kept as it is when it exists)."""
        def create() -> None:
            from confluent_kafka import KafkaError, KafkaException
            from confluent_kafka.admin import NewTopic

            fut = self._admin().create_topics(
                [NewTopic(topic, num_partitions=partitions, config=dict(configs or {}))],
                operation_timeout=self.timeout_s, request_timeout=self.timeout_s)[topic]
            try:
                fut.result(self.timeout_s + 1)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"cannot create topic {topic}: {_reason(exc)}") from None

        await asyncio.to_thread(create)

    async def read_topic(self, topic: str, *, offsets: bool = False) -> list[list[tuple]]:
        """Every partition's (key, value) pairs in offset order, or (offset, key, value)."""
        return await asyncio.to_thread(self._read, topic, offsets)

    def _read(self, topic: str, offsets: bool) -> list[list[tuple]]:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        known = self._admin().list_topics(timeout=self.timeout_s).topics.get(topic)
        count = len(known.partitions) if known is not None and known.error is None else 0
        if not count:
            return []
        consumer = Consumer({
            **client_config(self.settings),
            # Assigned, never subscribed: the group is never joined and nothing committed.
            "group.id": "streamscope-lesson-reader", "enable.auto.commit": False,
            "enable.partition.eof": True, "client.id": "streamscope-lesson-reader",
        })
        out: list[list[tuple]] = [[] for _ in range(count)]
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
            pending = set(range(count))
            deadline = time.monotonic() + READ_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                for msg in consumer.consume(500, 0.2):
                    err = msg.error()
                    p = msg.partition()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            pending.discard(p)
                        continue
                    item = ((msg.offset(), msg.key(), msg.value()) if offsets
                            else (msg.key(), msg.value()))
                    out[p].append(item)
        finally:
            consumer.close()
        return out

    async def produce(self, topic: str, records: Sequence[Record], *,
                      client_id: str = "streamscope-lesson") -> None:
        """Produce ``records`` to their partitions; raises unless every one is acked."""
        def send() -> None:
            from confluent_kafka import Producer

            producer = Producer({**client_config(self.settings), "client.id": client_id,
                                 "message.timeout.ms": int(self.timeout_s * 1000)})
            errors: list[str] = []

            def done(err: Any, _msg: Any) -> None:
                if err is not None:
                    errors.append(err.str())

            for partition, key, value, ts in records:
                producer.produce(topic, value, key, partition=partition, timestamp=ts,
                                 on_delivery=done)
            left = producer.flush(self.timeout_s + 1)
            if errors or left:
                raise RuntimeError(f"producing to {topic} failed: "
                                   f"{errors[0] if errors else f'{left} not acknowledged'}")

        await asyncio.to_thread(send)

    # --- the view -------------------------------------------------------------------------

    def view(self) -> ScenarioView:
        at_ms = self.wall() * 1000.0
        return ScenarioView(self._partners_view(),
                            tuple(app.view(at_ms) for app in self._apps.values()),
                            self.city, at_ms)

    def _achieved(self, sent: int) -> float:
        now = time.monotonic()
        samples = self._samples
        samples.append((now, sent))
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
            samples.popleft()
        t0, s0 = samples[0]
        return (sent - s0) / (now - t0) if now > t0 else 0.0

    def _partners_view(self) -> PartnersView | None:
        p = self._partners
        if p is None:
            return None
        count = self._probe.counts.get(p.topic) or p.partition_count
        per = p.per_partition
        sent = p.sent
        return PartnersView(
            running=p.running, topic=p.topic, partitions=count, partners=p.partners,
            rate=self._rate, burst=p.burst, sent=sent, errors=p.errors,
            achieved_rate=self._achieved(sent), real_client=True,
            per_partition=tuple(per.get(i, 0) for i in range(count)),
            limit=p.limit, speed=self.speed, acked=p.acked,
        )


class ExternalSimThread:
    """One event loop on its own thread, holding one :class:`ExternalScenario`."""

    def __init__(self, settings: ExternalSettings, *, seed: int = 1,
                 timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.scenario = ExternalScenario(settings, seed=seed, timeout_s=timeout_s)
        self._thread = threading.Thread(target=self._run, name="sim-external", daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def submit(self, fn: Callable[[ExternalScenario], Any]) -> concurrent.futures.Future:
        """Run ``fn(scenario)`` on the loop (awaited if it returns an awaitable)."""
        async def run() -> Any:
            result = fn(self.scenario)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self, timeout: float = 30.0) -> None:
        """Close the scenario (partners stop, members leave), stop the loop, join (blocks)."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self.scenario.close(), self.loop)
            try:
                fut.result(timeout)
            except Exception:  # noqa: BLE001 - stopping anyway
                log.exception("closing the simulation on %s failed", self.settings.bootstrap)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        elif not self.loop.is_closed():
            self.loop.close()
