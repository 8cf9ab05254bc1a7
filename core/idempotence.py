"""Idempotent producers: Kafka's sequence rules and duplicate detection, per partition.

Contract: :func:`check_sequences` runs before an append and either raises Kafka's error
(INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER),
returns the original base offset of a retried single batch (the caller answers with it
and appends nothing), or returns None (append). :func:`record_sequences` runs after the
append. Both are synchronous, so check and record happen in one step on the loop. A
producer unknown to the partition is accepted at any sequence.
Producer ids themselves are allocated by ``core.meta.MetaStore``.

Restart: :func:`rebuild_producers` rebuilds a partition's state when it is opened, from
the batch headers of the log's tail (headers only, no record is decoded), as Kafka
rebuilds its producer state from the log. The scan is bounded by
:data:`PRODUCER_SCAN_BYTES` of log (the newest bytes, at a batch boundary): a producer
whose last batch lies further back than that is unknown after a restart (accepted at any
sequence, as Kafka does once a producer's state has expired), and a retry is recognised
only among a producer's last :data:`PRODUCER_BATCH_CACHE` batches, as before the
restart. Everything else behaves across a restart as it did before it: a retried batch
is answered with its original offset, the next sequence is accepted, a gap or an older
epoch is refused. Batches below the log start offset still in the scanned files count
too (the live state keeps them as well).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import BatchHeader

# How many recent batches per (producer, partition) are remembered to spot duplicates
# (Kafka keeps 5: a producer has at most 5 requests in flight).
PRODUCER_BATCH_CACHE = 5

# How much of a partition's log (its newest bytes) is scanned on open to rebuild producer
# state. It bounds the open cost, about 0.7-1 us per batch: 100k small batches (8 MB)
# add ~70-120 ms; the worst case, 64 MiB of 80-byte batches (~840k), adds ~0.7 s to the
# ~1.1 s recovery already takes; 64 MiB of 4 KiB batches add ~35 ms (2-core machine,
# warm page cache).
PRODUCER_SCAN_BYTES = 64 * 1024 * 1024

# The batch attributes bit of a control batch (transaction markers carry no sequences).
_CONTROL = 0x20


@dataclass(slots=True)
class ProducerState:
    """Idempotence bookkeeping for one producer id on one partition."""

    epoch: int
    # (first sequence, last sequence, base offset) of the last few batches, oldest first.
    batches: deque[tuple[int, int, int]] = field(
        default_factory=lambda: deque(maxlen=PRODUCER_BATCH_CACHE))


def check_sequences(producers: dict[int, ProducerState], headers: list[BatchHeader]) -> int | None:
    """Kafka's idempotence rules; the original base offset for a duplicate, else None."""
    for h in headers:
        if h.producer_id < 0 or h.base_sequence < 0:
            continue
        state = producers.get(h.producer_id)
        if state is None:
            continue  # unknown producer (e.g. after a restart): accept any sequence
        if h.producer_epoch < state.epoch:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"Producer epoch {h.producer_epoch} is older than {state.epoch}",
            )
        if h.producer_epoch > state.epoch:
            if h.base_sequence != 0:
                raise KafkaError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"New epoch {h.producer_epoch} must start at sequence 0",
                )
            continue
        last_seq = h.base_sequence + h.last_offset_delta
        for first, last, base in state.batches:
            if first == h.base_sequence and last == last_seq:
                if len(headers) == 1:
                    return base
                raise KafkaError(ErrorCode.DUPLICATE_SEQUENCE_NUMBER)
        expected = (state.batches[-1][1] + 1) & 0x7FFFFFFF if state.batches else None
        if expected is not None and h.base_sequence != expected:
            raise KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"Expected sequence {expected}, got {h.base_sequence}",
            )
    return None


def record_sequences(
    producers: dict[int, ProducerState], headers: list[BatchHeader], base: int
) -> None:
    """Remember the appended batches (first at ``base``) of idempotent producers."""
    offset = base
    for h in headers:
        if h.producer_id >= 0 and h.base_sequence >= 0:
            state = producers.get(h.producer_id)
            if state is None or h.producer_epoch > state.epoch:
                state = producers[h.producer_id] = ProducerState(h.producer_epoch)
            state.batches.append((h.base_sequence, h.base_sequence + h.last_offset_delta, offset))
        offset += h.last_offset_delta + 1


def rebuild_producers(headers: Iterable[Sequence[int]]) -> dict[int, ProducerState]:
    """Producer state rebuilt from stored batch headers, oldest first.

    Each item is a raw header in :class:`BatchHeader` field order (base offset, length,
    leader epoch, magic, crc, attributes, last offset delta, base timestamp, max
    timestamp, producer id, producer epoch, base sequence, records count), as
    ``core.log.segment.Segment.headers_from`` yields them. The result is what
    :func:`record_sequences` would have built appending the same batches: per producer
    its newest epoch and the (first sequence, last sequence, base offset) of its last
    :data:`PRODUCER_BATCH_CACHE` batches in that epoch.
    """
    producers: dict[int, ProducerState] = {}
    get = producers.get
    for h in headers:
        pid = h[9]
        if pid < 0:
            continue  # not idempotent: the common case, kept cheap
        seq = h[11]
        if seq < 0 or h[5] & _CONTROL:
            continue
        epoch = h[10]
        state = get(pid)
        if state is None or epoch > state.epoch:
            state = producers[pid] = ProducerState(epoch)
        elif epoch < state.epoch:
            continue  # a fenced epoch's batch cannot follow a newer one; never regress
        state.batches.append((seq, seq + h[6], h[0]))
    return producers
