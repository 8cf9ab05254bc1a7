"""Bounded pages of a topic's stored records: seek, page, scan with a filter, follow the tail.

Contract:

* :func:`read_page` and :func:`read_next` are coroutines for the BROKER loop (the desktop
  submits them through ``BrokerService.call``; tests await them on the broker's loop).
  They read raw batch bytes from the partition logs there, in synchronous steps with no
  ``await`` inside one read, and decode them (decompression, record parsing, the filter)
  in a worker thread (``asyncio.to_thread``): never on the broker loop, never on the GUI
  thread. They read the logs directly, not through ``Broker.fetch``, so browsing does
  not count as consumer traffic ("Out" throughput) in the monitor.
* A page is bounded: at most ``max_records`` records and about ``max_bytes`` bytes of
  record payload (always at least one record, so a single huge record is still shown).
  One partition's page is in offset order; all partitions' pages are merged by
  timestamp (then partition, offset).
* Where a page starts (:class:`Start`): the earliest offset (log start), the latest (the
  newest ``max_records`` records), an offset (clamped to [log start, high watermark]), or
  a timestamp, resolved per partition as ListOffsets does (candidate batches read on the
  loop, decoded in a worker thread, decompression bounded): the first offset whose
  timestamp is at or after it, or the high watermark when there is none; a batch there
  that cannot be decoded is where the page starts (shown as a note row).
* :class:`RecordFilter` (key / header / text in key or value): pages are walked until
  ``max_records`` records match or the high watermark (as of the start of the scan) is
  reached; a :class:`ScanProgress` reports offsets scanned of the total and can cancel
  (checked between reads; a cancelled scan returns what it matched so far).
* Gaps: offsets missing inside an unfiltered page (a compacted log keeps only the latest
  record per key; offsets never change) get a row of their own
  (:func:`~core.browse.batches.gap_row`, ``BrowsedRecord.gap`` > 0) before the record
  after them, and so does a gap between where a forward read started and its first
  record. A filtered scan shows no gaps (what it skipped did not match).
* :attr:`Page.positions` says where the next page (and a live tail) continues:
  :func:`read_next` reads forward from there up to the current high watermark.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum, auto
from itertools import chain

from streamscope.core.broker import Broker
from streamscope.core.browse.batches import (
    MAX_UNCOMPRESSED,
    BrowsedRecord,
    decode_batch,
    gap_row,
)
from streamscope.core.errors import KafkaError
from streamscope.core.records import (
    first_record_at_time,
    iter_batches,
    parse_header,
    uncompressed_limit,
)

DEFAULT_MAX_RECORDS = 200
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# A filtered scan reads this much per partition and step: steps big enough that a scan
# over many small records is not a step per batch, small enough that progress moves and
# a cancel takes effect soon.
_SCAN_STEP = 1024 * 1024
_MIN_CHUNK = 256 * 1024
# Offsets a newest-first scan looks back per step, to start with; it grows 4x per step.
_FIRST_WINDOW = 64


class StartKind(StrEnum):
    EARLIEST = auto()
    LATEST = auto()
    OFFSET = auto()
    TIMESTAMP = auto()


@dataclass(frozen=True, slots=True)
class Start:
    """Where a page begins: ``value`` is the offset or the timestamp (ms) when it matters."""

    kind: StartKind
    value: int = 0

    @classmethod
    def earliest(cls) -> Start:
        return cls(StartKind.EARLIEST)

    @classmethod
    def latest(cls) -> Start:
        return cls(StartKind.LATEST)

    @classmethod
    def at_offset(cls, offset: int) -> Start:
        return cls(StartKind.OFFSET, offset)

    @classmethod
    def at_time(cls, timestamp_ms: int) -> Start:
        return cls(StartKind.TIMESTAMP, timestamp_ms)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records a scan keeps. ``key``: the key contains these bytes (UTF-8);
    ``header``: a header named so (``name``) or named so with a value containing the
    rest (``name=value``); ``text``: key or value contains it, ignoring ASCII case.
    Empty parts match everything; rows that stand for undecodable batches always match
    (a scan never hides that it could not read something)."""

    key: str = ""
    header: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.key or self.header or self.text)

    def matches(self, r: BrowsedRecord) -> bool:
        if r.placeholder:
            return True
        if self.key and (r.key is None or self.key.encode("utf-8") not in r.key):
            return False
        if self.header and not self._header_matches(r.headers):
            return False
        if self.text:
            needle = self.text.encode("utf-8").lower()
            if not any(b is not None and needle in b.lower() for b in (r.key, r.value)):
                return False
        return True

    def _header_matches(self, headers: Iterable[tuple[str, bytes | None]]) -> bool:
        name, sep, value = self.header.partition("=")
        wanted = value.encode("utf-8")
        for hname, hvalue in headers:
            if hname == name and (not sep or (hvalue is not None and wanted in hvalue)):
                return True
        return False


class ScanProgress:
    """How far a read got, for a GUI to poll (any thread); :meth:`cancel` stops it at its
    next step. Plain counters: a reader sees a value at most one step old."""

    def __init__(self) -> None:
        self.total = 0  # offsets the read may have to look at
        self.scanned = 0  # offsets looked at so far
        self.matched = 0
        self.finished = False
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.scanned / self.total)


@dataclass(frozen=True, slots=True)
class PartitionRange:
    partition: int
    log_start_offset: int
    high_watermark: int


@dataclass(frozen=True, slots=True)
class Page:
    topic: str
    records: tuple[BrowsedRecord, ...]
    # Where the next page (or a live tail) continues, per partition.
    positions: tuple[tuple[int, int], ...]
    # Each partition's log start offset and high watermark as the read ended.
    ranges: tuple[PartitionRange, ...]
    scanned: int = 0  # offsets looked at (more than len(records) when filtering)
    cancelled: bool = False
    skipped: int = 0  # offsets a tail passed over to catch up (read_next's max_behind)

    @property
    def at_end(self) -> bool:
        """Every partition was read up to its high watermark."""
        hw = {r.partition: r.high_watermark for r in self.ranges}
        return all(offset >= hw.get(p, 0) for p, offset in self.positions)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Raw batches of one partition covering offsets [start, next_offset), read on the
    loop; records at ``stop`` or beyond are not part of it."""

    partition: int
    start: int
    stop: int
    data: bytes
    next_offset: int


@dataclass(frozen=True, slots=True)
class _Scan:
    """One read: the topic, the page's bounds, the filter and the progress it reports."""

    broker: Broker
    topic: str
    max_records: int
    max_bytes: int
    flt: RecordFilter | None  # None: no filter, or one that keeps everything
    progress: ScanProgress
    max_uncompressed: int
    single: bool  # one partition: its page is in offset order, not merged by time

    async def decode(self, chunks: Sequence[_Chunk]) -> list[list[BrowsedRecord]]:
        """The records of each chunk, decoded and filtered in a worker thread."""
        return await asyncio.to_thread(self._decode, chunks)

    def _decode(self, chunks: Sequence[_Chunk]) -> list[list[BrowsedRecord]]:
        flt = self.flt
        out = []
        for chunk in chunks:
            kept: list[BrowsedRecord] = []
            for _h, view in iter_batches(chunk.data):
                for r in decode_batch(
                    self.topic, chunk.partition, view, min_offset=chunk.start,
                    max_uncompressed=self.max_uncompressed,
                ):
                    if r.offset < chunk.stop and (flt is None or flt.matches(r)):
                        kept.append(r)
            out.append(kept)
        return out


def _active(record_filter: RecordFilter | None) -> RecordFilter | None:
    return record_filter if record_filter is not None and record_filter.active else None


async def read_page(
    broker: Broker,
    topic: str,
    partition: int | None,
    start: Start,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record_filter: RecordFilter | None = None,
    progress: ScanProgress | None = None,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> Page:
    """The page of ``topic`` (one ``partition``, or all when None) at ``start`` (module
    docstring). Runs on the broker loop."""
    scan = _Scan(
        broker, topic, max_records, max_bytes, _active(record_filter),
        progress or ScanProgress(), max_uncompressed, single=partition is not None,
    )
    try:
        parts = _partitions(broker, topic, partition)
        if start.kind is StartKind.LATEST:
            return await _newest(scan, parts)
        if start.kind is StartKind.TIMESTAMP:
            positions = await _resolve_times(broker, topic, parts, start.value)
        else:
            positions = {p: _resolve(broker, topic, p, start) for p in parts}
        return await _forward(scan, positions)
    finally:
        scan.progress.finished = True


async def read_next(
    broker: Broker,
    topic: str,
    positions: Mapping[int, int],
    *,
    all_partitions: bool = False,
    max_records: int = DEFAULT_MAX_RECORDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record_filter: RecordFilter | None = None,
    progress: ScanProgress | None = None,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_behind: int | None = None,
) -> Page:
    """The page after ``positions`` (a previous :attr:`Page.positions`), up to the current
    high watermark: the next page, or what a live tail has not shown yet. With
    ``all_partitions``, partitions added since are read from their log start. With
    ``max_behind``, a partition further behind its high watermark than that skips ahead
    to ``high watermark - max_behind`` (a live tail shows what is new, not a backlog);
    :attr:`Page.skipped` counts the offsets passed over."""
    scan = _Scan(
        broker, topic, max_records, max_bytes, _active(record_filter),
        progress or ScanProgress(), max_uncompressed,
        single=not all_partitions and len(positions) == 1,
    )
    try:
        pos = dict(positions)
        if all_partitions:
            for p in _partitions(broker, topic, None):
                if p not in pos:
                    pos[p] = broker.partition(topic, p).log.log_start_offset
        skipped = 0
        if max_behind is not None:
            for p, offset in pos.items():
                newest = broker.partition_offsets(topic, p)[1] - max_behind
                if offset < newest:
                    skipped += newest - offset
                    pos[p] = newest
        page = await _forward(scan, pos)
        return replace(page, skipped=skipped) if skipped else page
    finally:
        scan.progress.finished = True


# --- on the broker loop: where to read, and the raw reads -----------------------------


def _partitions(broker: Broker, topic: str, partition: int | None) -> list[int]:
    if partition is not None:
        broker.partition(topic, partition)  # UNKNOWN_TOPIC_OR_PARTITION if it is not there
        return [partition]
    count = broker.topic_partition_count(topic)
    if count is None:
        broker.get_topic(topic)  # raises UNKNOWN_TOPIC_OR_PARTITION
        return []
    return list(range(count))


def _resolve(broker: Broker, topic: str, p: int, start: Start) -> int:
    log_start, hwm = broker.partition_offsets(topic, p)
    if start.kind is StartKind.EARLIEST:
        return log_start
    if start.kind is StartKind.OFFSET:
        return min(max(start.value, log_start), hwm)
    return hwm


async def _resolve_times(broker: Broker, topic: str, parts: list[int], ts: int
                         ) -> dict[int, int]:
    """Per partition, the first offset at or after time ``ts`` (the high watermark when
    none): the candidate batches are read on the loop, decoded in a worker thread (as
    ListOffsets does). A batch that cannot be decoded (corrupt, or a decompression
    bomb) is where the page starts, so the page shows it as a note row."""
    jobs: list[tuple[int, list[bytes], int, int, int]] = []
    for p in parts:
        plog = broker.partition(topic, p).log
        jobs.append((p, plog.timestamp_batches(ts), plog.log_start_offset,
                     plog.log_end_offset, uncompressed_limit(plog.config.max_message_bytes)))

    def decode() -> dict[int, int]:
        out = {}
        for p, batches, log_start, hwm, limit in jobs:
            try:
                found = first_record_at_time(batches, ts, log_start, max_uncompressed=limit)
                offset = hwm if found is None else found[0]
            except KafkaError:
                offset = parse_header(batches[0]).base_offset
            out[p] = min(max(offset, log_start), hwm)
        return out

    return await asyncio.to_thread(decode)


def _read_chunk(
    broker: Broker, topic: str, p: int, offset: int, stop: int, need: int, budget: int
) -> _Chunk:
    """Whole batches of partition ``p`` from ``offset``, covering about ``need`` records
    below ``stop`` within about ``budget`` bytes (always one batch if there is one).
    Synchronous: one step of the loop."""
    plog = broker.partition(topic, p).log
    at = max(offset, plog.log_start_offset)  # records deleted meanwhile are gone
    stop = min(stop, plog.log_end_offset)
    parts: list[bytes] = []
    used = covered = 0
    while at < stop and covered < need and used < budget:
        raw = plog.read(at, budget - used)
        if not raw:
            break
        last = at - 1
        for h, _view in iter_batches(raw):
            covered += min(h.last_offset, stop - 1) - max(h.base_offset, at) + 1
            last = h.last_offset
        if last < at:  # no whole batch came back: nothing more to read here
            break
        parts.append(raw)
        used += len(raw)
        at = last + 1
    return _Chunk(p, max(offset, plog.log_start_offset), stop, b"".join(parts), min(at, stop))


def _ranges(broker: Broker, topic: str, parts: Iterable[int]) -> tuple[PartitionRange, ...]:
    out = []
    for p in parts:
        try:
            low, high = broker.partition_offsets(topic, p)
        except KafkaError:
            continue
        out.append(PartitionRange(p, low, high))
    return tuple(out)


# --- the two directions -------------------------------------------------------------------


async def _forward(scan: _Scan, positions: dict[int, int]) -> Page:
    """From ``positions`` toward each partition's high watermark as of now."""
    broker, topic, progress, flt = scan.broker, scan.topic, scan.progress, scan.flt
    max_records, max_bytes = scan.max_records, scan.max_bytes
    pos = dict(positions)
    stops = {p: broker.partition_offsets(topic, p)[1] for p in pos}
    progress.total += sum(max(0, stops[p] - pos[p]) for p in pos)
    matched: dict[int, list[BrowsedRecord]] = {p: [] for p in pos}
    count = held = scanned = 0
    while not progress.cancelled and count < max_records and held < max_bytes:
        active = [p for p in pos if pos[p] < stops[p]]
        if not active:
            break
        share = _SCAN_STEP if flt is not None else max(1, (max_bytes - held) // len(active))
        chunks = [
            _read_chunk(broker, topic, p, pos[p], stops[p], max_records - count, share)
            for p in active
        ]
        decoded = await scan.decode(chunks)
        for chunk, records in zip(chunks, decoded, strict=True):
            step = max(0, chunk.next_offset - pos[chunk.partition])
            scanned += step
            progress.scanned += step
            if chunk.next_offset <= pos[chunk.partition]:
                stops[chunk.partition] = pos[chunk.partition]  # nothing readable: stop here
            pos[chunk.partition] = chunk.next_offset
            matched[chunk.partition].extend(records)
            count += len(records)
            held += sum(r.size for r in records)
        progress.matched = count
        if flt is None:
            break  # an unfiltered page is one read
    records, pos = take_oldest(matched, pos, max_records, max_bytes, single=scan.single)
    if flt is None:
        # Offsets below the log start were deleted, not compacted: no gap for them.
        starts = {p: max(o, broker.partition_offsets(topic, p)[0]) for p, o in positions.items()}
        records = with_gaps(records, starts)
    return Page(
        topic, records, tuple(sorted(pos.items())), _ranges(broker, topic, pos), scanned,
        progress.cancelled,
    )


async def _newest(scan: _Scan, parts: list[int]) -> Page:
    """The newest ``max_records`` (matching) records: each partition read backwards in
    growing windows from its high watermark until it has enough or reaches its start."""
    broker, topic, progress = scan.broker, scan.topic, scan.progress
    max_records, max_bytes = scan.max_records, scan.max_bytes
    ends: dict[int, int] = {}
    found: dict[int, list[BrowsedRecord]] = {}
    for p in parts:
        low, high = broker.partition_offsets(topic, p)
        ends[p] = high
        progress.total += high - low
    scanned = 0
    for p in parts:
        hi = ends[p]
        window = max_records if scan.flt is None else max(_FIRST_WINDOW, max_records)
        kept: list[BrowsedRecord] = []
        full = False
        while not progress.cancelled and not full:
            low = broker.partition_offsets(topic, p)[0]
            if hi <= low:
                break
            lo = max(low, hi - window)
            at = lo
            block: list[BrowsedRecord] = []
            while at < hi and not progress.cancelled:
                chunk = _read_chunk(broker, topic, p, at, hi, hi - at, max(max_bytes, _MIN_CHUNK))
                if chunk.next_offset <= at:
                    break
                (records,) = await scan.decode([chunk])
                block, _ = newest_within(block + records, max_records, max_bytes)
                progress.scanned += chunk.next_offset - at
                scanned += chunk.next_offset - at
                at = chunk.next_offset
            kept, full = newest_within(block + kept, max_records, max_bytes)
            progress.matched = sum(len(v) for v in found.values()) + len(kept)
            hi = lo
            window *= 4
        found[p] = kept
    merged = list(chain.from_iterable(found.values()))
    if not scan.single:
        merged.sort(key=by_time)
    records, _ = newest_within(merged, max_records, max_bytes)
    if scan.flt is None:
        records = list(with_gaps(records, {}))
    return Page(
        topic, tuple(records), tuple(sorted(ends.items())), _ranges(broker, topic, parts),
        scanned, progress.cancelled,
    )


def with_gaps(
    records: Sequence[BrowsedRecord], starts: Mapping[int, int]
) -> tuple[BrowsedRecord, ...]:
    """``records`` (each partition's in offset order) with a gap row before each record
    that does not follow the previous one of its partition (or ``starts[partition]``,
    where the read began). Rows already in ``records`` count, so this is idempotent."""
    out: list[BrowsedRecord] = []
    expected = dict(starts)
    for r in records:
        want = expected.get(r.partition)
        if want is not None and r.offset > want:
            out.append(gap_row(r.topic, r.partition, want, r.offset - 1, r))
        out.append(r)
        if r.placeholder and not r.gap:
            # An undecodable batch's row stands for a range of unknown length.
            expected.pop(r.partition, None)
        else:
            expected[r.partition] = r.offset + (r.gap or 1)
    return tuple(out)


def by_time(r: BrowsedRecord) -> tuple[int, int, int]:
    return (r.timestamp, r.partition, r.offset)


def newest_within(
    records: list[BrowsedRecord], n: int, max_bytes: int
) -> tuple[list[BrowsedRecord], bool]:
    """The last ``n`` of ``records`` whose payload fits ``max_bytes`` (at least one), and
    whether that left any out (the page is full: older ones need not be read)."""
    out: list[BrowsedRecord] = []
    held = 0
    for r in reversed(records):
        if len(out) >= n or (out and held + r.size > max_bytes):
            break
        out.append(r)
        held += r.size
    out.reverse()
    return out, len(out) < len(records) or len(out) >= n


def take_oldest(
    matched: dict[int, list[BrowsedRecord]],
    pos: dict[int, int],
    n: int,
    max_bytes: int,
    *,
    single: bool,
) -> tuple[tuple[BrowsedRecord, ...], dict[int, int]]:
    """The first ``n`` records (offset order for one partition, time order for several)
    within ``max_bytes`` (at least one), and where each partition continues after them."""
    merged = list(chain.from_iterable(matched.values()))
    if not single:
        merged.sort(key=by_time)
    taken: list[BrowsedRecord] = []
    held = 0
    for r in merged:
        if len(taken) >= n or (taken and held + r.size > max_bytes):
            break
        taken.append(r)
        held += r.size
    rest = merged[len(taken) :]
    after = dict(pos)
    for r in rest:  # a partition continues at its first record not shown
        after[r.partition] = min(after[r.partition], r.offset)
    return tuple(taken), after
