"""Bounded pages of an external cluster's records: the message browser over the wire.

Contract:

* :func:`read_page_external` and :func:`read_next_external` BLOCK (network round
  trips): callers run them in a worker thread, never on the GUI thread or an event loop.
  Each makes its own confluent-kafka ``Consumer`` and closes it before returning.
* The consumer only ever uses ``assign`` with offsets (a seek): it never subscribes, so
  it never joins a consumer group, and it never commits (``enable.auto.commit`` and
  ``enable.auto.offset.store`` are off). Its ``group.id`` is unique per read
  (``streamscope-browse-<random>``) only because librdkafka requires one. It reads with
  ``isolation.level=read_uncommitted``, as the embedded browser shows every record.
* The same page rules as :mod:`core.browse.reader`: :class:`Start` earliest (log start),
  latest (the newest ``max_records`` records, read backwards in growing windows), an
  offset (clamped to [log start, high watermark]) or a timestamp (the cluster's
  ListOffsets by time, via ``offsets_for_times``: the first offset at or after it, the
  high watermark when there is none); at most ``max_records`` records and about
  ``max_bytes`` of payload (at least one record); one partition's page in offset order,
  several merged by timestamp (then partition, offset); a :class:`RecordFilter` walks
  until ``max_records`` records match or the high watermarks (as the read started) are
  reached; :class:`ScanProgress` counts offsets scanned of the total and can cancel
  (checked between polls). :attr:`Page.positions` says where the next page continues;
  :attr:`Page.ranges` are the watermarks as the read started.
* Rows are :class:`BrowsedRecord` as the embedded reader's: topic, partition, offset,
  timestamp and its type, key, value, headers (null header values stay None), size
  (key + value + header names and values, bytes). What a consumer cannot see keeps a
  default: ``compression`` is ``"unknown"``, ``transactional`` False, ``producer_id``
  -1, and control records (transaction markers) are never delivered, so they are not
  rows. Offsets missing inside an unfiltered page get a gap row (``gap`` > 0), whose
  note says a consumer was not given them (compaction removed them, or they are
  transaction markers): over the wire the two cannot be told apart.
* Failures raise :class:`ExternalError` with one line: an unknown topic or partition
  (``UNKNOWN_TOPIC_OR_PART: ...``), an unreachable cluster, failed authentication or
  TLS, or no record arriving for ``timeout_s`` while some were due.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import chain
from typing import Any

from confluent_kafka import (
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from streamscope.core.browse.batches import BrowsedRecord, TimestampType
from streamscope.core.browse.reader import (
    Page,
    PartitionRange,
    RecordFilter,
    ScanProgress,
    Start,
    StartKind,
    by_time,
    newest_within,
    take_oldest,
    with_gaps,
)
from streamscope.core.external_conn import (
    ClientErrors,
    ExternalError,
    ExternalSettings,
    error_reason,
    exception_reason,
)

__all__ = ["read_next_external", "read_page_external"]

_FIRST_WINDOW = 64  # offsets a filtered newest-first read looks back first; grows 4x
_POLL_S = 0.2
_BATCH = 500


def read_page_external(settings: ExternalSettings, topic: str, partition: int | None,
                       start: Start, *, max_records: int, max_bytes: int,
                       record_filter: RecordFilter | None = None,
                       progress: ScanProgress | None = None,
                       timeout_s: float = 10.0) -> Page:
    """The page of ``topic`` (one ``partition``, or all when None) at ``start``."""
    _check_bounds(max_records, max_bytes, timeout_s)
    progress = progress or ScanProgress()
    flt = record_filter if record_filter is not None and record_filter.active else None
    try:
        with _Browser(settings, topic, timeout_s) as b:
            parts = b.partitions(partition)
            marks = b.watermarks(parts)
            single = partition is not None
            if start.kind is StartKind.LATEST:
                return b.newest(marks, max_records, max_bytes, flt, progress, single)
            if start.kind is StartKind.TIMESTAMP:
                found = b.offsets_for_time(parts, start.value)
                begin = {p: marks[p][1] if found[p] < 0 else found[p] for p in parts}
            elif start.kind is StartKind.EARLIEST:
                begin = {p: marks[p][0] for p in parts}
            else:
                begin = {p: start.value for p in parts}
            begin = {p: min(max(o, marks[p][0]), marks[p][1]) for p, o in begin.items()}
            return b.forward(begin, marks, max_records, max_bytes, flt, progress, single)
    finally:
        progress.finished = True


def read_next_external(settings: ExternalSettings, topic: str,
                       positions: Mapping[int, int], *, max_records: int,
                       max_bytes: int, timeout_s: float = 10.0) -> Page:
    """The page after ``positions`` (a previous :attr:`Page.positions`), up to the
    current high watermarks: the next page, or what a live tail has not shown yet."""
    _check_bounds(max_records, max_bytes, timeout_s)
    progress = ScanProgress()
    try:
        with _Browser(settings, topic, timeout_s) as b:
            parts = sorted(positions)
            known = set(b.partitions(None))
            for p in parts:
                if p not in known:
                    raise ExternalError(f"UNKNOWN_TOPIC_OR_PART: {topic} has no partition {p}")
            marks = b.watermarks(parts)
            begin = {p: min(max(int(positions[p]), marks[p][0]), marks[p][1]) for p in parts}
            return b.forward(begin, marks, max_records, max_bytes, None, progress,
                             len(parts) == 1)
    finally:
        progress.finished = True


def _check_bounds(max_records: int, max_bytes: int, timeout_s: float) -> None:
    if max_records < 1 or max_bytes < 1:
        raise ValueError("max_records and max_bytes must be positive")
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")


class _Browser:
    """One consumer for one read of one topic (assign and seek only)."""

    def __init__(self, settings: ExternalSettings, topic: str, timeout_s: float) -> None:
        if not topic:
            raise ValueError("the topic name is empty")
        self.topic = topic
        self.timeout_s = timeout_s
        self.bootstrap = settings.bootstrap
        self.errors = ClientErrors(settings.bootstrap)
        conf: dict[str, Any] = dict(settings.client_config())
        conf.update({
            "group.id": f"streamscope-browse-{uuid.uuid4().hex}",
            "client.id": "streamscope-browse",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "isolation.level": "read_uncommitted",
            "auto.offset.reset": "earliest",  # a position deleted meanwhile: the log start
            "allow.auto.create.topics": False,
            "socket.connection.setup.timeout.ms": int(timeout_s * 1000),
            "error_cb": self.errors,
            "log_level": 0,
        })
        self.consumer = Consumer(conf)

    def __enter__(self) -> _Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        # Assigned, never subscribed, nothing to commit: close() leaves no group.
        self.consumer.close()

    def _fail(self, exc: BaseException, what: str) -> ExternalError:
        fatal = self.errors.fatal()
        if fatal is not None:
            return fatal
        return ExternalError(exception_reason(exc, what))

    def _metadata(self) -> Any:
        """Metadata of the topic, asked in short slices so that failed authentication
        or TLS (reported through error_cb, served by poll) ends the wait early."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                return self.consumer.list_topics(self.topic, timeout=max(0.05, min(0.5, left)))
            except KafkaException as exc:
                self.consumer.poll(0)  # serves error_cb; nothing is assigned yet
                fatal = self.errors.fatal(unreachable=False)
                if fatal is not None:
                    raise fatal from None
                if time.monotonic() >= deadline:
                    fatal = self.errors.fatal()
                    raise fatal or ExternalError(
                        f"cannot reach {self.bootstrap} within {self.timeout_s:g} s: "
                        f"{exception_reason(exc, 'Metadata')}") from None

    def partitions(self, partition: int | None) -> list[int]:
        md = self._metadata()
        meta = md.topics.get(self.topic)
        if meta is None or meta.error is not None:
            err = meta.error if meta is not None else None
            if err is not None and err.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise ExternalError(error_reason(err, "Metadata"))
            raise ExternalError(f"UNKNOWN_TOPIC_OR_PART: there is no topic {self.topic!r}")
        parts = sorted(meta.partitions)
        if partition is None:
            return parts
        if partition not in meta.partitions:
            raise ExternalError(
                f"UNKNOWN_TOPIC_OR_PART: {self.topic} has no partition {partition}")
        return [partition]

    def watermarks(self, parts: Sequence[int]) -> dict[int, tuple[int, int]]:
        out = {}
        for p in parts:
            try:
                low, high = self.consumer.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=self.timeout_s, cached=False)
            except KafkaException as exc:
                raise self._fail(exc, "ListOffsets") from None
            out[p] = (int(low), int(high))
        return out

    def offsets_for_time(self, parts: Sequence[int], ts: int) -> dict[int, int]:
        try:
            got = self.consumer.offsets_for_times(
                [TopicPartition(self.topic, p, ts) for p in parts], timeout=self.timeout_s)
        except KafkaException as exc:
            raise self._fail(exc, "ListOffsets") from None
        out = {}
        for tp in got:
            if tp.error is not None:
                raise ExternalError(error_reason(tp.error, "ListOffsets"))
            out[tp.partition] = int(tp.offset)
        return out

    # -- reading -----------------------------------------------------------------------

    def read(self, ranges: Mapping[int, tuple[int, int]], limit: int, budget: int,
             flt: RecordFilter | None, progress: ScanProgress, *, scan_limit: bool = False
             ) -> tuple[dict[int, list[BrowsedRecord]], dict[int, int]]:
        """Records of each partition in [start, stop) (``ranges``), from start on, until
        a partition has ``limit`` matching records or ``budget`` bytes of them, it
        reaches its stop, the whole read has ``limit`` matches (with ``scan_limit``), or
        the progress is cancelled. Returns the matches and where each partition got to."""
        pos = {p: start for p, (start, _) in ranges.items()}
        stops = {p: stop for p, (_, stop) in ranges.items()}
        matched: dict[int, list[BrowsedRecord]] = {p: [] for p in ranges}
        held = dict.fromkeys(ranges, 0)
        active = {p for p in ranges if pos[p] < stops[p]}
        if not active:
            return matched, pos
        topic = self.topic
        self.consumer.assign([TopicPartition(topic, p, pos[p]) for p in sorted(active)])
        total = 0
        quiet_until = time.monotonic() + self.timeout_s
        try:
            while active and not progress.cancelled:
                if scan_limit and total >= limit:
                    break
                try:
                    msgs = self.consumer.consume(_BATCH, timeout=_POLL_S)
                except KafkaException as exc:
                    raise self._fail(exc, "Fetch") from None
                if not msgs:
                    if time.monotonic() > quiet_until:
                        fatal = self.errors.fatal()
                        raise fatal or ExternalError(
                            f"no records of {topic} arrived within {self.timeout_s:g} s "
                            f"from {self.bootstrap} (partitions {sorted(active)} not read "
                            "to their high watermarks)")
                    continue
                quiet_until = time.monotonic() + self.timeout_s
                for m in msgs:
                    p = m.partition()
                    if p not in active:
                        continue  # fetched before it was done
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            # At the partition's end: nothing more below its stop.
                            active.discard(p)
                            continue
                        raise ExternalError(error_reason(err, "Fetch"))
                    off = m.offset()
                    if off < pos[p]:
                        continue
                    if off >= stops[p]:
                        progress.scanned += stops[p] - pos[p]
                        pos[p] = stops[p]
                        active.discard(p)
                        continue
                    progress.scanned += off + 1 - pos[p]
                    pos[p] = off + 1
                    r = _row(topic, m)
                    if flt is None or flt.matches(r):
                        matched[p].append(r)
                        held[p] += r.size
                        total += 1
                    if pos[p] >= stops[p] or len(matched[p]) >= limit or held[p] >= budget:
                        active.discard(p)
                progress.matched = total
        finally:
            self.consumer.unassign()
        return matched, pos

    def forward(self, begin: dict[int, int], marks: dict[int, tuple[int, int]],
                max_records: int, max_bytes: int, flt: RecordFilter | None,
                progress: ScanProgress, single: bool) -> Page:
        ranges = {p: (begin[p], marks[p][1]) for p in begin}
        progress.total += sum(max(0, stop - start) for start, stop in ranges.values())
        matched, pos = self.read(ranges, max_records, max_bytes, flt, progress,
                                 scan_limit=flt is not None)
        records, after = take_oldest(matched, pos, max_records, max_bytes, single=single)
        if flt is None:
            records = _gaps(records, begin)
        return Page(self.topic, records, tuple(sorted(after.items())),
                    _ranges(marks), sum(pos[p] - begin[p] for p in pos), progress.cancelled)

    def newest(self, marks: dict[int, tuple[int, int]], max_records: int, max_bytes: int,
               flt: RecordFilter | None, progress: ScanProgress, single: bool) -> Page:
        """Each partition read backwards in growing windows from its high watermark
        until it holds ``max_records`` (matching) records or reaches its log start."""
        progress.total += sum(max(0, hi - lo) for lo, hi in marks.values())
        hi = {p: h for p, (_, h) in marks.items()}
        kept: dict[int, list[BrowsedRecord]] = {p: [] for p in marks}
        window = max_records if flt is None else max(_FIRST_WINDOW, max_records)
        open_parts = {p for p, (lo, h) in marks.items() if h > lo}
        scanned = 0
        while open_parts and not progress.cancelled:
            ranges = {p: (max(marks[p][0], hi[p] - window), hi[p]) for p in open_parts}
            # Read each window whole (no limit), then keep the newest that fit.
            got, pos = self.read(ranges, window + 1, 1 << 62, flt, progress)
            for p, (lo, _hi) in ranges.items():
                scanned += pos[p] - lo
                kept[p], full = newest_within(got[p] + kept[p], max_records, max_bytes)
                hi[p] = lo
                if full or lo <= marks[p][0]:
                    open_parts.discard(p)
            window *= 4
        merged = list(chain.from_iterable(kept.values()))
        if not single:
            merged.sort(key=by_time)
        records, _ = newest_within(merged, max_records, max_bytes)
        out = tuple(records)
        if flt is None:
            out = _gaps(out, {})
        return Page(self.topic, out, tuple(sorted((p, h) for p, (_, h) in marks.items())),
                    _ranges(marks), scanned, progress.cancelled)


def _row(topic: str, m: Any) -> BrowsedRecord:
    ts_type, ts = m.timestamp()
    headers = tuple((str(k), v) for k, v in (m.headers() or ()))
    key, value = m.key(), m.value()
    size = len(key or b"") + len(value or b"")
    for name, hv in headers:
        size += len(name.encode("utf-8")) + len(hv or b"")
    kind = (TimestampType.LOG_APPEND_TIME if ts_type == TIMESTAMP_LOG_APPEND_TIME
            else TimestampType.CREATE_TIME)
    return BrowsedRecord(topic, m.partition(), m.offset(), int(ts), kind, key, value,
                         headers, size, "unknown", False, False)


def _gaps(records: Sequence[BrowsedRecord], starts: Mapping[int, int]
          ) -> tuple[BrowsedRecord, ...]:
    out = []
    for r in with_gaps(records, starts):
        if r.gap:
            what = f"offset {r.offset:,}" if r.gap == 1 else (
                f"offsets {r.offset:,} to {r.offset + r.gap - 1:,}")
            r = replace(r, note=f"{what}: not given to a consumer (removed by compaction, "
                                "or transaction markers)")
        out.append(r)
    return tuple(out)


def _ranges(marks: Mapping[int, tuple[int, int]]) -> tuple[PartitionRange, ...]:
    return tuple(PartitionRange(p, lo, hi) for p, (lo, hi) in sorted(marks.items()))
