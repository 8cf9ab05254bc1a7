"""``Scenario``: the one running simulation on a node: delivery partners and consumer apps.

Contract:

* Lives on the broker's loop (every method but :meth:`Scenario.view` and the plain
  setters is called there; the GUI reaches it through its broker service). It owns at
  most one set of partners (a :class:`~.runner.SimRunner` in-process, or, with
  ``real_client=True``, ``core/sim/remote_partners.RemotePartners`` sending through
  confluent-kafka over TCP to ``bootstrap()`` from its own thread) and any number of
  :class:`~.consumers.SimApp` s, one consumer group each, keyed by group id.
* :meth:`start_partners` creates the topic with ``partitions`` partitions if it is missing
  (an existing topic keeps its own); ``rate`` is the total updates/s; ``limit`` makes the
  partners send exactly that many updates, then stop by themselves. The same seed gives
  the same city, keys, partitions and counts. Starting again replaces the partners (the
  old ones are stopped first); a new runner starts a fresh fleet from the seed.
* :meth:`reseed` sets the seed and the city generated from it, only while no partners
  run (``RuntimeError`` otherwise): partners started afterwards drive the new city with
  the new seed (apps added afterwards get the new city; running apps keep theirs).
* :meth:`set_speed` (a lesson's slow motion, 0 < speed) scales the partners' rate
  without changing the figure shown as ``rate``; it applies to partners started later too.
* :meth:`reset` stops the partners, closes every app, evicts any dead members, deletes
  the apps' groups (with their committed offsets) and the named topics: the clean state a
  lesson restarts from.
* Lesson helpers, also offered by the external cluster's twin
  (:class:`~.external.ExternalScenario`) so a lesson runs on either:
  :meth:`partition_count`, :meth:`create_topic` (kept if it exists), :meth:`read_topic`
  (every record of a topic, from the log) and :meth:`produce` (records to named
  partitions). ``external`` is False here, True on the twin.
* :meth:`view` is cheap (no I/O, no await, no lock: broker-loop data read from the loop)
  and returns frozen data. ``PartnersView.achieved_rate`` is measured between successive
  ``view`` calls over about the last :data:`RATE_WINDOW_S` seconds of the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from streamscope.core.broker import Broker
from streamscope.core.clients.clock import LOOP_CLOCK, Clock
from streamscope.core.clients.producer import Producer
from streamscope.core.errors import ErrorCode
from streamscope.core.groups import GroupCoordinator
from streamscope.core.records import iter_all_records, iter_batches
from streamscope.core.sim.city import City, generate_city
from streamscope.core.sim.consumers import AppKind, AppSink, AppView, CommitMode, SimApp
from streamscope.core.sim.runner import MAX_SPEED, SimRunner

if TYPE_CHECKING:
    from streamscope.core.sim.remote_partners import RemotePartners

log = logging.getLogger(__name__)

RATE_WINDOW_S = 2.0
_READ_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class PartnersView:
    running: bool
    topic: str
    partitions: int
    partners: int
    rate: float  # total updates/s asked for (before burst and speed)
    burst: float  # the lunch-rush multiplier in force (1.0 outside a rush)
    sent: int
    errors: int
    achieved_rate: float  # updates/s over about the last RATE_WINDOW_S seconds
    real_client: bool
    per_partition: tuple[int, ...]  # updates sent to each partition
    limit: int | None = None
    speed: float = 1.0
    # Acknowledged by the broker (real clients; None in-process, where ``sent`` is the
    # count appended and failures are ``errors``).
    acked: int | None = None


@dataclass(frozen=True, slots=True)
class ScenarioView:
    partners: PartnersView | None  # None until partners were started once
    apps: tuple[AppView, ...]  # in the order they were added
    city: City
    at_ms: float  # wall time of the view, epoch ms


class _Remote:
    """A RemotePartners and the nominal rate (it only knows the rate x speed it sends)."""

    def __init__(self, partners: RemotePartners, rate: float) -> None:
        self.partners = partners
        self.rate = rate
        self.started = False


class ScenarioBase:
    """What the embedded and the external simulation share: the seed and its city, their
    consumer apps by group, and the database apps' files (``data_dir``: a temporary
    directory made on first use)."""

    seed: int
    city: City
    data_dir: Path | None
    _apps: dict

    @property
    def partners_running(self) -> bool:
        raise NotImplementedError

    def reseed(self, seed: int) -> None:
        """Use ``seed`` from now on: its city, and the partners' drives when they start.

        Only while the partners are stopped: a running fleet drives the old city, so
        changing it under them would mix two cities in one stream.
        """
        if self.partners_running:
            raise RuntimeError("stop the partners before reseeding the scenario")
        if seed != self.seed:
            self.seed = seed
            self.city = generate_city(seed)


    def _db_path(self, group: str) -> Path:
        """A fresh file for ``group``'s database (worker thread: it touches the disk)."""
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="streamscope-sim-db-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in group)
        path = self.data_dir / f"{safe}.sqlite3"
        _unlink_db(path)
        return path

    def app(self, group: str):
        """The app of ``group``; KeyError if there is none."""
        return self._apps[group]

    @property
    def apps(self) -> tuple:
        return tuple(self._apps.values())

    async def remove_app(self, group: str) -> None:
        """Close the app (its members leave); its committed offsets stay."""
        app = self._apps.pop(group)
        await app.close()


class Scenario(ScenarioBase):
    external = False  # the embedded broker (see core/sim/external.py for a cluster's twin)

    def __init__(
        self,
        broker: Broker,
        groups: GroupCoordinator,
        *,
        seed: int = 1,
        clock: Clock = LOOP_CLOCK,
        wall: Callable[[], float] = time.time,
        bootstrap: Callable[[], str | None] = lambda: None,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: where "database" apps keep their SQLite files (``<group>.sqlite3``);
        a temporary directory, made on first use, by default."""
        self.broker = broker
        self.groups = groups
        self.seed = seed
        self.clock = clock
        self.wall = wall
        self.bootstrap = bootstrap
        self.data_dir = data_dir
        self._db_files: set[Path] = set()
        self.city: City = generate_city(seed)
        self.speed = 1.0
        self._runner: SimRunner | None = None
        self._remote: _Remote | None = None
        self._apps: dict[str, SimApp] = {}
        self._groups_used: set[str] = set()
        self._samples: deque[tuple[float, int]] = deque()

    # --- partners ---------------------------------------------------------------------

    async def start_partners(
        self, *, topic: str = "deliveries", partitions: int = 6, partners: int = 50,
        rate: float = 100.0, limit: int | None = None, real_client: bool = False,
    ) -> None:
        """Start delivery partners (replacing running ones); creates a missing topic."""
        if partitions < 1 or partners < 1:
            raise ValueError("partitions and partners must be positive")
        await self.stop_partners()
        self._runner = self._remote = None
        self._samples.clear()
        if self.broker.topic_partition_count(topic) is None:
            self.broker.create_topic(topic, partitions)
        partitions = self.broker.topic_partition_count(topic) or partitions
        if real_client:
            await self._start_remote(topic, partitions, partners, rate, limit)
            return
        runner = SimRunner(
            self.broker, topic=topic, partitions=partitions, partners=partners, rate=rate,
            seed=self.seed, city=self.city, clock=self.clock, wall=self.wall, limit=limit,
            speed=self.speed,
        )
        self._runner, self._remote = runner, None
        await runner.start()

    async def _start_remote(self, topic: str, partitions: int, partners: int, rate: float,
                            limit: int | None) -> None:
        from streamscope.core.sim.remote_partners import RemotePartners

        bootstrap = self.bootstrap()
        if not bootstrap:
            raise RuntimeError("real-client partners need the broker to listen on a port")
        remote = RemotePartners(
            bootstrap=bootstrap, topic=topic, partners=partners, rate=rate * self.speed,
            seed=self.seed, limit=limit, partitions=partitions,
        )
        state = _Remote(remote, float(rate))
        await asyncio.to_thread(remote.start)  # raises if the broker does not answer
        state.started = True
        self._runner, self._remote = None, state

    def retune(self, *, rate: float | None = None, partners: int | None = None) -> None:
        """Change the running partners' total rate and/or count (no-op without partners)."""
        if self._runner is not None:
            self._runner.retune(rate=rate, partners=partners)
        elif self._remote is not None:
            self._remote.partners.retune(
                rate=None if rate is None else rate * self.speed, partners=partners
            )
            if rate is not None:
                self._remote.rate = float(rate)

    def set_speed(self, speed: float) -> None:
        """Slow motion: partners send ``rate x speed`` per second (now and when started)."""
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be in (0, {MAX_SPEED:g}]")
        self.speed = float(speed)
        if self._runner is not None:
            self._runner.retune(speed=speed)
        elif self._remote is not None:
            self._remote.partners.retune(rate=self._remote.rate * speed)

    def lunch_rush(self, multiplier: float, seconds: float) -> None:
        """Multiply the rate for the next ``seconds`` (no-op without partners)."""
        if self._runner is not None:
            self._runner.lunch_rush(multiplier, seconds)
        elif self._remote is not None:
            self._remote.partners.lunch_rush(multiplier, seconds)

    async def stop_partners(self) -> None:
        """Stop sending (the partners' view stays, not running, with its final counts)."""
        if self._runner is not None:
            await self._runner.stop()
        if self._remote is not None and self._remote.started:
            self._remote.started = False
            await asyncio.to_thread(self._remote.partners.stop)

    @property
    def runner(self) -> SimRunner | None:
        """The in-process partners, if that is what runs (tests, lessons)."""
        return self._runner

    @property
    def partners_sent(self) -> int:
        if self._runner is not None:
            return self._runner.sent
        if self._remote is not None:
            return self._remote.partners.sent
        return 0

    @property
    def partners_running(self) -> bool:
        if self._runner is not None:
            return self._runner.running
        return self._remote is not None and self._remote.partners.running

    # --- apps -------------------------------------------------------------------------

    async def add_app(
        self, kind: AppKind, group: str, *, topic: str = "deliveries", consumers: int = 1,
        assignor: str = "range", commit: CommitMode = "after", delay_s: float = 0.0,
        session_timeout_ms: int = 6000, offset_reset: str = "earliest",
        sink: AppSink | None = None,
    ) -> SimApp:
        """Start an app of ``consumers`` members in its own group ``group``.

        A ``"database"`` app without a ``sink`` gets a ``DatabaseSink`` with its defaults.
        """
        if group in self._apps:
            raise ValueError(f"an app with group {group!r} is already running")
        if kind == "database" and sink is None:
            from streamscope.core.sim.database import DatabaseSink

            path = await asyncio.to_thread(self._db_path, group)
            self._db_files.add(path)
            sink = DatabaseSink(path, wall=self.wall)
        app = SimApp(
            self.broker, self.groups, kind=kind, group=group, topic=topic, city=self.city,
            assignor=assignor, commit=commit, delay_s=delay_s,
            session_timeout_ms=session_timeout_ms, offset_reset=offset_reset,
            clock=self.clock, wall=self.wall, sink=sink,
        )
        self._apps[group] = app
        self._groups_used.add(group)
        if consumers > 0:
            await app.add_consumers(consumers)
        return app

    async def reset(self, *, delete_topics: Sequence[str] = ()) -> None:
        """Stop partners, close apps, delete their groups and the named topics."""
        await self.stop_partners()
        apps = list(self._apps.values())
        self._apps.clear()
        closed = await asyncio.gather(*(app.close() for app in apps), return_exceptions=True)
        for app, outcome in zip(apps, closed, strict=True):
            if isinstance(outcome, BaseException):
                # One app that fails to close must not keep the others (or the reset) back.
                log.error("scenario reset: closing app %s failed", app.group, exc_info=outcome)
                for member in app.live_members():
                    member.kill()
            await app.evict_dead()
        groups = sorted(g for g in self._groups_used if self.groups.state_of(g) is not None)
        if groups:
            results = await self.groups.delete_groups(groups)
            for gid, err in results.items():
                if err != ErrorCode.NONE:
                    log.warning("scenario reset: group %s not deleted: %s", gid, err.name)
        self._groups_used.clear()
        files, self._db_files = sorted(self._db_files), set()
        if files:
            await asyncio.to_thread(lambda: [_unlink_db(f) for f in files])
        for topic in delete_topics:
            if self.broker.topic_partition_count(topic) is not None:
                self.broker.delete_topic(topic)
        self._runner = None
        self._remote = None
        self._samples.clear()

    # --- lesson helpers (the same on ExternalScenario) ---------------------------------

    async def partition_count(self, topic: str) -> int | None:
        """The topic's partition count; None if it does not exist."""
        return self.broker.topic_partition_count(topic)

    async def create_topic(self, topic: str, partitions: int,
                           configs: Mapping[str, str] | None = None) -> None:
        """Create the topic (kept as it is when it exists)."""
        if self.broker.topic_partition_count(topic) is None:
            self.broker.create_topic(topic, partitions, dict(configs) if configs else None)

    async def read_topic(self, topic: str, *, offsets: bool = False) -> list[list[tuple]]:
        """Every partition's (key, value) pairs in offset order; (offset, key, value) with
        ``offsets``. Raw batches are read on the loop (lesson-sized topics), decoded in a
        worker thread."""
        broker = self.broker
        count = broker.topic_partition_count(topic)
        if count is None:
            return []
        raw: list[list[bytes]] = []
        for p in range(count):
            start, end = broker.partition_offsets(topic, p)
            chunks: list[bytes] = []
            offset = start
            while offset < end:
                data = broker.read_stored(topic, p, offset, _READ_BYTES)
                if not data:
                    break
                chunks.append(data)
                last = offset - 1
                for header, _batch in iter_batches(data):  # headers only: no decoding here
                    last = header.last_offset
                if last < offset:
                    break
                offset = last + 1
                await asyncio.sleep(0)
            raw.append(chunks)

        def decode() -> list[list[tuple]]:
            if offsets:
                return [[(r.offset, r.key, r.value) for chunk in chunks
                         for r in iter_all_records(chunk)] for chunks in raw]
            return [[(r.key, r.value) for chunk in chunks for r in iter_all_records(chunk)]
                    for chunks in raw]

        return await asyncio.to_thread(decode)

    async def produce(self, topic: str, records: Sequence[tuple[int, bytes | None, bytes | None,
                                                                int]], *,
                      client_id: str = "streamscope-lesson") -> None:
        """Produce (partition, key, value, timestamp ms) records through the in-process
        producer; raises unless every one was appended."""
        producer = Producer(self.broker, client_id=client_id)
        try:
            futures = [await producer.send(topic, value, key, partition=partition,
                                           timestamp_ms=ts)
                       for partition, key, value, ts in records]
            await producer.flush()
            for fut in futures:
                fut.result()  # a failed append is the caller's error
        finally:
            await producer.close()

    # --- the view ---------------------------------------------------------------------

    def view(self) -> ScenarioView:
        at_ms = self.wall() * 1000.0
        return ScenarioView(
            self._partners_view(), tuple(app.view(at_ms) for app in self._apps.values()),
            self.city, at_ms,
        )

    def _achieved(self, sent: int) -> float:
        now = self.clock.time()
        samples = self._samples
        samples.append((now, sent))
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
            samples.popleft()
        t0, s0 = samples[0]
        return (sent - s0) / (now - t0) if now > t0 else 0.0

    def _partners_view(self) -> PartnersView | None:
        if self._runner is not None:
            r = self._runner
            count = self.broker.topic_partition_count(r.topic) or r.partitions
            return PartnersView(
                running=r.running, topic=r.topic, partitions=count, partners=r.fleet.size,
                rate=r.rate, burst=r.burst, sent=r.sent, errors=r.errors,
                achieved_rate=self._achieved(r.sent), real_client=False,
                per_partition=tuple(r.sent_per_partition.get(p, 0) for p in range(count)),
                limit=r.limit, speed=r.speed,
            )
        if self._remote is not None:
            p = self._remote.partners
            count = self.broker.topic_partition_count(p.topic) or p.partition_count
            per = p.per_partition  # acknowledged per partition (a copy)
            sent = p.sent
            return PartnersView(
                running=p.running, topic=p.topic, partitions=count, partners=p.partners,
                rate=self._remote.rate, burst=p.burst, sent=sent, errors=p.errors,
                achieved_rate=self._achieved(sent), real_client=True,
                per_partition=tuple(per.get(i, 0) for i in range(count)),
                limit=p.limit, speed=self.speed, acked=p.acked,
            )
        return None


def _unlink_db(path: Path) -> None:
    """Remove an SQLite database with its WAL and shared-memory files."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
