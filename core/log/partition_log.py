"""A partition's log: an ordered list of segments in one directory.

Contract:

* Layout: ``<dir>/<20-digit base offset>.log`` + ``.index`` + ``.timeindex`` per
  segment, and ``<dir>/log-start-offset`` (a decimal number, replaced atomically by
  tmp + fsync + rename) once DeleteRecords has moved the log start inside a segment.
* Offsets: :attr:`PartitionLog.next_offset` is the next offset to assign (Kafka's log
  end offset); :attr:`PartitionLog.log_end_offset` is the end of what readers see (the
  high watermark, one replica): the same number, except under deferred sync (below).
  An empty log starts at the checkpointed log start (or 0). When every segment is gone
  the new empty active segment is named after the log end offset, so offsets are
  never reused.
* Threads: everything except :meth:`PartitionLog.flush` runs on the owner's thread
  (the broker's event loop). ``flush`` may run in a worker thread at the same time as
  ``append``/``read``/retention: it snapshots the segments appended to since the last
  flush under a lock, duplicates their descriptors (so a concurrent close or delete
  cannot pull a descriptor away or let it be reused), and fsyncs the duplicates.
  Every byte written before ``flush`` was called is durable when it returns; when it
  raises, what it did not sync stays dirty for the next flush.
* Fsync policy: ``"always"`` fdatasyncs the segment before :meth:`append` returns (and
  the directory when a segment is created), unless :meth:`PartitionLog.defer_sync` was
  called (the broker does, in core/flusher.py): then appends only write, the owner's
  flusher thread calls ``flush(data_only=True)`` and then
  :meth:`PartitionLog.advance_high_watermark` on the owner's thread, and until then the
  records are not visible: :meth:`read`, :attr:`log_end_offset` and the timestamp
  lookups stop at the high watermark, so no reader sees a record a crash can take back.
  ``"interval"`` leaves syncing to ``flush`` and everything written is visible.
  Indexes are never relied on for durability: their entries are written in groups
  (see offset_index.py) and recovery rebuilds whatever they miss.
* Every open, write, fsync and close of this module's files goes through
  ``core.log.files.FILES`` (tests inject faults there).
* Recovery on :meth:`PartitionLog.open` validates each segment's tail from its last
  trustworthy index entry (see segment.py), truncating torn or corrupt batches, so a
  corrupt batch is never served.
* Log compaction (core/log/cleaner.py, ``cleanup.policy`` with ``compact``): the
  cleaner rewrites older segments in place of the old (:meth:`swap_cleaned`, on the
  owner's thread), keeping offsets, so a compacted log has gaps: :meth:`read` from an
  offset that is gone answers from the next batch that exists, the timestamp lookups
  skip batches emptied by compaction, and an older segment ends where the next one
  begins even when its last batches were removed. :attr:`cleaner` holds the checkpoint
  (``<dir>/cleaner-checkpoint``) and progress; :meth:`compaction` is the monitor's view.
  :meth:`open` deletes what an interrupted pass left (``*.cleaned``). Retention
  (:meth:`enforce_retention`) deletes only under a policy with ``delete``; a segment
  emptied by compaction ages by its file time, kept from before the cleaning.
"""

from __future__ import annotations

import os
import re
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import cleaner as _cleaner
from streamscope.core.log import files
from streamscope.core.log.segment import Segment
from streamscope.core.records import (
    BatchHeader,
    first_record_at_time,
    iter_records,
    uncompressed_limit,
)

CHECKPOINT_NAME = "log-start-offset"
_SEGMENT_RE = re.compile(r"^(\d{20})\.(log|index|timeindex)$")


class SegmentInfo(NamedTuple):
    base_offset: int
    size_bytes: int
    last_modified: float  # seconds since the epoch (time.time() style)


class PartitionLog:
    """The segments of one partition; see the module docstring for the guarantees."""

    def __init__(self, directory: Path, config: LogConfig, topic: str, partition: int) -> None:
        # Use PartitionLog.open(); this only sets fields.
        self._directory = directory
        self.config = config  # the broker swaps it when topic configs change
        self.topic = topic
        self.partition = partition
        self._segments: list[Segment] = []
        self._bases: list[int] = []
        self._log_start = 0
        self._size = 0
        self._closed = False
        self._lock = threading.Lock()  # guards _dirty, _dir_dirty and closing descriptors
        self._dirty: set[Segment] = set()
        self._dir_dirty = False
        # Deferred sync (fsync "always" under the broker's flusher thread, see
        # :meth:`defer_sync`): the high watermark, and where it is in the files.
        # ``_hw`` None: no deferral, the high watermark is the log end.
        self._hw: int | None = None
        self._hw_seg: Segment | None = None
        self._hw_pos = 0
        # (end offset, segment, end position) of each append not yet durable, in order.
        self._unsynced: deque[tuple[int, Segment, int]] = deque()
        # Log compaction (core/log/cleaner.py): checkpoint and progress, on the owner's thread.
        self.cleaner = _cleaner.CleanerState()
        # The partition's transactions (set by the broker; the cleaner stops at their
        # last stable offset and drops aborted records). None: none are tracked.
        self.txns: _cleaner.TxnBounds | None = None

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def open(
        cls, directory: Path, config: LogConfig, *, topic: str = "", partition: int = 0
    ) -> PartitionLog:
        """Open (creating if missing) and recover the log in ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        log = cls(directory, config, topic, partition)
        try:
            log._load()
        except BaseException:
            log._close_fds()
            raise
        return log

    def _load(self) -> None:
        d = self._directory
        # A merge of cleaned segments is finished (or discarded) before listing them.
        _cleaner.finish_merges(d)
        logs: set[int] = set()
        others: list[tuple[int, Path]] = []
        for entry in os.scandir(d):
            m = _SEGMENT_RE.match(entry.name)
            if m is None:
                if entry.name == CHECKPOINT_NAME + ".tmp":
                    os.unlink(entry.path)  # an interrupted checkpoint write
                continue
            if m.group(2) == "log":
                logs.add(int(m.group(1)))
            else:
                others.append((int(m.group(1)), Path(entry.path)))
        for base, path in others:
            if base not in logs:
                path.unlink()  # index of a segment that was being deleted
        # A cleaner pass the process died in: its segments were never renamed in.
        _cleaner.remove_leftovers(d)
        self.cleaner = _cleaner.load_checkpoint(d)
        checkpoint = self._read_checkpoint()
        interval = self.config.index_interval_bytes
        ordered = sorted(logs)
        for base in ordered:
            # Only the newest segment may have a torn tail to cut; an older one with a bad
            # batch raises (CorruptSegmentError: the broker takes the partition offline).
            self._add_segment(
                Segment.open_existing(d, base, interval, last=base == ordered[-1]))
        if not self._segments:
            self._add_segment(Segment.create(d, checkpoint or 0))
            self._dir_dirty = True
        # A cleaned segment may have lost its last batches: it still ends where the next
        # one begins (offsets are never reused).
        for seg, after in zip(self._segments, self._segments[1:], strict=False):
            seg.next_offset = max(seg.next_offset, after.base_offset)
        self._log_start = max(self._segments[0].base_offset, checkpoint or 0)
        if self.cleaner.clean_offset > self._segments[-1].next_offset:
            # The log lost a tail the checkpoint had seen (a power loss in interval
            # mode): offsets past the end will be reused, so nothing is known clean.
            self.cleaner = _cleaner.CleanerState()
        # Segments wholly below a checkpointed log start (a crash between writing the
        # checkpoint and deleting them).
        while len(self._segments) > 1 and self._segments[0].next_offset <= self._log_start:
            self._remove_segment(self._segments[0])
        if self._log_start > self.log_end_offset:
            # The checkpoint outlived the data above it (a torn tail): keep offsets
            # monotonic by starting afresh at the checkpoint rather than reusing them.
            fresh = Segment.create(d, self._log_start)
            for seg in list(self._segments):
                self._remove_segment(seg)
            self._add_segment(fresh)
            self._dir_dirty = True

    def _read_checkpoint(self) -> int | None:
        try:
            text = (self._directory / CHECKPOINT_NAME).read_text("ascii").strip()
            value = int(text)
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return None
        return value if value >= 0 else None

    def _write_checkpoint(self, value: int) -> None:
        path = self._directory / CHECKPOINT_NAME
        tmp = path.with_name(CHECKPOINT_NAME + ".tmp")
        ops = files.FILES
        fd = ops.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            files.write_all(fd, f"{value}\n".encode("ascii"))
            ops.fsync(fd)
        finally:
            ops.close(fd)
        os.replace(tmp, path)
        files.fsync_dir(self._directory)

    # --- properties -------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def log_start_offset(self) -> int:
        return self._log_start

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def log_end_offset(self) -> int:
        """The end of what readers may see (the high watermark): the next offset to
        assign, or with deferred sync the end of what is durable."""
        hw = self._hw
        return self._segments[-1].next_offset if hw is None else hw

    @property
    def next_offset(self) -> int:
        """The next offset an append gets (Kafka's log end offset): with deferred sync
        it runs ahead of :attr:`log_end_offset` until the flusher syncs."""
        return self._segments[-1].next_offset

    @property
    def unsynced(self) -> bool:
        """Deferred sync only: appended records not yet durable (and so not visible)."""
        hw = self._hw
        return hw is not None and hw < self._segments[-1].next_offset

    # --- deferred sync ----------------------------------------------------------------

    def defer_sync(self) -> None:
        """fsync "always" without syncing in :meth:`append`: the caller (the broker's
        flusher thread) calls :meth:`flush` and then, on the owner's thread,
        :meth:`advance_high_watermark` to what that flush covered. Until then appended
        records are neither visible (:attr:`log_end_offset`, :meth:`read`) nor durable.
        Whatever the open found on disk is treated as visible; its segment is marked
        dirty so the first flush makes it durable too."""
        if self._hw is not None or self.config.fsync != "always":
            return
        seg = self._segments[-1]
        self._hw = seg.next_offset
        self._hw_seg = seg
        self._hw_pos = seg.size
        with self._lock:
            self._dirty.add(seg)
            self._dir_dirty = True

    def advance_high_watermark(self, offset: int) -> bool:
        """Deferred sync: every record below ``offset`` is durable (a flush called after
        they were written returned); True if the high watermark moved."""
        hw = self._hw
        if hw is None or offset <= hw:
            return False
        pending = self._unsynced
        while pending and pending[0][0] <= offset:
            end, seg, pos = pending.popleft()
            self._hw_seg = seg
            self._hw_pos = pos
        self._hw = min(offset, self._segments[-1].next_offset)
        return True

    @property
    def size_bytes(self) -> int:
        return self._size

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def segments(self) -> list[Segment]:
        """The segments now, oldest first (a copy; the log cleaner plans over it)."""
        return list(self._segments)

    def has_segments(self, segs: list[Segment]) -> bool:
        """Whether ``segs`` are still consecutive segments of this log (not active)."""
        for i, s in enumerate(self._segments[:-1]):
            if s is segs[0]:
                return all(a is b for a, b in zip(self._segments[i:], segs, strict=False)) \
                    and i + len(segs) < len(self._segments)
        return False

    def swap_cleaned(
        self, olds: list[Segment], tmp_log: Path, tmp_index: Path, tmp_time: Path,
        manifest: Path | None, *, size: int, max_timestamp: int,
        entries: list[tuple[int, int, int]], bytes_since_index: int, last_modified: float,
    ) -> None:
        """Put the log cleaner's rewrite of the consecutive segments ``olds`` in their
        place (owner's thread): its files were written and synced by the cleaner (with
        ``manifest`` naming ``olds[1:]`` for a merge); here the log is renamed over the
        first one's (the commit point), then its indexes, the others' files deleted and
        the manifest last, and the in-memory segments replaced. OSError if the log's
        rename fails (nothing changed then)."""
        self._check_open()
        first = olds[0]
        i = next(k for k, s in enumerate(self._segments) if s is first)
        with self._lock:
            for old in olds:
                old.close()
        files.FILES.replace(tmp_log, first.log_path)
        for tmp, path in ((tmp_index, first.index.index_path),
                          (tmp_time, first.index.time_path)):
            try:
                files.FILES.replace(tmp, path)
            except OSError:
                # Stale index files are rebuilt by the next open (older segments are
                # validated whole); the new segment's index is right in memory.
                pass
        for old in olds[1:]:
            old.delete_files()
        if manifest is not None:
            manifest.unlink()
        new = Segment.adopt_cleaned(
            self._directory, first.base_offset, size=size, next_offset=olds[-1].next_offset,
            max_timestamp=max_timestamp, entries=entries, bytes_since_index=bytes_since_index,
            created_ms=first.created_ms, last_modified=last_modified)
        n = len(olds)
        self._segments[i : i + n] = [new]
        self._bases[i : i + n] = [new.base_offset]
        self._size += size - sum(s.size for s in olds)
        with self._lock:
            if any(s in self._dirty for s in olds):
                self._dirty.difference_update(olds)
                self._dirty.add(new)
            self._dir_dirty = True
        if any(self._hw_seg is s for s in olds):
            self._hw_seg = new

    def compaction(self) -> _cleaner.CompactionStatus | None:
        """The cleaner's view of this log for the monitor; None unless compacted."""
        if not self.config.compact or self._closed:
            return None
        return _cleaner.status(self, int(time.time() * 1000))

    def segment_infos(self) -> list[SegmentInfo]:
        """(base offset, bytes, last modified epoch seconds) per segment, oldest first."""
        return [SegmentInfo(s.base_offset, s.size, s.last_modified) for s in self._segments]

    # --- append -----------------------------------------------------------------------

    def append(
        self, data: bytearray | memoryview, headers: list[BatchHeader]
    ) -> tuple[int, int]:
        """Assign offsets to validated batches and write them with one ``write()``.

        ``data`` (a bytearray or writable memoryview) is patched in place (base offsets,
        leader epoch 0) and so are the ``headers``' base offsets. Returns (first batch's
        base offset, last offset).
        """
        if self._closed:
            raise ValueError(f"log {self._directory} is closed")
        if not headers:
            raise ValueError("append needs at least one batch")
        cfg = self.config
        seg = self._segments[-1]
        nbytes = len(data)
        now = time.time()
        if seg.size and (
            seg.size + nbytes > cfg.segment_bytes
            or now * 1000 - seg.created_ms > cfg.roll_ms
            or not seg.fits(nbytes)
        ):
            self.roll()
            seg = self._segments[-1]
        first = seg.next_offset
        seg.append(data, headers, cfg.index_interval_bytes, now)
        self._size += nbytes
        if self._hw is not None:
            self._unsynced.append((seg.next_offset, seg, seg.size))
            if seg not in self._dirty:
                with self._lock:
                    self._dirty.add(seg)
        elif cfg.fsync == "always":
            seg.datasync()
        elif seg not in self._dirty:
            # Marked after the write, so a flush that takes it from the set syncs it.
            with self._lock:
                self._dirty.add(seg)
        return first, seg.next_offset - 1

    def roll(self) -> None:
        """Start a new active segment at the log end offset (no-op if the active is empty)."""
        self._check_open()
        active = self._segments[-1]
        if active.size == 0:
            return
        seg = Segment.create(self._directory, active.next_offset)
        active.index.persist()
        self._add_segment(seg)
        if self.config.fsync == "always" and self._hw is None:
            files.fsync_dir(self._directory)
        else:
            with self._lock:
                self._dir_dirty = True

    # --- read -------------------------------------------------------------------------

    def tail_headers(self, max_bytes: int) -> Iterator[tuple[int, ...]]:
        """Raw batch headers (``Segment.headers_from``'s tuples) of about the newest
        ``max_bytes`` of the log, oldest first; read-only, no record is decoded. The scan
        starts at the indexed batch boundary at or before that point, so it may cover up
        to one index interval more (core/idempotence.py rebuilds producer state from it).
        """
        self._check_open()
        tail: list[Segment] = []
        remaining = max_bytes
        for seg in reversed(self._segments):
            tail.append(seg)
            remaining -= seg.size
            if remaining <= 0:
                break
        tail.reverse()
        for i, seg in enumerate(tail):
            start = seg.index.boundary_at_or_before(-remaining) if i == 0 and remaining < 0 else 0
            for _pos, h in seg.headers_from(start):
                yield h

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches from the one containing ``offset``, about ``max_bytes`` worth.

        Always at least one whole batch when any exists at or after ``offset``; b"" at
        the log end offset; OFFSET_OUT_OF_RANGE outside [log start, log end].
        """
        self._check_open()
        segments = self._segments
        end_offset = segments[-1].next_offset
        if offset < self._log_start or offset > end_offset:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"Offset {offset} is outside [{self._log_start}, {end_offset}] "
                f"of {self.topic}-{self.partition}",
            )
        hw = self._hw
        if offset == end_offset or (hw is not None and offset >= hw):
            return b""  # at the end, or past the high watermark (Kafka: empty, no error)
        parts: list[bytes] = []
        budget = max_bytes
        for i in range(max(bisect_right(self._bases, offset) - 1, 0), len(segments)):
            seg = segments[i]
            limit = -1  # no cap: the segment's size
            if hw is not None and seg.next_offset > hw:
                # Records past the high watermark are not durable yet: never served.
                limit = self._hw_pos if seg is self._hw_seg else 0
            if not parts:
                start = seg.locate(max(offset, seg.base_offset))
                if start is None:
                    continue  # nothing at/after offset here (a gap left by recovery)
                end = seg.boundary(start, budget)
                if limit >= 0:
                    end = min(end, limit)  # both are batch boundaries
                    if end <= start:
                        break
            else:
                # Spill into the next segment only with whole batches that fit.
                start = 0
                end = seg.boundary(0, budget, at_least_one=False)
                if limit >= 0:
                    end = min(end, limit)
                if end == 0:
                    break
            parts.append(seg.read(start, end))
            budget -= end - start
            if end < seg.size or budget <= 0 or limit >= 0:
                break
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    # --- timestamps -------------------------------------------------------------------

    def offset_for_timestamp(self, ts_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at/after log start with timestamp >= ts,
        None past the high watermark. Decodes on the caller's thread (under the bound of
        ``max.message.bytes``); ListOffsets decodes :meth:`timestamp_batches` off the loop."""
        found = first_record_at_time(
            self.timestamp_batches(ts_ms), ts_ms, self._log_start,
            max_uncompressed=uncompressed_limit(self.config.max_message_bytes))
        if found is None or found[0] >= self.log_end_offset:
            return None  # none, or past the high watermark: not visible yet
        return found

    def timestamp_batches(self, ts_ms: int) -> list[bytes]:
        """The stored bytes of the batches holding the first record at/after log start
        with timestamp >= ``ts_ms``, for ListOffsets to decode in a worker thread.

        Header scan and reads only, no decoding (so a decompression bomb costs the loop
        nothing here): the first batch whose largest timestamp reaches ``ts_ms`` and
        that holds a live offset, and, when it straddles the log start, the next such
        batch too (whose records are all live, so it holds a match).
        ``core.records.first_record_at_time`` finds the record; the caller checks it
        against the high watermark.
        """
        self._check_open()
        log_start = self._log_start
        found: list[bytes] = []
        for seg in self._segments:
            if seg.size == 0 or seg.max_timestamp < ts_ms or seg.next_offset <= log_start:
                continue
            start = seg.index.position_for_timestamp(ts_ms)
            if seg.base_offset < log_start:
                first = seg.locate(log_start)
                if first is None:
                    continue
                start = max(start, first)
            for pos, h in seg.headers_from(start):
                if h[8] < ts_ms or h[0] + h[6] < log_start or h[12] == 0:
                    continue  # older, below the log start, or emptied by compaction
                found.append(seg.read(pos, pos + h[1] + 12))
                if h[0] >= log_start or len(found) == 2:
                    return found
        return found

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the (first) record with the largest timestamp."""
        self._check_open()
        best = -1
        log_start = self._log_start
        for seg in self._segments:
            if seg.size == 0 or seg.next_offset <= log_start:
                continue
            if seg.base_offset < log_start:
                seg_max = self._max_timestamp_from(seg, log_start)
            else:
                seg_max = seg.max_timestamp
            best = max(best, seg_max)
        if best < 0:
            return None
        return self.offset_for_timestamp(best)

    def _max_timestamp_from(self, seg: Segment, offset: int) -> int:
        """Largest record timestamp in ``seg`` at or after ``offset``."""
        start = seg.locate(offset)
        best = -1
        if start is None:
            return best
        for pos, h in seg.headers_from(start):
            if h[0] >= offset:
                best = max(best, h[8])
            else:  # the batch straddling the log start: only its live records count
                for r in iter_records(seg.read(pos, pos + h[1] + 12)):
                    if r.offset >= offset:
                        best = max(best, r.timestamp)
        return best

    # --- deletion ---------------------------------------------------------------------

    def delete_records(self, before_offset: int) -> int:
        """Move the log start to ``before_offset`` (-1: high watermark); returns it.

        Persists the new log start, then deletes every segment wholly below it (rolling
        first when that is all of them, so the log end offset survives).
        """
        self._check_open()
        end_offset = self.log_end_offset
        if before_offset == -1:
            before_offset = end_offset
        if before_offset < 0 or before_offset > end_offset:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"Cannot delete records before {before_offset}: log ends at {end_offset}",
            )
        if before_offset <= self._log_start:
            return self._log_start
        self._write_checkpoint(before_offset)
        self._log_start = before_offset
        if before_offset == end_offset:
            self.roll()
        while len(self._segments) > 1 and self._segments[0].next_offset <= before_offset:
            self._remove_segment(self._segments[0])
        return self._log_start

    def enforce_retention(self, now_ms: int | None = None) -> int:
        """Delete old segments past retention.ms / retention.bytes; returns how many.

        Time: a segment expires when now - its largest timestamp (file mtime if it has
        none) > retention.ms; an expired prefix of segments goes. Size (Kafka's rule): the
        oldest segments go while the log stays at least retention.bytes without them.
        If that takes the non-empty active segment too, the log rolls first.
        """
        self._check_open()
        cfg = self.config
        if not cfg.delete:
            return 0  # cleanup.policy=compact: only the cleaner removes records
        now = int(time.time() * 1000) if now_ms is None else now_ms
        count = 0
        if cfg.retention_ms >= 0:
            # Not an empty active segment; an older one emptied by compaction ages by mtime.
            segs = self._segments if self._segments[-1].size else self._segments[:-1]
            for seg in segs:
                newest = seg.max_timestamp if seg.max_timestamp >= 0 else seg.last_modified * 1000
                if now - newest <= cfg.retention_ms:
                    break
                count += 1
        if cfg.retention_bytes >= 0:
            excess = self._size - cfg.retention_bytes
            by_size = 0
            for seg in self._segments:
                if excess - seg.size < 0 or seg is self._segments[-1] and seg.size == 0:
                    break
                excess -= seg.size
                by_size += 1
            count = max(count, by_size)
        if count == 0:
            return 0
        if count >= len(self._segments):
            self.roll()
        for seg in self._segments[:count]:
            self._remove_segment(seg)
        self._log_start = max(self._log_start, self._segments[0].base_offset)
        return count

    # --- durability and lifecycle -----------------------------------------------------

    def flush(self, *, data_only: bool = False) -> None:
        """fsync what was appended since the last flush; safe from another thread.

        Each dirty segment's ``.log`` is fdatasynced (through a duplicate descriptor, see
        ``Segment.datasync``); indexes are rebuilt by recovery, so they need no sync.
        ``data_only`` is the deferred-sync flusher's call (the same work today). A failure
        raises (OSError, or KafkaError KAFKA_STORAGE_ERROR) and leaves what it did not
        sync dirty for the next flush.
        """
        with self._lock:
            if self._closed:
                return
            dirty = list(self._dirty)
            self._dirty.clear()
            dir_dirty = self._dir_dirty
            self._dir_dirty = False
        done = 0
        try:
            for seg in dirty:
                seg.datasync()
                done += 1
            if dir_dirty:
                files.fsync_dir(self._directory)
        except BaseException:
            # Not durable: the next flush must try these again (a failed fsync must never
            # let a later one count as covering them).
            with self._lock:
                if not self._closed:
                    self._dirty.update(s for s in dirty[done:] if s in self._segments)
                    self._dir_dirty = self._dir_dirty or dir_dirty
            raise

    def close(self, *, flush: bool = True) -> None:
        """Flush and close every file; the object is unusable afterwards.

        ``flush=False`` skips the index persist and fsync: for a log about to be deleted.
        """
        if self._closed:
            return
        if not flush:
            self._close_fds()
            return
        for seg in self._segments:
            seg.index.persist()
        self.flush()
        self._close_fds()

    def _close_fds(self) -> None:
        with self._lock:
            self._closed = True
            self._dirty.clear()
            for seg in self._segments:
                seg.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"log {self._directory} is closed")

    # --- segment list -----------------------------------------------------------------

    def _add_segment(self, seg: Segment) -> None:
        self._segments.append(seg)
        self._bases.append(seg.base_offset)
        self._size += seg.size

    def _remove_segment(self, seg: Segment) -> None:
        i = self._segments.index(seg)
        del self._segments[i]
        del self._bases[i]
        self._size -= seg.size
        with self._lock:
            self._dirty.discard(seg)
            seg.close()
            self._dir_dirty = True
        seg.delete_files()

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self._directory}, start={self._log_start}, "
            f"end={self.log_end_offset if self._segments else '?'}, segments={len(self._segments)})"
        )




class OfflineLog(PartitionLog):
    """The log of a partition that could not be opened (a corrupt segment recovery cannot
    handle, an unreadable file): empty to the monitor, KAFKA_STORAGE_ERROR to every
    request, and nothing on disk is touched (so the files can be examined or repaired)."""

    def __init__(self, directory: Path, config: LogConfig, topic: str, partition: int,
                 reason: str) -> None:
        super().__init__(directory, config, topic, partition)
        self.reason = reason
        self._closed = True

    @property
    def log_end_offset(self) -> int:
        return self._log_start

    @property
    def next_offset(self) -> int:
        return self._log_start

    @property
    def unsynced(self) -> bool:
        return False

    def _check_open(self) -> None:
        raise KafkaError(
            ErrorCode.KAFKA_STORAGE_ERROR,
            f"{self.topic}-{self.partition} is offline: {self.reason}",
        )

    def append(self, data: bytearray | memoryview, headers: list[BatchHeader]) -> tuple[int, int]:
        self._check_open()
        raise AssertionError("unreachable")

    def defer_sync(self) -> None:
        return

    def enforce_retention(self, now_ms: int | None = None) -> int:
        return 0

    def flush(self, *, data_only: bool = False) -> None:
        return

    def close(self, *, flush: bool = True) -> None:
        return
