"""Lesson 6, "why not write straight to the database": two ways into a real SQLite file.

Contract:

* Both writers store each :class:`~.partners.LocationUpdate` as one row of the table
  ``locations`` in a real SQLite file, in WAL mode with ``synchronous=FULL`` (each commit
  is fsynced: a committed row survives a power cut). The schema and the settings are the
  same for both, so the only difference between the paths is how rows are grouped into
  transactions.
* :class:`DatabaseSink` (the "database" consumer app's sink, fed by a consumer group):
  ``await process(updates)`` writes one consumed batch in ONE transaction, in a worker
  thread (``asyncio.to_thread``); calls are serialized (several members of one app share
  the sink, as several instances of one service share its database).
* :class:`DirectWriter` (an app writing each update as it arrives): :meth:`~DirectWriter.offer`
  puts an update in a bounded queue and returns at once; one worker thread writes the
  queue update by update, one transaction (one fsync) each. A full queue refuses the
  offer and counts it (``refused``): memory stays bounded and nothing is dropped silently.
* Both report a :class:`DatabaseView`: rows committed, transactions, offered, refused,
  backlog (offered - rows), writes/s over the last ~2 s and the p99 update-to-visible
  latency (the update's timestamp to the wall time right after its commit) over the last
  10,000 rows. ``view()`` is cheap and safe from the loop while the worker runs.
* :func:`run_db_race` runs the lesson's experiment on a broker: in-process delivery
  partners (:class:`~.runner.SimRunner`, one :class:`~.partners.Fleet` and seed) produce
  to a topic; every update they produce is also offered to a :class:`DirectWriter`
  (the same stream, update for update), while a consumer group writes the topic into a
  :class:`DatabaseSink` in batches. The rate rises step by step, then a drain phase with
  no new updates lets both paths catch up. Per step and path: offered, sustained writes/s,
  p99 update-to-visible latency of the updates produced during the step (however late
  they became visible), backlog and refusals at the step's end: :class:`DbRaceResult`.
  Both files live in ``data_dir`` (one disk). Nothing here blocks the loop: SQLite runs
  in worker threads, the partners and the consumer on the loop.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamscope.core.broker import Broker
from streamscope.core.clients.consumer import Consumer
from streamscope.core.clients.producer import Producer, RecordMetadata
from streamscope.core.groups import GroupCoordinator
from streamscope.core.sim.partners import LocationUpdate, decode_update
from streamscope.core.sim.runner import SimRunner

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS locations (partner TEXT NOT NULL, seq INTEGER NOT NULL, "
    "order_id INTEGER NOT NULL, x REAL NOT NULL, y REAL NOT NULL, speed REAL NOT NULL, "
    "heading REAL NOT NULL, status TEXT NOT NULL, ts INTEGER NOT NULL)"
)
INSERT = "INSERT INTO locations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
LATENCY_WINDOW = 10_000  # rows the live p99 is computed over
RATE_WINDOW_S = 2  # whole seconds the live writes/s is averaged over
P99_EVERY_S = 0.5  # the live p99 is recomputed at most this often
SAMPLE_S = 0.5  # how often a race reports a DbRaceSample
PEAK_S = 0.1  # how often a race checks the backlogs for their peaks
MAX_RACE_SAMPLES = 2_000_000  # latency samples a race may keep per path (16 bytes each)


@dataclass(frozen=True, slots=True)
class DatabaseView:
    path: str  # the SQLite file ("" until a default DatabaseSink first writes)
    rows: int  # rows committed
    transactions: int  # commits
    offered: int  # updates handed to the writer (sink: to process())
    refused: int  # DirectWriter: offers its full queue refused (never written)
    backlog: int  # offered - rows: waiting, being written, or refused
    writes_per_s: float  # rows committed per second over the last ~2 s
    p99_ms: float | None  # update-to-visible over the last <= 10,000 rows


def _row(u: LocationUpdate) -> tuple[object, ...]:
    return (u.partner, u.seq, u.order, u.x, u.y, u.speed, u.heading, u.status, u.ts)


def _connect(path: Path) -> sqlite3.Connection:
    """A connection for one worker thread: WAL, synchronous=FULL, explicit transactions."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(SCHEMA)
    return conn


def _p99(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


class WriterStats:
    """A writer's counters, shared by its worker thread (writes) and the loop (reads),
    under ``lock``. ``produced``/``visible`` (kept only when ``keep_samples`` > 0, and
    for at most that many rows) hold each committed row's update timestamp and commit
    time, in ms, for a race's per-step figures.
    """

    def __init__(self, path: Path | None, wall: Callable[[], float], keep_samples: int) -> None:
        self.path = path
        self.wall = wall
        self.lock = threading.Lock()
        self.rows = 0
        self.transactions = 0
        self.offered = 0
        self.refused = 0
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._per_second: deque[list[int]] = deque(maxlen=RATE_WINDOW_S + 2)  # [second, rows]
        self._keep = keep_samples
        self.produced: list[float] = []
        self.visible: list[float] = []
        self._p99: float | None = None  # the last p99 computed by view(), when, at what rows
        self._p99_at = -math.inf
        self._p99_rows = 0

    def committed(self, produced_ms: Sequence[float]) -> None:
        now = self.wall()
        visible_ms = now * 1000.0
        second = int(now)
        with self.lock:
            self.rows += len(produced_ms)
            self.transactions += 1
            self._latencies.extend(visible_ms - p for p in produced_ms)
            buckets = self._per_second
            if buckets and buckets[-1][0] == second:
                buckets[-1][1] += len(produced_ms)
            else:
                buckets.append([second, len(produced_ms)])
            room = self._keep - len(self.produced)
            if room > 0:
                kept = produced_ms if len(produced_ms) <= room else produced_ms[:room]
                self.produced.extend(kept)
                self.visible.extend([visible_ms] * len(kept))

    def view(self) -> DatabaseView:
        wall = self.wall()
        now = int(wall)
        with self.lock:
            rows, txns, offered, refused = self.rows, self.transactions, self.offered, self.refused
            recent = sum(n for s, n in self._per_second if now - RATE_WINDOW_S <= s < now)
            # Sorting 10,000 latencies costs a millisecond or two: at most every 0.5 s.
            stale = rows != self._p99_rows and wall - self._p99_at >= P99_EVERY_S
            latencies = list(self._latencies) if stale else None
        if latencies is not None:
            self._p99, self._p99_rows, self._p99_at = _p99(latencies), rows, wall
        return DatabaseView(
            str(self.path or ""), rows, txns, offered, refused, offered - rows,
            recent / RATE_WINDOW_S, self._p99,
        )


class DatabaseSink:
    """Writes consumed batches, one transaction per batch (see the module contract)."""

    def __init__(self, path: str | Path | None = None, *, wall: Callable[[], float] = time.time,
                 keep_samples: int = 0) -> None:
        """``path``: the SQLite file; None: a file in a temp dir of its own, made at the
        first write (in the worker thread) and removed by :meth:`close`."""
        self.path = Path(path) if path is not None else None
        self._stats = WriterStats(self.path, wall, keep_samples)
        self._own_dir: Path | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def stats(self) -> WriterStats:
        return self._stats

    async def process(self, updates: Sequence[tuple[LocationUpdate, float]]) -> None:
        """Write ``updates`` ((update, produced_ms) pairs) in one transaction, off the loop."""
        if not updates:
            return
        with self._stats.lock:
            self._stats.offered += len(updates)
        rows = [_row(u) for u, _ in updates]
        produced = [p for _, p in updates]
        async with self._lock:
            if self._closed:
                raise RuntimeError("the database sink is closed")
            write = asyncio.ensure_future(asyncio.to_thread(self._write, rows, produced))
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                # The thread goes on writing: keep the lock until it is done, so close()
                # never closes the connection under it.
                await asyncio.wait([write])
                if not write.cancelled():
                    write.exception()  # retrieved: the cancellation is what propagates
                raise

    def _write(self, rows: list[tuple[object, ...]], produced: list[float]) -> None:
        if self._conn is None:
            if self.path is None:
                self._own_dir = Path(tempfile.mkdtemp(prefix="streamscope-db-"))
                self.path = self._stats.path = self._own_dir / "database.sqlite3"
            self._conn = _connect(self.path)
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._stats.committed(produced)

    def view(self) -> DatabaseView:
        return self._stats.view()

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                await asyncio.to_thread(conn.close)
            if self._own_dir is not None:
                await asyncio.to_thread(shutil.rmtree, self._own_dir, True)
                self._own_dir = None


_Item = tuple[LocationUpdate | bytes, float]


class DirectWriter:
    """Writes each offered update in its own transaction (see the module contract)."""

    def __init__(self, path: str | Path, *, queue_max: int = 100_000,
                 wall: Callable[[], float] = time.time, keep_samples: int = 0) -> None:
        if queue_max < 1:
            raise ValueError("queue_max must be positive")
        self.path = Path(path)
        self._stats = WriterStats(self.path, wall, keep_samples)
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=queue_max)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None  # what stopped the worker, if it failed

    @property
    def stats(self) -> WriterStats:
        return self._stats

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="direct-db-writer", daemon=True)
        self._thread.start()

    def offer(self, update: LocationUpdate, produced_ms: float) -> bool:
        """Queue one update; False (counted in ``refused``) when the queue is full."""
        return self._put((update, produced_ms))

    def offer_encoded(self, value: bytes, produced_ms: float) -> bool:
        """Like :meth:`offer` for an encoded update: the worker decodes it (as an app
        receiving the partner's message would), keeping the decoding off the loop."""
        return self._put((value, produced_ms))

    def _put(self, item: _Item) -> bool:
        stats = self._stats
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with stats.lock:
                stats.offered += 1
                stats.refused += 1
            return False
        with stats.lock:
            stats.offered += 1
        return True

    def _run(self) -> None:
        get = self._queue.get
        stats = self._stats
        try:
            conn = _connect(self.path)
        except BaseException as exc:  # reported through ``error``; the queue just fills
            self.error = exc
            return
        try:
            while not self._stop.is_set():
                try:
                    item, produced_ms = get(timeout=0.1)
                except queue.Empty:
                    continue
                update = decode_update(item) if isinstance(item, bytes) else item
                # A lone INSERT outside BEGIN/COMMIT is its own transaction (autocommit):
                # what an app writing each update as it arrives does.
                conn.execute(INSERT, _row(update))
                stats.committed((produced_ms,))
        except BaseException as exc:
            self.error = exc
        finally:
            conn.close()

    def view(self) -> DatabaseView:
        return self._stats.view()

    async def close(self) -> None:
        """Stop the worker after its current write; what is still queued stays unwritten
        (and counted in the backlog)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)


# --- the race ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PathFigures:
    """One path during one step of a race."""

    offered: int  # updates produced during the step
    writes_per_s: float  # rows committed per second during the step
    p99_ms: float | None  # update-to-visible of the step's updates (None: none produced)
    p99_lower_bound: bool  # True: >1% of them were still not visible when the race ended
    backlog: int  # produced - rows at the step's end (broker path: the lag in records)
    peak_backlog: int  # the largest backlog during the step (checked every 0.1 s)
    refused: int  # refused by the direct writer's full queue by the step's end


@dataclass(frozen=True, slots=True)
class DbStepResult:
    label: str  # "200/s" ... or "drain"
    offered_per_s: float  # the step's target rate (0 for the drain phase)
    seconds: float  # how long the step lasted
    direct: PathFigures
    broker: PathFigures


@dataclass(frozen=True, slots=True)
class DbRaceResult:
    steps: tuple[DbStepResult, ...]  # the load steps, then the drain phase

    @property
    def top(self) -> DbStepResult:
        """The last (highest) load step."""
        loads = [s for s in self.steps if s.offered_per_s > 0]
        return loads[-1]

    def table(self) -> str:
        """The figures as a plain-text table, one line per step, and a legend."""
        head = (f"{'step':>8} {'offered/s':>9} | {'direct w/s':>10} {'p99 ms':>8} "
                f"{'backlog':>7} {'peak':>7} | {'broker w/s':>10} {'p99 ms':>8} "
                f"{'lag':>7} {'peak':>7}")
        lines = [head, "-" * len(head)]
        for s in self.steps:
            offered = s.direct.offered / s.seconds if s.seconds > 0 else 0.0
            d, b = s.direct, s.broker
            lines.append(
                f"{s.label:>8} {offered:>9.0f} | {d.writes_per_s:>10.0f} {_ms(d):>8} "
                f"{d.backlog:>7} {d.peak_backlog:>7} | {b.writes_per_s:>10.0f} {_ms(b):>8} "
                f"{b.backlog:>7} {b.peak_backlog:>7}"
            )
        refused = self.steps[-1].direct.refused if self.steps else 0
        lines += [
            "w/s: rows committed per second during the step.",
            "p99: update timestamp to committed in SQLite, for the updates produced during",
            "  the step (however late); '>' = a lower bound (over 1% never became visible).",
            "backlog/lag: updates produced but not yet in the database at the step's end;",
            "  peak: the largest during the step (checked every 0.1 s).",
            f"Direct-path updates refused by its full queue: {refused}.",
        ]
        return "\n".join(lines)


def _ms(f: PathFigures) -> str:
    if f.p99_ms is None:
        return "-"
    return (">" if f.p99_lower_bound else "") + f"{f.p99_ms:.0f}"


@dataclass(frozen=True, slots=True)
class DbRaceSample:
    """Where a running race stands (about every 0.5 s), for live charts."""

    at_s: float  # seconds since the race started
    step: int  # index into the steps; len(steps) during the drain phase
    label: str
    offered_per_s: float
    direct: DatabaseView  # direct.backlog: produced, not yet written
    broker: DatabaseView  # the sink (its backlog: batches being written)
    broker_lag: int  # produced to the topic, not yet written by the consumer group


class _TeeProducer(Producer):
    """The partners' producer: every update sent to the broker is also offered, as the
    same encoded bytes, to the direct writer, so both paths get the same stream."""

    def __init__(self, broker: Broker, direct: DirectWriter, offered_ms: list[float],
                 keep: int) -> None:
        super().__init__(broker, client_id="streamscope-db-race-partners")
        self._direct = direct
        self._offered_ms = offered_ms
        self._keep = keep

    async def send(  # type: ignore[override]
        self, topic: str, value: bytes | None, key: bytes | None = None, *,
        partition: int | None = None, headers: list[tuple[str, bytes | None]] | None = None,
        timestamp_ms: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        fut = await super().send(topic, value, key, partition=partition, headers=headers,
                                 timestamp_ms=timestamp_ms)
        produced = float(timestamp_ms if timestamp_ms is not None else time.time() * 1000)
        if value is not None:
            self._direct.offer_encoded(value, produced)
            if len(self._offered_ms) < self._keep:
                self._offered_ms.append(produced)
        return fut


async def _consume_into(consumer: Consumer, sink: DatabaseSink, stop: asyncio.Event,
                        batch_max: int) -> None:
    """The database app: poll a batch, decode, write it in one transaction, commit."""
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100, max_records=batch_max)
        if not batches:
            continue
        updates: list[tuple[LocationUpdate, float]] = []
        offsets: dict[tuple[str, int], int] = {}
        for tp, records in batches.items():
            for r in records:
                if r.value is not None:
                    updates.append((decode_update(r.value), float(r.timestamp)))
            offsets[tp] = records[-1].offset + 1
        await sink.process(updates)
        await consumer.commit(offsets)


def _figures(offered: int, latencies: list[float], seconds: float, rows: int, end_of_step: float,
             end_ms: float, backlog: int, peak: int, refused: int) -> PathFigures:
    """A path's figures for one step; ``latencies`` are those of the step's updates that
    became visible (by the end of the race), ``offered`` how many the step produced."""
    p99: float | None = None
    lower = False
    if offered:
        latencies = sorted(latencies)
        index = min(offered - 1, math.ceil(0.99 * offered) - 1)
        if index < len(latencies):
            p99 = latencies[index]
        else:
            # The p99 update never became visible: it is at least this old by now.
            p99 = max(latencies[-1] if latencies else 0.0, end_ms - end_of_step)
            lower = True
    return PathFigures(offered, rows / seconds if seconds > 0 else 0.0, p99, lower,
                       backlog, peak, refused)


@dataclass(frozen=True, slots=True)
class _Mark:
    """Counters at the end of one phase of a race."""

    label: str
    rate: float
    seconds: float
    first: int  # the phase's updates are offered_ms[first:last] (in offer order)
    last: int
    wall_end_ms: float
    direct_rows: int  # rows written during the phase
    broker_rows: int
    direct_backlog: int  # at the phase's end
    broker_backlog: int
    direct_peak: int  # the largest backlog seen during the phase
    broker_peak: int
    refused: int  # by the phase's end


def _step_of(t: float, his: Sequence[float], los: Sequence[float]) -> int:
    """The index of the phase whose [lo, hi) holds ``t``, or -1 (phases are contiguous)."""
    i = bisect.bisect_right(his, t)
    return i if i < len(his) and los[i] <= t else -1


def _latencies_by_step(
    stats: WriterStats, bounds: Sequence[tuple[float, float]],
) -> list[list[float]]:
    """Each step's update-to-visible latencies, by the update's produced time."""
    with stats.lock:
        produced, visible = list(stats.produced), list(stats.visible)
    los, his = [lo for lo, _ in bounds], [hi for _, hi in bounds]
    out: list[list[float]] = [[] for _ in bounds]
    for p, v in zip(produced, visible, strict=True):
        i = _step_of(p, his, los)
        if i >= 0:
            out[i].append(v - p)
    return out


async def run_db_race(
    broker: Broker, groups: GroupCoordinator, *, data_dir: str | Path,
    steps: Sequence[float] = (200, 500, 1000, 2000, 5000), step_s: float = 3.0,
    drain_s: float = 5.0, partners: int = 50, seed: int = 1, topic: str = "db-race",
    partitions: int = 6, group: str = "database-writer",
    on_sample: Callable[[DbRaceSample], None] | None = None,
    queue_max: int = 100_000, batch_max: int = 2000,
) -> DbRaceResult:
    """The lesson-6 race on ``broker`` (see the module contract). Runs on its loop.

    ``topic`` is deleted and recreated (a clean run; its group's offsets go with it).
    The drain phase ends early once both paths have written everything.
    """
    if not steps or any(r <= 0 for r in steps) or step_s <= 0 or drain_s < 0:
        raise ValueError("steps must be positive rates, step_s positive, drain_s >= 0")
    expected = sum(steps) * step_s
    if expected > MAX_RACE_SAMPLES:
        raise ValueError(f"a race of {expected:.0f} updates is more than {MAX_RACE_SAMPLES}")
    keep = MAX_RACE_SAMPLES
    loop = asyncio.get_running_loop()
    data = Path(data_dir)
    direct_path, broker_path = data / "direct.db", data / "via-broker.db"
    await asyncio.to_thread(_fresh_files, data, (direct_path, broker_path))

    if broker.topic_partition_count(topic) is not None:
        broker.delete_topic(topic)
    broker.create_topic(topic, partitions)

    direct = DirectWriter(direct_path, queue_max=queue_max, keep_samples=keep)
    sink = DatabaseSink(broker_path, keep_samples=keep)
    offered_ms: list[float] = []
    producer = _TeeProducer(broker, direct, offered_ms, keep)
    runner = SimRunner(broker, topic=topic, partitions=partitions, partners=partners,
                       rate=steps[0], seed=seed, producer=producer)
    consumer = Consumer(
        broker, group, [topic], groups=groups, client_id="streamscope-db-writer",
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=batch_max,
        session_timeout_ms=10_000, heartbeat_interval_ms=500,
    )
    stop = asyncio.Event()
    consume_task: asyncio.Task[None] | None = None
    start = loop.time()
    marks: list[_Mark] = []

    def sample(index: int, label: str, rate: float) -> None:
        if on_sample is not None:
            on_sample(DbRaceSample(loop.time() - start, index, label, rate, direct.view(),
                                   sink.view(), runner.sent - sink.stats.rows))

    async def phase(index: int, label: str, rate: float, seconds: float,
                    until: Callable[[], bool] | None = None) -> None:
        t0, i0 = loop.time(), len(offered_ms)
        d0, b0 = direct.stats.rows, sink.stats.rows
        deadline = t0 + seconds
        next_sample = t0
        d_peak = b_peak = 0
        while True:
            now = loop.time()
            # Backlogs from plain counters, often (their peaks); views, less often.
            d_peak = max(d_peak, direct.stats.offered - direct.stats.rows)
            b_peak = max(b_peak, runner.sent - sink.stats.rows)
            if now >= next_sample:
                sample(index, label, rate)
                next_sample = now + SAMPLE_S
            if now >= deadline or (until is not None and until()):
                break
            await asyncio.sleep(min(PEAK_S, deadline - now))
            if consume_task is not None and consume_task.done():
                consume_task.result()  # the database app failed: raise its error
        t1, w1 = loop.time(), time.time() * 1000.0
        i1 = len(offered_ms)
        d, b = direct.view(), sink.view()
        d_back, b_back = d.backlog, runner.sent - b.rows
        marks.append(_Mark(label, rate, t1 - t0, i0, i1, w1, d.rows - d0, b.rows - b0,
                           d_back, b_back, max(d_peak, d_back), max(b_peak, b_back),
                           d.refused))

    try:
        direct.start()
        await consumer.start()
        consume_task = loop.create_task(_consume_into(consumer, sink, stop, batch_max),
                                        name="db-race-consumer")
        # Let the group settle first, so the first step measures writing, not joining.
        while not consumer.assignment():
            if consume_task.done():
                consume_task.result()
            await asyncio.sleep(0.05)
        await runner.start()
        for i, rate in enumerate(steps):
            runner.retune(rate=rate)
            await phase(i, f"{rate:g}/s", float(rate), step_s)
        await runner.stop()
        total = runner.sent
        await phase(len(steps), "drain", 0.0, drain_s,
                    until=lambda: direct.stats.rows >= total and sink.stats.rows >= total)
        sample(len(steps), "drain", 0.0)
    finally:
        stop.set()
        await runner.stop()
        if consume_task is not None:
            consume_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consume_task
        await consumer.close()
        await producer.close()
        await direct.close()
        await sink.close()

    end_ms = time.time() * 1000.0
    # A phase's updates are those offered during it; in time, they run from its first
    # update's timestamp to the next phase's first (timestamps rise in offer order), so
    # an update is attributed to the phase it was offered in, not to the wall clock's
    # (a tick at a step's start carries timestamps from just before it).
    def ts_at(i: int) -> float:
        return offered_ms[i] if i < len(offered_ms) else math.inf

    bounds = [(ts_at(m.first), ts_at(m.last)) for m in marks]
    offered = [m.last - m.first for m in marks]
    d_lat = _latencies_by_step(direct.stats, bounds)
    b_lat = _latencies_by_step(sink.stats, bounds)
    return DbRaceResult(tuple(
        DbStepResult(
            m.label, m.rate, m.seconds,
            _figures(offered[i], d_lat[i], m.seconds, m.direct_rows, m.wall_end_ms, end_ms,
                     m.direct_backlog, m.direct_peak, m.refused),
            _figures(offered[i], b_lat[i], m.seconds, m.broker_rows, m.wall_end_ms, end_ms,
                     m.broker_backlog, m.broker_peak, 0),
        )
        for i, m in enumerate(marks)
    ))


def _fresh_files(directory: Path, paths: Sequence[Path]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in paths:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
