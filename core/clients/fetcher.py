"""The fetching half of the in-process :class:`core.clients.Consumer`: positions and reads.

Contract:

* :class:`Partitions` is the consumer's per-partition state, shared with its membership:
  what it owns (``assigned``), the next offset to hand out (``positions``), records read
  but not yet handed out (``buffers``) and what is paused. Membership decides what is
  owned; only :meth:`Partitions.drop` forgets a partition, everywhere at once.
* :meth:`Fetcher.getmany` fetches whole batches from the broker's logs for assigned,
  unpaused partitions, waits up to ``timeout_ms`` (of the consumer's clock) for data, then
  "processes" for ``processing_delay_s`` per record (the lag demo knob; batches shrink so
  each pause stays under ~0.5 s). Positions advance when records are handed out, and only
  for partitions still owned afterwards: a partition revoked meanwhile is left for its new
  owner (at-least-once, no duplicate from this consumer). One ``getmany`` at a time.
* Every ``getmany`` suspends at least once, even when records are ready (a consumer that
  is behind always has some), so a ``while True: await getmany()`` loop never starves the
  broker's loop. A partition whose topic was deleted makes the fetcher call
  ``topic_gone`` (membership drops it and rejoins); ``getmany`` returns ``{}`` at once
  while the consumer is stopping.
* Each fetch in range is told to the broker's activity feed (if any) as this consumer's
  read position, under its in-process client (``local_client``) and
  :data:`core.broker.LOCAL_CLIENT_HOST`, so the monitor shows it as it shows a socket's.
* Transaction markers (control batches) are never handed out; a fetch that returns only
  markers moves the position past them. Records of aborted transactions are handed out
  (the in-process consumer reads uncommitted, as Kafka's read_uncommitted).
* Positions start at the committed offset if it is in range, else where
  ``auto_offset_reset`` says (``none`` raises OFFSET_OUT_OF_RANGE), and are reset the same
  way when retention or DeleteRecords moves the log start past them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from streamscope.core.broker import LOCAL_CLIENT_HOST
from streamscope.core.clients.clock import Clock, sleep
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.protocol import ApiKey
from streamscope.core.records import iter_batches, iter_records

if TYPE_CHECKING:
    from streamscope.core.broker import Broker, LocalClient

TopicPartition = tuple[str, int]
# Most a processing-delay pause may last before records are handed out.
MAX_PROCESSING_PAUSE_S = 0.5
Count = Callable[[ApiKey, int], None]


@dataclass(frozen=True, slots=True)
class ConsumerRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(slots=True)
class Partitions:
    """What a consumer owns and where it stands on each partition (broker loop only)."""

    assigned: set[TopicPartition] = field(default_factory=set)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    buffers: dict[TopicPartition, deque[ConsumerRecord]] = field(default_factory=dict)
    paused: set[TopicPartition] = field(default_factory=set)

    def drop(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self.assigned.discard(tp)
            self.positions.pop(tp, None)
            self.buffers.pop(tp, None)
            self.paused.discard(tp)

    def fetchable(self) -> list[TopicPartition]:
        return sorted(tp for tp in self.assigned if tp not in self.paused
                      and tp in self.positions)


@dataclass(eq=False, repr=False)
class Fetcher:
    """Reads for one consumer, built by it: ``count`` tallies a request against the
    consumer's in-process client, ``stopped`` says the consumer is stopping, and
    ``topic_gone`` tells it a fetched topic was deleted."""

    broker: Broker
    partitions: Partitions
    _: KW_ONLY
    clock: Clock
    count: Count
    stopped: Callable[[], bool]
    topic_gone: Callable[[], None]
    auto_offset_reset: str
    max_poll_records: int
    max_partition_fetch_bytes: int
    processing_delay_s: float
    # The consumer's in-process client while it is registered (its read positions).
    local_client: Callable[[], LocalClient | None] | None = None
    records_consumed: int = field(default=0, init=False)
    _rotate: int = field(default=0, init=False)

    # --- positions --------------------------------------------------------------------

    def exists(self, tp: TopicPartition) -> bool:
        count = self.broker.topic_partition_count(tp[0])
        return count is not None and 0 <= tp[1] < count

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self.partitions.assigned:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{tp} is not assigned")
        self.partitions.positions[tp] = offset
        self.partitions.buffers.pop(tp, None)

    def start_position(self, tp: TopicPartition, committed: int | None) -> int:
        """Where a newly assigned partition starts, given its committed offset (if any)."""
        if committed is not None and committed >= 0:
            return self._in_range(tp, committed)
        return self.reset_position(tp)

    def reset_position(self, tp: TopicPartition) -> int:
        try:
            start, end = self.broker.partition_offsets(*tp)
        except KafkaError:
            return 0
        if self.auto_offset_reset == "earliest":
            return start
        if self.auto_offset_reset == "latest":
            return end
        raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"no committed offset for {tp}")

    def _in_range(self, tp: TopicPartition, offset: int) -> int:
        try:
            start, end = self.broker.partition_offsets(*tp)
        except KafkaError:
            return offset
        return offset if start <= offset <= end else self.reset_position(tp)

    # --- fetching ---------------------------------------------------------------------

    async def getmany(
        self, timeout_ms: float, max_records: int | None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        clock = self.clock
        limit = max_records or self.max_poll_records
        delay = self.processing_delay_s
        if delay > 0:
            limit = max(1, min(limit, int(MAX_PROCESSING_PAUSE_S / delay)))
        deadline = clock.time() + timeout_ms / 1000
        waited = False
        while True:
            if self.stopped():
                await asyncio.sleep(0)
                return {}
            batch, starts = self._take(limit)
            if batch:
                break
            remaining = deadline - clock.time()
            if remaining <= 0:
                if not waited:
                    await asyncio.sleep(0)
                return {}
            waits = [(t, p, self.partitions.positions[(t, p)])
                     for (t, p) in self.partitions.fetchable()]
            # Both always suspend (wait_for_data even for a deleted partition or a closed
            # broker), so this loop cannot spin. Short waits, on the loop's time: an
            # assignment change or new data must be noticed promptly whatever the clock.
            if waits:
                await self.broker.wait_for_data(waits, min(remaining, 0.1))
            else:
                await asyncio.sleep(min(remaining, 0.05))
            waited = True
        if delay > 0:
            await sleep(clock, delay * sum(len(r) for r in batch.values()))
        elif not waited:
            # Records were ready at once (a consumer behind always has some): yield anyway,
            # or a poll loop would keep the broker's loop to itself until it caught up.
            await asyncio.sleep(0)
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        positions = self.partitions.positions
        for tp, records in batch.items():
            # Hand out only what is still ours and not moved by a seek or a rebalance
            # since it was taken. The first record may lie past the position: a
            # compacted log has gaps, and markers take offsets.
            if tp in self.partitions.assigned and positions.get(tp) == starts[tp]:
                positions[tp] = records[-1].offset + 1
                self.records_consumed += len(records)
                out[tp] = records
        return out

    def _take(
        self, limit: int
    ) -> tuple[dict[TopicPartition, list[ConsumerRecord]], dict[TopicPartition, int]]:
        """Up to ``limit`` buffered records, and each partition's position as they were
        taken (where they continue from)."""
        tps = self.partitions.fetchable()
        starts: dict[TopicPartition, int] = {}
        if not tps:
            return {}, starts
        self._rotate = (self._rotate + 1) % len(tps)
        tps = tps[self._rotate:] + tps[:self._rotate]  # fairness across partitions
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        left = limit
        for tp in tps:
            if left <= 0:
                break
            if tp not in self.partitions.positions:
                continue  # dropped by a _fill above (its topic was deleted)
            buf = self.partitions.buffers.get(tp)
            if not buf:
                buf = self._fill(tp)
                if not buf:
                    continue
            taken = [buf.popleft() for _ in range(min(left, len(buf)))]
            out[tp] = taken
            starts[tp] = self.partitions.positions[tp]
            left -= len(taken)
        return out, starts

    def _note_read(self, tp: TopicPartition, offset: int) -> None:
        feed = self.broker.activity
        client = self.local_client() if self.local_client is not None else None
        if feed is not None and client is not None:
            feed.fetched(client.conn_id, client.client_id, LOCAL_CLIENT_HOST,
                         ((tp[0], tp[1], offset),))

    def _fill(self, tp: TopicPartition) -> deque[ConsumerRecord] | None:
        positions = self.partitions.positions
        position = positions[tp]
        try:
            result = self.broker.fetch(tp[0], tp[1], position, self.max_partition_fetch_bytes)
        except KafkaError as exc:
            if not self.exists(tp):
                # The topic was deleted: membership drops all of it and rejoins, so the
                # group's next assignment leaves it out (and nobody waits on it meanwhile).
                self.topic_gone()
            elif exc.code == ErrorCode.OFFSET_OUT_OF_RANGE:
                # Retention or DeleteRecords moved the log start past us: reset, as
                # auto.offset.reset says, instead of waiting on data we can never read.
                positions[tp] = self.reset_position(tp)
            return None
        except (ValueError, OSError):
            return None  # its log closed with the broker: nothing to read, ever
        self.count(ApiKey.FETCH, len(result.records))
        if position > result.high_watermark or position < result.log_start_offset:
            positions[tp] = self.reset_position(tp)
            return None
        if not result.records:
            self._note_read(tp, position)
            return None
        topic, partition = tp
        buf = deque(
            ConsumerRecord(topic, partition, r.offset, r.timestamp, r.key, r.value, r.headers)
            for h, batch in iter_batches(result.records)
            if not h.is_control  # transaction markers are not records to hand out
            for r in iter_records(batch)
            if r.offset >= position
        )
        if not buf and result.next_offset > position:
            # Only transaction markers: step over them, or the next fetch reads them again.
            positions[tp] = result.next_offset
        # Read to past what this fetch handed over, as the broker counts a real client's.
        self._note_read(tp, buf[-1].offset + 1 if buf else position)
        self.partitions.buffers[tp] = buf
        return buf
