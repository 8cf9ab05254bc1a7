"""``SimRunner``: delivery partners streaming location updates into the in-process broker.

Contract:

* Runs on the broker's event loop. ``start()`` creates the topic with ``partitions``
  partitions if it is missing (an existing topic keeps its partitions), then a task sends
  updates from a :class:`~.partners.Fleet` through the in-process
  :class:`~streamscope.core.clients.producer.Producer`, msgpack-encoded
  (:func:`~.partners.encode_update`), key = partner id. The partition is Kafka's default
  partitioner for the key (:func:`~streamscope.core.clients.partitioner.partition_for_key`),
  so each partner's updates stay in order in one partition.
* Pacing is on an injectable clock (:class:`~streamscope.core.clients.clock.Clock`; the
  loop's by default, a ``ManualClock`` in tests). Every ``tick_s`` the runner owes
  ``rate x burst multiplier`` updates per second of clock time since the last tick, kept
  as an exact fraction, so over a clock interval of T seconds it sends exactly
  ``floor(rate x T)`` updates (burst windows included) whatever the tick granularity.
  A rate or fleet change by :meth:`retune` applies from the last tick.
* :meth:`lunch_rush` multiplies the rate by ``multiplier`` for the next ``seconds`` of the
  clock (a window; the part of a tick inside it is multiplied, the rest is not).
* The loop is never blocked: a tick's updates go out in batches of at most ``batch``,
  with a yield to the loop between batches.
* Updates carry simulated timestamps: the wall time at ``start()`` plus clock time since,
  spread evenly across each tick, so timestamps follow the clock, not the send instant.
* ``limit`` (optional): the runner sends exactly ``limit`` updates in all (``sent``
  reaches it), flushes the producer and its task ends by itself: once ``running`` is
  False (and ``done`` True) every update is in the log, so a lesson's counts are
  deterministic.
* ``speed`` (default 1): slows (or speeds) the simulation: the runner owes
  ``rate x burst x speed`` per second; ``rate`` stays the nominal figure. A speed change
  applies from the last tick, like :meth:`retune`.
* Counters: ``sent`` and ``sent_per_partition`` count updates handed to the producer;
  ``errors`` counts those whose append failed. ``accounted_until`` is the clock time
  (seconds) up to which updates were sent, so a test can wait for the runner to catch up.
  ``stop()`` cancels the task and flushes the producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from fractions import Fraction

from streamscope.core.broker import Broker
from streamscope.core.clients.clock import LOOP_CLOCK, Clock, sleep
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.clients.producer import Producer, RecordMetadata
from streamscope.core.sim.city import City, generate_city
from streamscope.core.sim.partners import Fleet, encode_update

NS = 1_000_000_000
MAX_RATE = 1_000_000.0
MAX_SPEED = 100.0


def _ns(seconds: float) -> int:
    return round(seconds * NS)


class SimRunner:
    def __init__(
        self,
        broker: Broker,
        *,
        topic: str = "deliveries",
        partitions: int = 6,
        partners: int = 50,
        rate: float = 100.0,
        seed: int = 1,
        city: City | None = None,
        clock: Clock = LOOP_CLOCK,
        wall: Callable[[], float] = time.time,
        tick_s: float = 0.01,
        batch: int = 500,
        producer: Producer | None = None,
        limit: int | None = None,
        speed: float = 1.0,
    ) -> None:
        _check_rate(rate)
        _check_speed(speed)
        if limit is not None and limit < 0:
            raise ValueError("limit cannot be negative")
        if tick_s <= 0 or batch < 1 or partitions < 1:
            raise ValueError("tick_s, batch and partitions must be positive")
        self.broker = broker
        self.topic = topic
        self.partitions = partitions
        self.rate = float(rate)
        self.limit = limit
        self.speed = float(speed)
        self.fleet = Fleet(city or generate_city(seed), partners, seed=seed)
        self.clock = clock
        self.wall = wall
        self.tick_s = tick_s
        self.batch = batch
        self.producer = producer or Producer(broker, client_id="streamscope-sim-partners")
        self._own_producer = producer is None
        self.sent = 0
        self.errors = 0
        self.sent_per_partition: dict[int, int] = {}
        self.accounted_until: float | None = None
        self._credit = Fraction(0)
        self._rush: tuple[int, int, Fraction] | None = None  # start ns, end ns, multiplier
        self._task: asyncio.Task[None] | None = None
        self._base_ms = 0.0
        self._start_ns = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def done(self) -> bool:
        """True once ``limit`` updates were sent."""
        return self.limit is not None and self.sent >= self.limit

    async def start(self) -> None:
        if self.running:
            return
        if self.broker.topic_partition_count(self.topic) is None:
            self.broker.create_topic(self.topic, self.partitions)
        self.partitions = self.broker.topic_partition_count(self.topic) or self.partitions
        now = self._now_ns()
        self._start_ns = now
        self._base_ms = self.wall() * 1000.0
        self.accounted_until = now / NS
        self._task = asyncio.get_running_loop().create_task(self._run(now))
        # Let the task arm its first tick, so clock time that passes from now is counted.
        await asyncio.sleep(0)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A producer the runner made is its own to close; a shared one is only flushed.
        if self._own_producer:
            await self.producer.close()
            self.producer = Producer(self.broker, client_id=self.producer.client_id)
        else:
            await self.producer.flush()

    def retune(
        self, *, rate: float | None = None, partners: int | None = None,
        speed: float | None = None,
    ) -> None:
        """Change the total rate, the number of partners and/or the speed while running."""
        if speed is not None:
            _check_speed(speed)
            self.speed = float(speed)
        if rate is not None:
            _check_rate(rate)
            self.rate = float(rate)
        if partners is not None:
            self.fleet.resize(partners)

    def lunch_rush(self, multiplier: float, seconds: float) -> None:
        """Multiply the rate by ``multiplier`` for the next ``seconds`` of the clock."""
        if multiplier <= 0 or seconds < 0:
            raise ValueError("a rush needs a positive multiplier and a duration >= 0")
        now = self._now_ns()
        self._rush = (now, now + _ns(seconds), Fraction(multiplier))

    @property
    def burst(self) -> float:
        """The multiplier in force now (1.0 outside a rush)."""
        now = self._now_ns()
        if self._rush and self._rush[0] <= now < self._rush[1]:
            return float(self._rush[2])
        return 1.0

    def _now_ns(self) -> int:
        return _ns(self.clock.time())

    def _owed(self, start: int, end: int) -> Fraction:
        """Updates owed for clock interval [start, end) in ns, the rush window included."""
        span = end - start
        if self._rush is not None:
            r_start, r_end, mult = self._rush
            overlap = max(0, min(end, r_end) - max(start, r_start))
            weighted = span + (mult - 1) * overlap
        else:
            weighted = Fraction(span)
        return Fraction(self.rate) * Fraction(self.speed) * weighted / NS

    async def _run(self, last: int) -> None:
        while not self.done:
            await sleep(self.clock, self.tick_s)
            now = self._now_ns()
            if now <= last:
                continue
            self._credit += self._owed(last, now)
            due = math.floor(self._credit)
            self._credit -= due
            if self.limit is not None:
                due = min(due, self.limit - self.sent)
            await self._send(due, last, now)
            last = now
            self.accounted_until = now / NS
        # The limit is reached: flush, so "not running" means every update is in the log.
        await self.producer.flush()

    async def _send(self, due: int, start: int, end: int) -> None:
        count = self.broker.topic_partition_count(self.topic) or self.partitions
        span_ms = (end - start) / 1e6
        origin_ms = self._base_ms + (start - self._start_ns) / 1e6
        for first in range(0, due, self.batch):
            for i in range(first, min(first + self.batch, due)):
                update = self.fleet.next_update(origin_ms + span_ms * (i + 1) / due)
                key = update.key
                partition = partition_for_key(key, count)
                fut = await self.producer.send(
                    self.topic, encode_update(update), key, partition=partition,
                    timestamp_ms=update.ts,
                )
                fut.add_done_callback(self._acked)
                self.sent += 1
                self.sent_per_partition[partition] = self.sent_per_partition.get(partition, 0) + 1
            await asyncio.sleep(0)  # let the loop breathe between batches

    def _acked(self, fut: asyncio.Future[RecordMetadata]) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            self.errors += 1


def _check_speed(speed: float) -> None:
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"speed must be in (0, {MAX_SPEED:g}]")


def _check_rate(rate: float) -> None:
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"rate must be in (0, {MAX_RATE:g}] updates/s")
