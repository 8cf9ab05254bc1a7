"""A partition's log: an ordered list of segments in one directory.

Contract:

* Layout: ``<dir>/<20-digit base offset>.log`` + ``.index`` + ``.timeindex`` per
  segment, and ``<dir>/log-start-offset`` (a decimal number, replaced atomically by
  tmp + fsync + rename) once DeleteRecords has moved the log start inside a segment.
* Offsets: the log end offset (= high watermark, one replica) is the next offset to
  assign. An empty log starts at the checkpointed log start (or 0). When every
  segment is gone the new empty active segment is named after the log end offset, so
  offsets are never reused.
* Threads: everything except :meth:`PartitionLog.flush` runs on the owner's thread
  (the broker's event loop). ``flush`` may run in a worker thread at the same time as
  ``append``/``read``/retention: it snapshots the segments appended to since the last
  flush under a lock, duplicates their descriptors (so a concurrent close or delete
  cannot pull a descriptor away or let it be reused), and fsyncs the duplicates.
  Every byte written before ``flush`` was called is durable when it returns.
* Fsync policy: ``"always"`` fdatasyncs the segment before :meth:`append` returns (and
  the directory when a segment is created); ``"interval"`` leaves that to ``flush``.
  Indexes are never relied on for durability: their entries are written in groups
  (see offset_index.py) and recovery rebuilds whatever they miss.
* Recovery on :meth:`PartitionLog.open` validates each segment's tail from its last
  trustworthy index entry (see segment.py), truncating torn or corrupt batches, so a
  corrupt batch is never served.
"""

from __future__ import annotations

import os
import re
import threading
import time
from bisect import bisect_right
from pathlib import Path
from typing import NamedTuple

from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log.segment import Segment
from streamscope.core.records import BatchHeader, iter_records

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
        checkpoint = self._read_checkpoint()
        interval = self.config.index_interval_bytes
        for base in sorted(logs):
            self._add_segment(Segment.open_existing(d, base, interval))
        if not self._segments:
            self._add_segment(Segment.create(d, checkpoint or 0))
            self._dir_dirty = True
        self._log_start = max(self._segments[0].base_offset, checkpoint or 0)
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
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, f"{value}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(self._directory)

    # --- properties -------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def log_start_offset(self) -> int:
        return self._log_start

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return self._size

    @property
    def segment_count(self) -> int:
        return len(self._segments)

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
            or now * 1000 - seg.created_ms > cfg.segment_ms
            or not seg.fits(nbytes)
        ):
            self.roll()
            seg = self._segments[-1]
        first = seg.next_offset
        seg.append(data, headers, cfg.index_interval_bytes, now)
        self._size += nbytes
        if cfg.fsync == "always":
            _datasync(seg.fd)
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
        if self.config.fsync == "always":
            _fsync_dir(self._directory)
        else:
            with self._lock:
                self._dir_dirty = True

    # --- read -------------------------------------------------------------------------

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches from the one containing ``offset``, about ``max_bytes`` worth.

        Always at least one whole batch when any exists at or after ``offset``; b"" at
        the log end offset; OFFSET_OUT_OF_RANGE outside [log start, log end].
        """
        self._check_open()
        end_offset = self.log_end_offset
        if offset < self._log_start or offset > end_offset:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"Offset {offset} is outside [{self._log_start}, {end_offset}] "
                f"of {self.topic}-{self.partition}",
            )
        if offset == end_offset:
            return b""
        parts: list[bytes] = []
        budget = max_bytes
        segments = self._segments
        for i in range(max(bisect_right(self._bases, offset) - 1, 0), len(segments)):
            seg = segments[i]
            if not parts:
                start = seg.locate(offset)
                if start is None:
                    continue  # nothing at/after offset here (a gap left by recovery)
                end = seg.boundary(start, budget)
            else:
                # Spill into the next segment only with whole batches that fit.
                start = 0
                end = seg.boundary(0, budget, at_least_one=False)
                if end == 0:
                    break
            parts.append(seg.read(start, end))
            budget -= end - start
            if end < seg.size or budget <= 0:
                break
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    # --- timestamps -------------------------------------------------------------------

    def offset_for_timestamp(self, ts_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at/after log start with timestamp >= ts."""
        self._check_open()
        log_start = self._log_start
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
                if h[8] < ts_ms or h[0] + h[6] < log_start:
                    continue
                batch = seg.read(pos, pos + h[1] + 12)
                for r in iter_records(batch):
                    if r.offset >= log_start and r.timestamp >= ts_ms:
                        return r.offset, r.timestamp
        return None

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
        now = int(time.time() * 1000) if now_ms is None else now_ms
        count = 0
        if cfg.retention_ms >= 0:
            for seg in self._segments:
                if seg.size == 0:
                    break
                newest = seg.max_timestamp if seg.max_timestamp >= 0 else seg.last_modified * 1000
                if now - newest <= cfg.retention_ms:
                    break
                count += 1
        if cfg.retention_bytes >= 0:
            excess = self._size - cfg.retention_bytes
            by_size = 0
            for seg in self._segments:
                if seg.size == 0 or excess - seg.size < 0:
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

    def flush(self) -> None:
        """fsync what was appended since the last flush; safe from another thread."""
        with self._lock:
            if self._closed:
                return
            dirty = list(self._dirty)
            self._dirty.clear()
            dir_dirty = self._dir_dirty
            self._dir_dirty = False
            fds = [os.dup(fd) for seg in dirty for fd in seg.fds() if fd >= 0]
        try:
            for fd in fds:
                os.fsync(fd)
        finally:
            for fd in fds:
                os.close(fd)
        if dir_dirty:
            _fsync_dir(self._directory)

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


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories
    finally:
        os.close(fd)
