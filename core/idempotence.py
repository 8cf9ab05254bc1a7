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

Transactions, per partition (:class:`PartitionTxns`, KIP-98): the first offset of each
producer's open transaction (from its first transactional batch), so the last stable
offset (LSO) is the lowest of those, or the high watermark when none is open; and the
aborted transactions (producer id, first offset, offset of the ABORT marker) that a
read_committed Fetch lists so consumers skip their records. :func:`control_batch` builds
a commit/abort marker in Kafka's format (a control batch: attributes transactional +
control, one record whose key is version 0 + type, 0 abort / 1 commit, and whose value
is version 0 + the coordinator epoch); :func:`marker_type` reads it back. On open,
:func:`rebuild_txns` rebuilds the state from the same bounded tail scan as the producer
state (one scan: :func:`tap_transactional` notes the transactional batches on the way;
only the markers that end a transaction seen open are read back). A transaction whose
first batch lies before the scanned tail is not known to be open after a restart, as a
producer is not. The aborted list drops entries below the
log start offset and keeps at most :data:`MAX_ABORTED_TXNS` (the oldest go first: a
read_committed consumer far behind would then see those aborted records).
"""

from __future__ import annotations

import struct
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import crc32c
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.records import BATCH_HEADER_SIZE, BatchHeader, iter_records, seal_batch

# How many recent batches per (producer, partition) are remembered to spot duplicates
# (Kafka keeps 5: a producer has at most 5 requests in flight).
PRODUCER_BATCH_CACHE = 5

# How much of a partition's log (its newest bytes) is scanned on open to rebuild producer
# state. It bounds the open cost, about 0.7-1 us per batch: 100k small batches (8 MB)
# add ~70-120 ms; the worst case, 64 MiB of 80-byte batches (~840k), adds ~0.7 s to the
# ~1.1 s recovery already takes; 64 MiB of 4 KiB batches add ~35 ms (2-core machine,
# warm page cache).
PRODUCER_SCAN_BYTES = 64 * 1024 * 1024

# The batch attributes bits of a transactional batch and of a control batch
# (transaction markers carry no sequences).
_TRANSACTIONAL = 0x10
_CONTROL = 0x20

# Aborted transactions remembered per partition (Kafka keeps them in per-segment
# .txnindex files, deleted with the segments; here the list is bounded instead).
MAX_ABORTED_TXNS = 10_000

# Control record types (the key's second int16).
ABORT = 0
COMMIT = 1


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


# --- transactions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    """An aborted transaction on one partition: its records lie in
    [first_offset, last_offset] (last_offset is the ABORT marker's offset)."""

    producer_id: int
    first_offset: int
    last_offset: int


@dataclass(slots=True)
class PartitionTxns:
    """Open and aborted transactions of one partition (module docstring)."""

    # producer id -> first offset of its open transaction here.
    ongoing: dict[int, int] = field(default_factory=dict)
    # In marker order, so sorted by last offset (bisected by aborted_between).
    aborted: list[AbortedTxn] = field(default_factory=list)

    def appended(self, headers: Sequence[BatchHeader]) -> None:
        """Batches were appended (base offsets patched): open transactions start."""
        ongoing = self.ongoing
        for h in headers:
            if h.attributes & _TRANSACTIONAL and not h.attributes & _CONTROL:
                ongoing.setdefault(h.producer_id, h.base_offset)

    def marker(self, producer_id: int, kind: int, offset: int) -> None:
        """A marker of ``kind`` (ABORT/COMMIT) for ``producer_id`` was written at ``offset``."""
        first = self.ongoing.pop(producer_id, None)
        if kind == ABORT and first is not None:
            aborted = self.aborted
            aborted.append(AbortedTxn(producer_id, first, offset))
            if len(aborted) > MAX_ABORTED_TXNS:
                del aborted[:len(aborted) - MAX_ABORTED_TXNS]

    def last_stable_offset(self, high_watermark: int) -> int:
        """The LSO: below the first open transaction, never past the high watermark."""
        if not self.ongoing:
            return high_watermark
        return min(high_watermark, min(self.ongoing.values()))

    def aborted_between(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping [start, end) (a Fetch's returned range)."""
        aborted = self.aborted
        i = bisect_left(aborted, start, key=_last_offset)
        return [a for a in aborted[i:] if a.first_offset < end]

    def trim(self, log_start: int) -> None:
        """Forget aborted transactions wholly below the log start offset."""
        del self.aborted[:bisect_left(self.aborted, log_start, key=_last_offset)]


def _last_offset(a: AbortedTxn) -> int:
    return a.last_offset


_MARKER_RECORD = struct.Struct(">bbbbbhhbhib")  # see control_batch
_ATTRIBUTES = struct.Struct(">h")


def control_batch(producer_id: int, producer_epoch: int, kind: int,
                  coordinator_epoch: int = 0, timestamp_ms: int | None = None) -> bytearray:
    """A commit (``COMMIT``) or abort (``ABORT``) marker batch, base offset 0.

    One record: length 16, attributes 0, timestamp delta 0, offset delta 0, key of 4
    bytes (version 0, type), value of 6 bytes (version 0, coordinator epoch), no headers;
    varints zigzag-encoded (16 -> 32, 4 -> 8, 6 -> 12).
    """
    record = _MARKER_RECORD.pack(32, 0, 0, 0, 8, 0, kind, 12, 0, coordinator_epoch, 0)
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    batch = bytearray(seal_batch(
        record, records_count=1, base_timestamp=ts, producer_id=producer_id,
        producer_epoch=producer_epoch, transactional=True))
    attributes = _ATTRIBUTES.unpack_from(batch, 21)[0] | _CONTROL
    _ATTRIBUTES.pack_into(batch, 21, attributes)
    struct.pack_into(">I", batch, 17, crc32c.crc32c(memoryview(batch)[21:]))
    return batch


def marker_type(batch: bytes | bytearray | memoryview) -> int | None:
    """ABORT or COMMIT for a stored control batch, None if its record says neither."""
    for r in iter_records(batch):
        if r.key is not None and len(r.key) >= 4:
            kind = struct.unpack_from(">h", r.key, 2)[0]
            return kind if kind in (ABORT, COMMIT) else None
        return None
    return None


def tap_transactional(
    headers: Iterable[Sequence[int]], into: list[tuple[int, int, bool]],
) -> Iterator[Sequence[int]]:
    """Every header of ``headers``, unchanged; those of transactional batches are also
    noted in ``into`` as (base offset, producer id, is a marker). So one scan of a log's
    tail feeds both :func:`rebuild_producers` and :func:`rebuild_txns`."""
    for h in headers:
        attributes = h[5]
        if attributes & _TRANSACTIONAL:
            into.append((h[0], h[9], bool(attributes & _CONTROL)))
        yield h


def rebuild_txns(
    events: Iterable[tuple[int, int, bool]], read_batch: Callable[[int], bytes],
    log_start: int,
) -> PartitionTxns:
    """Open and aborted transactions rebuilt from the transactional batches of a log's
    tail, oldest first (what :func:`tap_transactional` noted); ``read_batch(offset)``
    returns the stored bytes starting with the batch at ``offset``: read only for a
    marker that ends a transaction seen open, to tell a commit from an abort."""
    txns = PartitionTxns()
    ongoing = txns.ongoing
    for offset, pid, control in events:
        if not control:
            ongoing.setdefault(pid, offset)
        elif pid in ongoing:
            data = read_batch(offset)
            kind = marker_type(data[:_batch_size(data)])
            if kind is not None:
                txns.marker(pid, kind, offset)
    txns.trim(log_start)
    return txns


def _batch_size(data: bytes) -> int:
    if len(data) < BATCH_HEADER_SIZE:
        return len(data)
    return struct.unpack_from(">i", data, 8)[0] + 12
