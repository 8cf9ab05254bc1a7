"""Idempotent producers: Kafka's sequence rules and duplicate detection, per partition.

Contract: :func:`check_sequences` runs before an append and either raises Kafka's error
(INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER),
returns the original base offset of a retried single batch (the caller answers with it
and appends nothing), or returns None (append). :func:`record_sequences` runs after the
append. Both are synchronous, so check and record happen in one step on the loop. A
producer unknown to the partition (e.g. after a restart) is accepted at any sequence.
Producer ids themselves are allocated by ``core.meta.MetaStore``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import BatchHeader

# How many recent batches per (producer, partition) are remembered to spot duplicates
# (Kafka keeps 5: a producer has at most 5 requests in flight).
PRODUCER_BATCH_CACHE = 5


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
