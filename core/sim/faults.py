"""Lesson 8, the idempotent producer: lose Produce answers on purpose, count what retries do.

Contract:

* :class:`FaultInjector` is a node's fault switchboard (``node.faults``, wired by
  ``core.node``). :meth:`~FaultInjector.drop_produce_responses` arms the listener so that
  the next ``n`` Produce requests (from any connection) are appended as usual but not
  answered, and each one's connection is closed: to the client this is an
  acknowledgement lost on the way back, so a real client retries the same batches. The
  listener does the work (:class:`core.server.Server`: ``drop_produce_responses`` and
  ``produce_responses_dropped``); this module sees it only through
  :class:`ProduceFaultTarget`. Call it on the broker's loop.
* :func:`run_ack_drop` runs the lesson's experiment against ``bootstrap`` with a real
  confluent-kafka producer (``acks=all``, retries on, ``enable.idempotence`` as asked):
  ``records`` location updates of ``partners`` delivery partners (deterministic for a
  seed; key = partner id, Kafka's murmur2 partitioner) are sent in ``drops + 1`` chunks;
  before every chunk but the first, one Produce answer is armed to be dropped, and each
  chunk is flushed (every record acknowledged, after retries) before the next. Then the
  topic is read back from the offsets it had before the run, with a confluent-kafka
  consumer (``assign``, no group), and every update is decoded and counted by
  ``(partner, seq)``: :class:`AckDropResult`. Without idempotence the retried batches are
  appended twice (duplicates > 0); with it the broker recognises the retried sequence
  numbers and answers with the first append's offsets (duplicates == 0).
* Every confluent-kafka call runs in a worker thread; the loop only arms faults and
  waits, so the broker goes on serving every connection meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.partners import Fleet, LocationUpdate, decode_update, encode_update
from streamscope.core.sim.remote import client_config

if TYPE_CHECKING:
    from streamscope.core.monitor.external import ExternalSettings

log = logging.getLogger(__name__)

SIM_EPOCH_MS = 1_700_000_000_000  # the updates' timestamps: fixed, so a seed gives one stream
UPDATE_SPACING_MS = 100


class ProduceFaultTarget(Protocol):
    """What the listener exposes for Produce-answer faults (``core.server.Server``)."""

    drop_produce_responses: int  # answers still to drop
    produce_responses_dropped: int  # answers dropped so far


class FaultInjector:
    """A node's faults; inert until :meth:`attach` gives it the node's listener."""

    def __init__(self) -> None:
        self._target: ProduceFaultTarget | None = None

    def attach(self, target: ProduceFaultTarget) -> None:
        self._target = target

    def _server(self) -> ProduceFaultTarget:
        if self._target is None:
            raise RuntimeError("faults need a serving node (no listener attached)")
        return self._target

    def drop_produce_responses(self, n: int) -> None:
        """Drop the answers to the next ``n`` Produce requests (see the module contract)."""
        if n < 0:
            raise ValueError("n cannot be negative")
        self._server().drop_produce_responses += n

    def clear(self) -> None:
        """Disarm every pending drop."""
        if self._target is not None:
            self._target.drop_produce_responses = 0

    @property
    def pending(self) -> int:
        """Drops still armed."""
        return 0 if self._target is None else self._target.drop_produce_responses

    @property
    def dropped(self) -> int:
        """Produce answers dropped so far."""
        return 0 if self._target is None else self._target.produce_responses_dropped


@dataclass(frozen=True, slots=True)
class AckDropResult:
    idempotent: bool
    records: int  # records the producer was given
    delivered: int  # delivery reports without error
    failed: int  # delivery reports with an error (or never reported within the timeout)
    dropped: int  # Produce answers dropped by the broker during the run
    in_log: int  # records read back from the topic (from its offsets before the run)
    unique: int  # distinct (partner, seq) among them
    duplicates: int  # in_log - unique: copies appended by retries
    missing: int  # records given to the producer and not in the log at all


def updates_for(records: int, partners: int, seed: int) -> list[LocationUpdate]:
    """The run's updates: deterministic for (records, partners, seed)."""
    fleet = Fleet(generate_city(seed), partners, seed=seed)
    return [fleet.next_update(SIM_EPOCH_MS + i * UPDATE_SPACING_MS) for i in range(records)]


def ensure_topic(bootstrap: str | ExternalSettings, topic: str, partitions: int,
                 timeout_s: float) -> None:
    admin = AdminClient(client_config(bootstrap))
    meta = admin.list_topics(timeout=timeout_s)
    if topic in meta.topics and meta.topics[topic].error is None:
        return
    future = admin.create_topics([NewTopic(topic, partitions, 1)],
                                 operation_timeout=timeout_s)[topic]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def partition_offsets(bootstrap: str | ExternalSettings, topic: str,
                      timeout_s: float) -> dict[int, tuple[int, int]]:
    """Each partition's (log start, high watermark)."""
    consumer = Consumer({**client_config(bootstrap), "group.id": "streamscope-lesson8-reader",
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s)
        parts = sorted(meta.topics[topic].partitions)
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
                for p in parts}
    finally:
        consumer.close()


class _ClientLog:
    """librdkafka's log for the lesson's producer (confluent-kafka calls ``log(level,
    fmt, *args)``): its warnings ("Disconnected: connection closed by peer") are what the
    lesson does on purpose, so they are logged at INFO; errors stay errors."""

    def log(self, level: int, msg: str, *args: object) -> None:
        log.log(logging.INFO if level == logging.WARNING else level, msg, *args)


class _Sender:
    """The confluent-kafka producer of one run; its methods run in worker threads."""

    def __init__(self, bootstrap: str, idempotent: bool) -> None:
        self.delivered = 0
        self.failed = 0
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "client.id": "streamscope-lesson8-" + ("idempotent" if idempotent else "plain"),
            "enable.idempotence": idempotent,
            "acks": "all",
            "retries": 1_000_000,  # retries on, as a default client has them
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 50,
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 5,
            "partitioner": "murmur2_random",  # Kafka's default partitioner for keys
            "socket.timeout.ms": 10_000,
            # librdkafka's log goes to logging, not to the process's stderr; its warnings
            # here are the disconnects this experiment causes (see _ClientLog).
            "logger": _ClientLog(),
        })

    def _report(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1

    def send(self, topic: str, updates: list[LocationUpdate], timeout_s: float) -> int:
        """Produce and flush ``updates``; how many were still undelivered at the timeout."""
        for u in updates:
            while True:
                try:
                    self.producer.produce(topic, encode_update(u), u.key, timestamp=u.ts,
                                          on_delivery=self._report)
                    break
                except BufferError:  # the local queue is full: serve callbacks, retry
                    self.producer.poll(0.05)
            self.producer.poll(0)
        return self.producer.flush(timeout_s)


def _partner_seq(value: bytes) -> tuple[str, int]:
    u = decode_update(value)
    return u.partner, u.seq


def read_back(bootstrap: str | ExternalSettings, topic: str, ranges: dict[int, tuple[int, int]],
              timeout_s: float, *, committed_only: bool = False,
              decode: Callable[[bytes], tuple[str, int]] = _partner_seq,
              ) -> list[tuple[str, int]]:
    """(partner, seq) (``decode`` of the value) of every record in [start, end) of each
    partition a reader with that isolation level is handed. A read_committed reader
    skips aborted records and markers, so its offsets are not contiguous: each partition
    ends at its end of partition event."""
    want = {p: (lo, hi) for p, (lo, hi) in ranges.items() if hi > lo}
    if not want:
        return []
    consumer = Consumer({**client_config(bootstrap),
                         "group.id": "streamscope-lesson-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level":
                             "read_committed" if committed_only else "read_uncommitted"})
    out: list[tuple[str, int]] = []
    try:
        consumer.assign([TopicPartition(topic, p, lo) for p, (lo, _hi) in want.items()])
        remaining = set(want)
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.5):
                err = msg.error()
                p = msg.partition()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF and p in remaining \
                            and msg.offset() >= want[p][1]:
                        remaining.discard(p)
                    continue
                if p not in remaining or msg.offset() >= want[p][1]:
                    continue
                value = msg.value()
                if value is not None:
                    out.append(decode(value))
                if msg.offset() + 1 >= want[p][1]:
                    remaining.discard(p)
        if remaining:
            raise TimeoutError(f"could not read back partitions {sorted(remaining)} of {topic}")
    finally:
        consumer.close()
    return out


async def run_ack_drop(
    bootstrap: str, *, faults: FaultInjector, idempotent: bool, topic: str = "acks",
    partitions: int = 3, records: int = 300, drops: int = 3, partners: int = 10,
    seed: int = 1, timeout_s: float = 30.0,
) -> AckDropResult:
    """The lesson-8 experiment (see the module contract). Runs on the broker's loop."""
    if records < drops + 1 or drops < 0 or partitions < 1 or partners < 1:
        raise ValueError("need records > drops >= 0 and positive partitions and partners")
    updates = await asyncio.to_thread(updates_for, records, partners, seed)
    await asyncio.to_thread(ensure_topic, bootstrap, topic, partitions, timeout_s)
    before = await asyncio.to_thread(partition_offsets, bootstrap, topic, timeout_s)
    dropped0 = faults.dropped
    sender = _Sender(bootstrap, idempotent)
    undelivered = 0
    try:
        chunk = -(-records // (drops + 1))
        for k in range(drops + 1):
            part = updates[k * chunk:(k + 1) * chunk]
            if not part:
                break
            if k:
                faults.drop_produce_responses(1)
            undelivered += await asyncio.to_thread(sender.send, topic, part, timeout_s)
    finally:
        faults.clear()  # a drop never consumed must not hit the next client
        await asyncio.to_thread(sender.producer.flush, 1.0)
    after = await asyncio.to_thread(partition_offsets, bootstrap, topic, timeout_s)
    ranges = {p: (max(before.get(p, (0, 0))[1], lo), hi) for p, (lo, hi) in after.items()}
    seen = await asyncio.to_thread(read_back, bootstrap, topic, ranges, timeout_s)
    counts = Counter(seen)
    expected = {(u.partner, u.seq) for u in updates}
    return AckDropResult(
        idempotent=idempotent, records=records, delivered=sender.delivered,
        failed=sender.failed + undelivered, dropped=faults.dropped - dropped0,
        in_log=len(seen), unique=len(counts), duplicates=len(seen) - len(counts),
        missing=len(expected - counts.keys()),
    )
