"""``Producer``: an async in-process producer that appends to a ``Broker`` directly.

Contract:

* No socket: records are batched per partition, built into RecordBatch v2 bytes with
  :func:`core.records.build_batch` and appended through ``Broker.produce`` on the
  broker's loop (the producer must be used on that loop).
* Partitioning is Kafka's default (see :mod:`core.clients.partitioner`): murmur2 of the
  key, or sticky for null keys; an explicit ``partition`` wins.
* ``send`` queues a record and returns a future of its :class:`RecordMetadata`; a
  partition's batch is sent after ``linger_ms`` or as soon as it holds ``batch_size``
  bytes or ``max_batch_records`` records. ``send_and_wait`` awaits that future.
  ``flush`` sends everything pending; ``close`` flushes and refuses further sends.
* Topics are auto-created through ``Broker.ensure_topic`` when the broker allows it;
  otherwise an unknown topic fails the send with UNKNOWN_TOPIC_OR_PARTITION.
* Per-record acknowledgement: a failed append fails every future of its batch with the
  broker's ``KafkaError``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from streamscope.core.clients.partitioner import StickyPartitioner, partition_for_key
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import Compression, build_batch


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass(slots=True)
class _Pending:
    records: list = field(default_factory=list)
    futures: list = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class ProducerStats:
    client_id: str
    records_sent: int
    bytes_sent: int
    batches_sent: int
    errors: int
    pending: int


class Producer:
    def __init__(
        self,
        broker: Any,
        *,
        client_id: str = "streamscope-producer",
        linger_ms: float = 5.0,
        batch_size: int = 16384,
        max_batch_records: int = 1000,
        compression: Compression = Compression.NONE,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.linger_ms = linger_ms
        self.batch_size = batch_size
        self.max_batch_records = max_batch_records
        self.compression = compression
        self._sticky = StickyPartitioner()
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._closed = False
        self.records_sent = 0
        self.bytes_sent = 0
        self.batches_sent = 0
        self.errors = 0

    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        *,
        partition: int | None = None,
        headers: list[tuple[str, bytes | None]] | None = None,
        timestamp_ms: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record; the returned future resolves once its batch is appended."""
        if self._closed:
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "producer is closed")
        count = self._partition_count(topic)
        if partition is None:
            partition = (
                partition_for_key(key, count) if key is not None
                else self._sticky.partition(topic, count)
            )
        elif not 0 <= partition < count:
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{topic} has no partition {partition}"
            )
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        fut: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        # Fire-and-forget senders (simulations) must not flood the log with "exception
        # never retrieved": failures are counted in ``errors`` instead.
        fut.add_done_callback(_retrieve)
        tp = (topic, partition)
        pending = self._pending.get(tp)
        if pending is None:
            pending = self._pending[tp] = _Pending()
        pending.records.append((key, value, headers or (), ts))
        pending.futures.append(fut)
        pending.size += len(key or b"") + len(value or b"") + 16
        if pending.size >= self.batch_size or len(pending.records) >= self.max_batch_records:
            self._send_batch(tp)
        elif pending.timer is None:
            pending.timer = asyncio.get_running_loop().call_later(
                self.linger_ms / 1000, self._send_batch, tp
            )
        return fut

    async def send_and_wait(self, topic: str, value: bytes | None, key: bytes | None = None,
                            **kwargs: Any) -> RecordMetadata:
        return await (await self.send(topic, value, key, **kwargs))

    async def flush(self) -> None:
        """Send every pending batch now and wait for all of them."""
        futures = [f for p in self._pending.values() for f in p.futures]
        for tp in list(self._pending):
            self._send_batch(tp)
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        self._closed = True

    def stats(self) -> ProducerStats:
        return ProducerStats(
            self.client_id, self.records_sent, self.bytes_sent, self.batches_sent,
            self.errors, sum(len(p.records) for p in self._pending.values()),
        )

    def _partition_count(self, topic: str) -> int:
        count = self.broker.topic_partition_count(topic)
        if count is None:
            self.broker.ensure_topic(topic)  # raises when auto-creation is off
            count = self.broker.topic_partition_count(topic)
        if not count:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unknown topic {topic!r}")
        return count

    def _send_batch(self, tp: tuple[str, int]) -> None:
        pending = self._pending.pop(tp, None)
        if pending is None or not pending.records:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        topic, partition = tp
        count = self.broker.topic_partition_count(topic) or 1
        self._sticky.batch_sent(topic, count)
        try:
            data = build_batch(pending.records, compression=self.compression)
            base, _start = self.broker.produce(topic, partition, data)
        except Exception as exc:
            self.errors += 1
            error = exc if isinstance(exc, KafkaError) else KafkaError(
                ErrorCode.UNKNOWN_SERVER_ERROR, repr(exc)
            )
            for fut in pending.futures:
                if not fut.done():
                    fut.set_exception(error)
            return
        self.records_sent += len(pending.records)
        self.bytes_sent += len(data)
        self.batches_sent += 1
        for i, (fut, rec) in enumerate(zip(pending.futures, pending.records, strict=True)):
            if not fut.done():
                fut.set_result(RecordMetadata(topic, partition, base + i, rec[3]))


def _retrieve(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()
