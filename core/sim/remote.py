"""Delivery partners driven against any Kafka-compatible broker through a real client.

The engine of ``streamscope sim --bootstrap HOST:PORT ...`` (arguments parsed in
:mod:`streamscope.core.cli`). Contract:

* :func:`run_remote` first asks the broker for metadata through a confluent-kafka
  ``AdminClient``, waiting at most ``connect_timeout`` seconds; a broker that does not
  answer raises :class:`BrokerUnreachable` (nothing is sent). A missing topic is created
  with ``partitions`` partitions and the broker's default replication factor; an existing
  topic keeps its partitions.
* Updates come from a :class:`~.partners.Fleet` (city and partners from ``seed``, as in
  the in-process :class:`~.runner.SimRunner`), msgpack-encoded
  (:func:`~.partners.encode_update`), key = partner id, through a confluent-kafka
  ``Producer`` with ``partitioner=murmur2_random``: Kafka's default partitioner, so a key
  lands in the partition the in-process sim (and the Java client) would choose, and each
  partner's updates stay in order in one partition.
* Pacing: ``partners x rate`` updates per second on ``time.monotonic``; by time ``t``
  after the start ``floor(t x total rate)`` updates are due (capped at
  ``seconds x total rate`` when ``seconds`` is given). Each update's ``ts`` is its
  scheduled wall time (start wall time plus its slot), not the send instant.
* About once a second one progress line goes to ``progress`` (sent, acked, rate, errors).
  Ctrl-C (SIGINT, main thread) ends sending early; either way the producer is flushed for
  at most ``flush_timeout`` seconds (a second Ctrl-C stops waiting), and updates still
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
from streamscope.core.sim.partners import Fleet, encode_update

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message


class BrokerUnreachable(Exception):
    """No answer from the bootstrap address within the connect timeout."""


@dataclass(frozen=True)
class RemoteSimOptions:
    bootstrap: str
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


def _client_config(bootstrap: str) -> dict[str, str | int]:
    # librdkafka logs every refused connection itself; the CLI reports failures in its own
    # words, so only its errors above "critical" would be worth showing (none are).
    return {"bootstrap.servers": bootstrap, "log_level": 2}


def ensure_topic(options: RemoteSimOptions) -> None:
    """Reach the broker (bounded wait) and create the topic if it is missing."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(_client_config(options.bootstrap))
    try:
        metadata = admin.list_topics(timeout=options.connect_timeout)
    except KafkaException as exc:
        raise BrokerUnreachable(
            f"no answer from {options.bootstrap} within {options.connect_timeout:g} s "
            f"({exc.args[0].str() if exc.args else exc})") from None
    if options.topic in metadata.topics and metadata.topics[options.topic].error is None:
        return
    futures = admin.create_topics(
        [NewTopic(options.topic, num_partitions=options.partitions)],
        operation_timeout=options.connect_timeout, request_timeout=options.connect_timeout)
    try:
        futures[options.topic].result(timeout=options.connect_timeout + 1)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        # Another producer may have created it between the metadata answer and ours.
        if not (error is not None and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
            raise


class _StopOnInterrupt:
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

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None
                          else signal.SIG_DFL)


def run_remote(options: RemoteSimOptions, progress: TextIO) -> SimResult:
    """Send the fleet's updates to ``options.bootstrap`` (see the module contract)."""
    from confluent_kafka import Producer

    if options.partners < 1 or options.rate <= 0 or options.partitions < 1:
        raise ValueError("partners, rate and partitions must be positive")
    ensure_topic(options)
    result = SimResult()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            result.acked += 1
            result.per_partition[msg.partition() or 0] += 1
        else:
            result.errors += 1
            result.last_error = err.str()

    producer = Producer({
        **_client_config(options.bootstrap),
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        # Bounded: a broker that goes away mid-run shows up as errors, not as a hang.
        "message.timeout.ms": int(options.flush_timeout * 1000),
    })
    fleet = Fleet(generate_city(options.seed), options.partners, seed=options.seed)
    total = options.total_rate
    limit = math.floor(options.seconds * total) if options.seconds is not None else None
    start = time.monotonic()
    start_wall_ms = time.time() * 1000.0
    next_report = start + 1.0
    reported_at, reported_acked = start, 0
    stop = _StopOnInterrupt()
    with stop:
        try:
            while (limit is None or result.sent < limit) and not stop.requested:
                now = time.monotonic()
                due = math.floor((now - start) * total)
                if limit is not None:
                    due = min(due, limit)
                while result.sent < due and not stop.requested:
                    update = fleet.next_update(start_wall_ms + result.sent * 1000.0 / total)
                    try:
                        producer.produce(options.topic, encode_update(update), update.key,
                                         on_delivery=on_delivery)
                    except BufferError:  # local queue full: let deliveries drain, then retry
                        producer.poll(0.05)
                        continue
                    result.sent += 1
                    if result.sent % 1000 == 0:
                        producer.poll(0)
                producer.poll(0)
                now = time.monotonic()
                if now >= next_report:
                    rate = (result.acked - reported_acked) / (now - reported_at)
                    reported_at, reported_acked = now, result.acked
                    next_report = now + 1.0
                    print(f"sent {result.sent} acked {result.acked} rate {rate:.1f}/s "
                          f"errors {result.errors}", file=progress, flush=True)
                # Sleep until the next update is due (short naps keep Ctrl-C responsive).
                next_due = start + (result.sent + 1) / total
                wait = min(next_due, next_report) - time.monotonic()
                if wait > 0:
                    producer.poll(min(wait, 0.1))
            deadline = time.monotonic() + options.flush_timeout
            while len(producer) > 0 and time.monotonic() < deadline:
                producer.flush(min(0.2, max(0.0, deadline - time.monotonic())))
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for acknowledgements
            pass
    result.interrupted = stop.requested
    result.elapsed = time.monotonic() - start
    undelivered = result.sent - result.acked - result.errors
    if undelivered > 0:
        result.errors += undelivered
        result.last_error = result.last_error or f"{undelivered} updates not acknowledged"
    return result
