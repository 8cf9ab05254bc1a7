"""Delivery partners driven against any Kafka-compatible broker through a real client.

The engine of ``streamscope sim --bootstrap HOST:PORT ...`` (arguments parsed in
:mod:`streamscope.core.cli`), and the pieces it shares with
:class:`~.remote_partners.RemotePartners` (the same partners on a thread of the app) and
:mod:`~.remote_consumers` (consumer apps through a real client). Contract:

* Where the clients connect (``target``) is a bootstrap address (PLAINTEXT: the embedded
  broker's, or any cluster's) or an :class:`~streamscope.core.monitor.external.ExternalSettings`
  whose :meth:`client_config` brings the cluster's security settings (SSL, SASL), as
  ``streamscope inspect`` uses them (:func:`client_config`).
* :func:`ensure_topic` asks the broker for metadata through a confluent-kafka
  ``AdminClient``, waiting at most ``timeout`` seconds; a broker that does not answer
  raises :class:`BrokerUnreachable` (nothing is sent), and so does one that refuses the
  client's credentials or TLS handshake, saying so ("authentication failed at ...",
  "TLS handshake with ... failed"). A missing topic is created with
  ``partitions`` partitions and the broker's default replication factor; an existing
  topic keeps its partitions. It returns the topic's partition count.
* :class:`Pacer`: how many updates are due by a time, on ``time.monotonic`` seconds. The
  count is the integral of rate x burst multiplier since the start (rate changes and
  rush windows included, exactly), floored; :meth:`Pacer.time_of` inverts it, so update
  ``i`` has a scheduled time (its slot) and is sent once due.
* :class:`PacedSender`: the send loop. Updates come from a :class:`~.partners.Fleet`
  (city and partners from a seed, as in the in-process :class:`~.runner.SimRunner`),
  msgpack-encoded (:func:`~.partners.encode_update`), key = partner id, record timestamp
  = the update's ``ts``, through a confluent-kafka ``Producer`` made by
  :func:`make_producer` with ``partitioner=murmur2_random``: Kafka's default
  partitioner, so a key lands in the partition the in-process sim (and the Java client)
  would choose, and each partner's updates stay in order in one partition. Each
  update's ``ts`` is its scheduled wall time (start wall time plus its slot), not the
  send instant. With a ``limit`` it sends exactly that many updates and returns. A full
  local queue (``BufferError``) is waited out and the same update retried, so a
  partner's seqs have no gap. Counters (``sent``, ``acked``, ``errors``,
  ``per_partition`` of acknowledged updates) may be read from any thread;
  :meth:`PacedSender.retune` and :meth:`PacedSender.lunch_rush` may be called from any
  thread (queued, applied by the sending thread within one nap, at most 0.1 s).
* :func:`run_remote`: ``partners x rate`` updates per second in the calling (main)
  thread, ``seconds x total rate`` of them when ``seconds`` is given. About once a second
  one progress line goes to ``progress`` (sent, acked, rate, errors). Ctrl-C (SIGINT,
  main thread) ends sending early; either way the producer is flushed for at most
  ``flush_timeout`` seconds (a second Ctrl-C stops waiting), and updates still
  undelivered then count as errors.
* The result (:class:`SimResult`) holds sent, acked, errors, elapsed time and acked
  counts per partition; :meth:`SimResult.summary` is the final line(s).

confluent_kafka is imported inside the functions, so ``streamscope.core`` stays
importable without it.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from streamscope.core.sim.city import generate_city
from streamscope.core.sim.partners import Fleet, LocationUpdate, encode_update

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message, Producer
    from confluent_kafka.admin import AdminClient
    from streamscope.core.monitor.external import ExternalSettings

PARTNERS_CLIENT_ID = "streamscope-sim-partners"  # as the in-process runner's producer
MAX_RATE = 1_000_000.0  # updates per second, in total (as core.sim.runner)
MIN_NAP_S = 0.002  # at high rates: send in small batches rather than spin per update
MAX_NAP_S = 0.1  # wake at least this often: stop requests and progress lines stay prompt


class BrokerUnreachable(Exception):
    """No answer from the bootstrap address within the connect timeout."""


@dataclass(frozen=True)
class RemoteSimOptions:
    bootstrap: str
    # The cluster's security settings (SSL, SASL); None: PLAINTEXT to ``bootstrap``.
    settings: ExternalSettings | None = field(default=None, kw_only=True)
    partners: int
    rate: float  # updates per second per partner
    seconds: float | None = None  # None: until interrupted
    topic: str = "deliveries"
    partitions: int = 6
    seed: int = 1
    connect_timeout: float = 10.0
    flush_timeout: float = 30.0

    @property
    def total_rate(self) -> float:
        return self.partners * self.rate

    @property
    def target(self) -> str | ExternalSettings:
        return self.settings if self.settings is not None else self.bootstrap


@dataclass
class SimResult:
    sent: int = 0
    acked: int = 0
    errors: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    per_partition: Counter[int] = field(default_factory=Counter)
    last_error: str = ""

    @property
    def achieved_rate(self) -> float:
        return self.acked / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.acked == self.sent

    def summary(self, target_rate: float) -> str:
        parts = " ".join(f"{p}={n}" for p, n in sorted(self.per_partition.items()))
        lines = [
            f"summary: sent {self.sent} acked {self.acked} errors {self.errors} in "
            f"{self.elapsed:.2f} s, {self.achieved_rate:.1f} updates/s "
            f"(target {target_rate:g}/s)" + (" (interrupted)" if self.interrupted else ""),
            f"per partition: {parts or '(none)'}",
        ]
        if self.last_error:
            lines.append(f"last error: {self.last_error}")
        return "\n".join(lines)


def client_config(target: str | ExternalSettings) -> dict[str, str | int]:
    """librdkafka's settings to reach ``target``: a bootstrap address (PLAINTEXT), or an
    :class:`~streamscope.core.monitor.external.ExternalSettings` (its security settings:
    SSL, SASL)."""
    conf: dict[str, str | int] = (
        {"bootstrap.servers": target} if isinstance(target, str) else
        dict(target.client_config()))
    # librdkafka logs every refused connection itself; the CLI reports failures in its own
    # words, so only its errors above "critical" would be worth showing (none are).
    conf["log_level"] = 2
    return conf


def address(target: str | ExternalSettings) -> str:
    """The bootstrap address of ``target``, for messages."""
    return target if isinstance(target, str) else target.bootstrap


def check_rate(rate: float) -> None:
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"rate must be in (0, {MAX_RATE:g}] updates/s")


def ensure_topic(target: str | ExternalSettings, topic: str, partitions: int, timeout: float) -> int:
    """Reach the broker (bounded wait), create the topic if it is missing; its partitions."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    errors: list[KafkaError] = []
    admin = AdminClient({**client_config(target), "error_cb": errors.append})
    metadata = _reach(admin, errors, address(target), timeout)
    known = metadata.topics.get(topic)
    if known is not None and known.error is None:
        return len(known.partitions)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions)],
        operation_timeout=timeout, request_timeout=timeout)
    try:
        futures[topic].result(timeout=timeout + 1)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        # Another producer may have created it between the metadata answer and ours.
        if not (error is not None and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
            raise
        known = admin.list_topics(topic, timeout=timeout).topics.get(topic)
        return len(known.partitions) if known is not None else partitions
    return partitions


def _reach(admin: AdminClient, errors: list[KafkaError], where: str, timeout: float):  # noqa: ANN202
    """The cluster's metadata, asked in short slices so that a failure the client reports
    through its error callback (authentication, TLS) ends the wait early, in words."""
    from confluent_kafka import KafkaError, KafkaException

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return admin.list_topics(timeout=max(0.05, min(0.5, left)))
        except KafkaException as exc:
            admin.poll(0)  # delivers error_cb
            for err in reversed(errors):
                if err.code() in (KafkaError._AUTHENTICATION,
                                  KafkaError.SASL_AUTHENTICATION_FAILED):
                    raise BrokerUnreachable(
                        f"authentication failed at {where}: {err.str()}") from None
                if err.code() == KafkaError._SSL:
                    raise BrokerUnreachable(
                        f"TLS handshake with {where} failed: {err.str()}") from None
            if time.monotonic() >= deadline:
                raise BrokerUnreachable(
                    f"no answer from {where} within {timeout:g} s "
                    f"({exc.args[0].str() if exc.args else exc})") from None


def make_producer(target: str | ExternalSettings, *, flush_timeout: float,
                  client_id: str = PARTNERS_CLIENT_ID) -> Producer:
    """The partners' confluent-kafka producer: Kafka's default partitioner for keys."""
    from confluent_kafka import Producer

    return Producer({
        **client_config(target),
        "client.id": client_id,
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        # Bounded: a broker that goes away mid-run shows up as errors, not as a hang.
        "message.timeout.ms": max(1, int(flush_timeout * 1000)),
    })


class Pacer:
    """Updates due by a monotonic time: the integral of rate x burst, rebased on changes.

    The integral is kept as an origin (``t0``, updates due at ``t0``) plus the rate and
    rush window in force from there, so a rate change or a rush starts a new origin and
    the updates already due are never recounted. Not thread-safe: one owner thread.
    """

    def __init__(self, rate: float, start: float) -> None:
        check_rate(rate)
        self.rate = float(rate)
        self._t0 = start
        self._n0 = 0.0
        self._rate_before = self.rate  # the effective rate just before t0
        self._rush: tuple[float, float, float] | None = None  # start, end, multiplier

    def _pieces(self) -> list[tuple[float, float, float]]:
        """(from, to, effective rate) from the origin on; the last piece is unbounded."""
        out: list[tuple[float, float, float]] = []
        t = self._t0
        if self._rush is not None:
            r_start, r_end, mult = self._rush
            if t < r_start:
                out.append((t, r_start, self.rate))
                t = r_start
            if t < r_end:
                out.append((t, r_end, self.rate * mult))
                t = r_end
        out.append((t, math.inf, self.rate))
        return out

    def count_at(self, now: float) -> float:
        n = self._n0
        for a, b, r in self._pieces():
            if now <= a:
                break
            n += (min(now, b) - a) * r
        return n

    def due(self, now: float) -> int:
        # The epsilon forgives float rounding at a slot's own instant (time_of then count_at).
        return math.floor(self.count_at(now) + 1e-9)

    def time_of(self, n: float) -> float:
        """When the count reaches ``n``: update ``n`` (from 0) has that as its slot."""
        if n < self._n0:  # due before the last change: at the rate in force then
            return self._t0 - (self._n0 - n) / self._rate_before
        left = n - self._n0
        for a, b, r in self._pieces():
            if left <= (b - a) * r:
                return a + left / r
            left -= (b - a) * r
        raise AssertionError("the last piece is unbounded")  # pragma: no cover

    def multiplier(self, now: float) -> float:
        if self._rush is not None and self._rush[0] <= now < self._rush[1]:
            return self._rush[2]
        return 1.0

    def _rebase(self, now: float) -> float:
        now = max(now, self._t0)
        self._n0 = self.count_at(now)
        if now > self._t0:
            self._rate_before = self.rate * self.multiplier(now - 1e-9)
        self._t0 = now
        if self._rush is not None and self._rush[1] <= now:
            self._rush = None
        return now

    def set_rate(self, rate: float, now: float) -> None:
        check_rate(rate)
        self._rebase(now)
        self.rate = float(rate)

    def rush(self, multiplier: float, seconds: float, now: float) -> None:
        if multiplier <= 0 or seconds < 0:
            raise ValueError("a rush needs a positive multiplier and a duration >= 0")
        now = self._rebase(now)
        self._rush = (now, now + seconds, float(multiplier))


class PacedSender:
    """The partners' send loop over one confluent-kafka producer (see the module contract)."""

    def __init__(
        self, producer: Producer, topic: str, fleet: Fleet, rate: float, *,
        limit: int | None = None, clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        check_rate(rate)
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        self.producer = producer
        self.topic = topic
        self.fleet = fleet
        self.limit = limit
        self.clock = clock
        self.start = clock()
        self.start_wall_ms = wall() * 1000.0
        self.pacer = Pacer(rate, self.start)
        self.sent = 0
        self.acked = 0
        self.errors = 0
        self.last_error = ""
        self._per_partition: Counter[int] = Counter()
        self._lock = threading.Lock()  # per_partition, and the queue of control changes
        self._pending: list[Callable[[float], None]] = []

    @property
    def per_partition(self) -> dict[int, int]:
        """Acknowledged updates per partition (a copy: safe from any thread)."""
        with self._lock:
            return dict(self._per_partition)

    @property
    def finished(self) -> bool:
        """The limit is reached (never without one)."""
        return self.limit is not None and self.sent >= self.limit

    def retune(self, *, rate: float | None = None, partners: int | None = None) -> None:
        """Change the total rate and/or the fleet size, from any thread."""
        if rate is not None:
            check_rate(rate)
        if partners is not None and partners < 1:
            raise ValueError("a fleet has at least one partner")
        asked = self.clock()

        def apply(now: float) -> None:
            if rate is not None:
                # From when it was asked: updates due until then were due at the old rate.
                self.pacer.set_rate(rate, asked)
            if partners is not None:
                self.fleet.resize(partners)

        with self._lock:
            self._pending.append(apply)

    def lunch_rush(self, multiplier: float, seconds: float) -> None:
        """Multiply the rate by ``multiplier`` for ``seconds`` from now, from any thread."""
        if multiplier <= 0 or seconds < 0:
            raise ValueError("a rush needs a positive multiplier and a duration >= 0")
        asked = self.clock()
        with self._lock:
            self._pending.append(lambda now: self.pacer.rush(multiplier, seconds, asked))

    def _apply_pending(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for apply in pending:
            apply(now)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.acked += 1
            with self._lock:
                self._per_partition[msg.partition() or 0] += 1
        else:
            self.errors += 1
            self.last_error = err.str()

    def _next_update(self) -> LocationUpdate:
        slot = self.pacer.time_of(self.sent)
        return self.fleet.next_update(self.start_wall_ms + (slot - self.start) * 1000.0)

    def run(self, should_stop: Callable[[], bool],
            on_tick: Callable[[float], None] | None = None) -> None:
        """Send updates as they fall due until ``should_stop()`` or the limit."""
        producer = self.producer
        on_delivery = self._on_delivery
        pending: LocationUpdate | None = None  # made, not yet accepted by the producer
        while not should_stop() and not self.finished:
            now = self.clock()
            self._apply_pending(now)
            due = self.pacer.due(now)
            if self.limit is not None:
                due = min(due, self.limit)
            while self.sent < due and not should_stop():
                update = pending or self._next_update()
                try:
                    producer.produce(self.topic, encode_update(update), update.key,
                                     on_delivery=on_delivery, timestamp=update.ts)
                except BufferError:  # local queue full: let deliveries drain, then retry
                    pending = update
                    producer.poll(0.05)
                    continue
                pending = None
                self.sent += 1
                if self.sent % 1000 == 0:
                    producer.poll(0)
            producer.poll(0)
            if on_tick is not None:
                on_tick(self.clock())
            if self.finished:
                break
            # Nap until the next update is due: short enough to stay responsive, long
            # enough at high rates to send batches rather than spin.
            wait = self.pacer.time_of(self.sent + 1) - self.clock()
            producer.poll(min(max(wait, MIN_NAP_S), MAX_NAP_S))

    def flush(self, timeout: float) -> None:
        """Wait at most ``timeout`` s for acknowledgements; the rest count as errors.

        In short steps, so a KeyboardInterrupt (a second Ctrl-C) can stop the wait.
        """
        deadline = time.monotonic() + timeout
        while len(self.producer) > 0 and time.monotonic() < deadline:
            self.producer.flush(min(0.2, max(0.0, deadline - time.monotonic())))
        self.count_undelivered()

    def count_undelivered(self) -> None:
        undelivered = self.sent - self.acked - self.errors
        if undelivered > 0:
            self.errors += undelivered
            self.last_error = self.last_error or f"{undelivered} updates not acknowledged"


class StopOnInterrupt:
    """While entered (in the main thread), the first SIGINT only sets :attr:`requested`.

    A flag, not KeyboardInterrupt, so Ctrl-C never lands between ``produce()`` and the
    ``sent`` count (an update handed over but not counted). A second SIGINT raises
    KeyboardInterrupt, to stop waiting for acknowledgements.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Callable[[int, FrameType | None], object] | int | None = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None
                          else signal.SIG_DFL)


class ProgressLine:
    """``sent N acked N rate X/s errors N`` about once a second (rate of acknowledgements)."""

    def __init__(self, sender: PacedSender, progress: TextIO, start: float) -> None:
        self.sender = sender
        self.progress = progress
        self._at, self._acked = start, 0
        self._next = start + 1.0

    def __call__(self, now: float) -> None:
        if now < self._next:
            return
        s = self.sender
        rate = (s.acked - self._acked) / (now - self._at)
        self._at, self._acked = now, s.acked
        self._next = now + 1.0
        print(f"sent {s.sent} acked {s.acked} rate {rate:.1f}/s errors {s.errors}",
              file=self.progress, flush=True)


def run_remote(options: RemoteSimOptions, progress: TextIO,
               stop: Callable[[], bool] = lambda: False) -> SimResult:
    """Send the fleet's updates to ``options.bootstrap`` (see the module contract).

    ``stop``: a further reason to end early (besides Ctrl-C), polled while sending.
    """
    if options.partners < 1 or options.rate <= 0 or options.partitions < 1:
        raise ValueError("partners, rate and partitions must be positive")
    target = options.target
    ensure_topic(target, options.topic, options.partitions, options.connect_timeout)
    total = options.total_rate
    limit = math.floor(options.seconds * total) if options.seconds is not None else None
    producer = make_producer(target, flush_timeout=options.flush_timeout)
    fleet = Fleet(generate_city(options.seed), options.partners, seed=options.seed)
    sender = PacedSender(producer, options.topic, fleet, total, limit=limit)
    interrupt = StopOnInterrupt()
    with interrupt:
        try:
            sender.run(lambda: interrupt.requested or stop(),
                       ProgressLine(sender, progress, sender.start))
            sender.flush(options.flush_timeout)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for acknowledgements
            sender.count_undelivered()
    return SimResult(
        sent=sender.sent, acked=sender.acked, errors=sender.errors,
        elapsed=time.monotonic() - sender.start, interrupted=interrupt.requested,
        per_partition=Counter(sender.per_partition), last_error=sender.last_error,
    )
