"""One log segment: ``<base>.log`` of whole v2 batches plus its sparse indexes.

Contract:

* The ``.log`` file holds complete, CRC-valid RecordBatch v2 batches back to back, with
  contiguous offsets starting at the segment's base offset. ``size`` and
  ``next_offset`` (in memory) always end on a batch boundary; readers never look past
  ``size``, so a half-finished write is never served.
* Descriptors are opened lazily and bounded: a new segment creates its ``.log`` file
  and closes it again; the log descriptor is opened on the first append or read and
  kept in one process-wide LRU of at most :data:`MAX_OPEN_SEGMENTS` log descriptors
  (the least recently used is closed when another must open, preferring ones with no
  writes since their last sync); index files hold none (see offset_index.py). So fds
  stay bounded however many partitions and segments exist.
* Every file operation goes through ``files.FILES`` (the fault-injectable layer).
  Reads use pread (no shared file position); appends use ``O_APPEND`` writes. A
  descriptor is used only under the cache lock, so an eviction (possibly from
  another broker's thread) never closes it mid-call. All mutation happens on the
  owning partition log's thread; syncing may happen elsewhere through
  :meth:`Segment.dup_fds` / :meth:`Segment.datasync`, which work on duplicates (a
  closed, unsynced segment is reopened by path: fsync covers the file, not the fd).
* A failing disk never leaves a partial batch: a failed or short write is cut back to
  the last batch boundary; if even the cut fails, every later append first retries it
  and fails with KAFKA_STORAGE_ERROR until it succeeds. Read, write and open failures
  raise ``KafkaError(KAFKA_STORAGE_ERROR)`` naming the file and the reason.
* Gaps: a segment the log cleaner rewrote (core/log/cleaner.py) keeps each surviving
  batch's offsets, so batches need not be contiguous: offsets only grow. Recovery
  accepts gaps in older segments (``last=False``); the newest segment (the active one,
  never cleaned) must stay contiguous. :meth:`Segment.adopt_cleaned` takes a cleaned
  segment in without touching its files.
* :meth:`Segment.open_existing` recovers: it keeps the trustworthy prefix of the
  indexes, checks the last kept entry against the log, then validates every batch
  after it (length, magic, contiguous base offset, leader epoch, CRC32C), truncates the
  file at the first torn or corrupt batch and re-indexes what it scanned. That is
  right for the newest segment (a crash tears only the tail). An older segment
  (``last=False``) is validated whole: a torn last batch (a crash before its write
  reached the disk, e.g. interval mode) is cut as before, but a bad batch with data
  after it raises :class:`CorruptSegmentError`, since cutting there would silently
  drop records that follow.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import crc32c
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import files
from streamscope.core.log.offset_index import SegmentIndex
from streamscope.core.records import (
    BATCH_HEADER_SIZE,
    MAGIC,
    MIN_BATCH_LENGTH,
    BatchHeader,
    patch_batch,
)

_HEADER = struct.Struct(">qiibIhiqqqhii")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Reopening never creates: a vanished file is an error, not a silently empty segment.
_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | _CLOEXEC
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_TRUNC | _CLOEXEC
# Header scans read this much first (an index interval usually covers the distance), then
# twice as much per refill up to _SCAN_CHUNK_MAX: many small batches per syscall, yet
# no large copy just to see one header of a big batch.
_SCAN_CHUNK = 4 * 1024
_SCAN_CHUNK_MAX = 64 * 1024
# Recovery validates this much log per read.
_RECOVER_CHUNK = 4 * 1024 * 1024
# How many index entries recovery tries (newest first) before rescanning the segment.
_MAX_INDEX_PROBES = 8
_U32 = 0xFFFFFFFF
# Every stored batch carries this partitionLeaderEpoch (one broker, no elections). The CRC
# does not cover bytes 12-15, so recovery checks the value itself.
LEADER_EPOCH = 0


# Log descriptors kept open at most, process-wide (see the module docstring).
MAX_OPEN_SEGMENTS = 512
# How many least recently used segments an eviction looks through for one without
# unsynced writes before it closes the oldest anyway.
_EVICT_SCAN = 16

_LOCK = threading.Lock()  # guards _OPEN and every Segment._fd (open, use, close)
_OPEN: OrderedDict[Segment, None] = OrderedDict()


def open_segment_files() -> int:
    """How many segment log descriptors are open now (process-wide)."""
    with _LOCK:
        return len(_OPEN)


class CorruptSegmentError(KafkaError):
    """An older segment holds a bad batch that recovery must not cut away."""

    def __init__(self, path: Path, position: int, reason: str) -> None:
        super().__init__(
            ErrorCode.KAFKA_STORAGE_ERROR,
            f"corrupt segment {path} at byte {position}: {reason}",
        )
        self.path = path
        self.position = position
        self.reason = reason


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


def _storage_error(what: str, path: Path, exc: OSError) -> KafkaError:
    reason = exc.strerror or str(exc)
    return KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, f"{what} {path.name} failed: {reason}")


class Segment:
    """A segment's files, in-memory size/offset bookkeeping and indexes."""

    __slots__ = (
        "base_offset",
        "log_path",
        "_fd",
        "index",
        "size",
        "next_offset",
        "max_timestamp",
        "bytes_since_index",
        "created_ms",
        "last_modified",
        "_unsynced",
        "_tail_dirty",
        "_used",
    )

    def __init__(self, directory: Path, base_offset: int, *, fresh: bool) -> None:
        name = segment_name(base_offset)
        self.base_offset = base_offset
        self.log_path = directory / f"{name}.log"
        self._fd = -1  # the log descriptor while in the open-file cache, else -1
        self._unsynced = False  # written since the last dup_fds/datasync
        self._tail_dirty = False  # a failed write's bytes may still sit past ``size``
        self._used = False  # touched since the eviction clock last passed (second chance)
        if fresh:
            # The file must exist at once (an empty segment at the log end records the
            # log end offset across a restart), but no descriptor is kept for it.
            ops = files.FILES
            try:
                fd = ops.open(self.log_path, _CREATE_FLAGS, 0o644)
            except OSError as exc:
                raise _storage_error("create", self.log_path, exc) from exc
            ops.close(fd)
        self.index = SegmentIndex(
            directory / f"{name}.index", directory / f"{name}.timeindex", fresh=fresh
        )
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1  # largest batch max timestamp; -1: none seen
        self.bytes_since_index = 0
        now = time.time()
        # Age for segment.ms rolling: wall clock at creation (see open_existing for reopen).
        self.created_ms = int(now * 1000)
        self.last_modified = now

    # --- creation ---------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, base_offset: int) -> Segment:
        return cls(directory, base_offset, fresh=True)

    @classmethod
    def adopt_cleaned(
        cls, directory: Path, base_offset: int, *, size: int, next_offset: int,
        max_timestamp: int, entries: list[tuple[int, int, int]], bytes_since_index: int,
        created_ms: int, last_modified: float,
    ) -> Segment:
        """The segment the log cleaner just renamed into place (its ``.log`` and index
        files already written and synced by the cleaner thread), built from what the
        cleaner knows of it: no file is touched here (the broker loop calls this)."""
        seg = cls(directory, base_offset, fresh=False)
        seg.size = size
        seg.next_offset = next_offset
        seg.max_timestamp = max_timestamp
        seg.bytes_since_index = bytes_since_index
        seg.created_ms = created_ms
        seg.last_modified = last_modified
        seg.index.adopt(entries)
        return seg

    @classmethod
    def open_existing(
        cls, directory: Path, base_offset: int, index_interval: int, *, last: bool = True
    ) -> Segment:
        """Open and recover a segment; ``last=False`` for any but the newest (see the
        module docstring: corruption there raises :class:`CorruptSegmentError`)."""
        seg = cls(directory, base_offset, fresh=False)
        try:
            with _LOCK:
                seg._recover(index_interval, last=last)
        except OSError as exc:
            seg.close()
            raise _storage_error("recovery of", seg.log_path, exc) from exc
        except BaseException:
            seg.close()
            raise
        return seg

    def _recover(self, interval: int, *, last: bool) -> None:
        fd = self._fd_locked()
        st = os.fstat(fd)
        file_size = st.st_size
        self.last_modified = st.st_mtime
        idx = self.index
        idx.load(file_size)
        if not last:
            # An older segment must be whole: validate all of it, cut nothing.
            end, next_offset, max_ts, since, entries = self._scan_valid(
                0, self.base_offset, -1, file_size, interval, first_indexed=False,
                gaps=True,
            )
            if end < file_size:
                if not self._torn_tail(end, next_offset, file_size, gaps=True):
                    raise CorruptSegmentError(
                        self.log_path, end, self._why_bad(end, next_offset, file_size)
                    )
                files.FILES.ftruncate(fd, end)
            if len(entries) != len(idx) or any(
                e != (idx.rel[i], idx.pos[i], idx.ts[i]) for i, e in enumerate(entries)
            ):
                idx.replace(entries)
        else:
            # Newest index entry that points at a sound batch with the right base offset.
            k = len(idx) - 1
            probes = 0
            while k >= 0:
                if self._batch_sound(idx.pos[k], self.base_offset + idx.rel[k], file_size):
                    break
                k -= 1
                probes += 1
                if probes >= _MAX_INDEX_PROBES:
                    k = -1
            idx.truncate(k + 1)
            if k >= 0:
                start, expected, max_ts = idx.pos[k], self.base_offset + idx.rel[k], idx.ts[k]
            else:
                start, expected, max_ts = 0, self.base_offset, -1
            end, next_offset, max_ts, since, entries = self._scan_valid(
                start, expected, max_ts, file_size, interval, first_indexed=k >= 0
            )
            if end < file_size:
                files.FILES.ftruncate(fd, end)
            if entries:
                idx.append(entries)
            idx.persist()
        self.size = end
        self.next_offset = next_offset
        self.max_timestamp = max_ts
        self.bytes_since_index = since
        if end:
            first = _HEADER.unpack_from(files.FILES.pread(fd, BATCH_HEADER_SIZE, 0))
            first_ts = first[8]
            now_ms = int(time.time() * 1000)
            # Kafka ages a segment from its first batch's timestamp; a timestamp from
            # the future would keep it open forever, so fall back to the file's mtime.
            self.created_ms = first_ts if 0 <= first_ts <= now_ms else int(st.st_mtime * 1000)

    def _torn_tail(self, pos: int, expected: int, file_size: int, *, gaps: bool = False) -> bool:
        """Whether the bad bytes from ``pos`` look like a crash's torn last write (cut
        them) rather than damage with data after it (refuse): too few bytes for a
        header, only zeros, or the right next batch header whose batch reaches the end."""
        rest = file_size - pos
        if rest < BATCH_HEADER_SIZE:
            return True
        head = files.FILES.pread(self._fd, BATCH_HEADER_SIZE, pos)
        h = _HEADER.unpack_from(head)
        if (h[0] == expected or (gaps and h[0] > expected)) and h[3] == MAGIC \
                and h[1] >= MIN_BATCH_LENGTH:
            return h[1] + 12 >= rest
        tail = files.FILES.pread(self._fd, min(rest, _RECOVER_CHUNK), pos)
        return rest <= _RECOVER_CHUNK and not tail.strip(b"\0")

    def _why_bad(self, pos: int, expected: int, file_size: int) -> str:
        """A short reason for the first bad batch at ``pos`` (for CorruptSegmentError)."""
        head = files.FILES.pread(self._fd, BATCH_HEADER_SIZE, pos)
        if len(head) < BATCH_HEADER_SIZE:
            return f"torn batch header ({file_size - pos} bytes left)"
        h = _HEADER.unpack_from(head)
        if h[3] != MAGIC:
            return f"bad magic {h[3]}"
        if h[1] < MIN_BATCH_LENGTH:
            return f"bad batch length {h[1]}"
        if h[0] < expected:
            return f"base offset {h[0]} where {expected} or more was expected"
        if pos + h[1] + 12 > file_size:
            return "torn batch (the file ends inside it)"
        return "CRC mismatch or bad header field"

    def _batch_sound(self, pos: int, expected_base: int, file_size: int) -> bool:
        pread = files.FILES.pread
        head = pread(self._fd, BATCH_HEADER_SIZE, pos)
        if len(head) < BATCH_HEADER_SIZE:
            return False
        h = _HEADER.unpack_from(head)
        size = h[1] + 12
        if h[0] != expected_base or h[3] != MAGIC or h[1] < MIN_BATCH_LENGTH:
            return False
        if h[2] != LEADER_EPOCH:
            return False
        if pos + size > file_size:
            return False
        data = pread(self._fd, size, pos)
        return len(data) == size and crc32c.crc32c(memoryview(data)[21:]) == h[4]

    def _scan_valid(
        self,
        start: int,
        expected: int,
        max_ts: int,
        file_size: int,
        interval: int,
        *,
        first_indexed: bool,
        gaps: bool = False,
    ) -> tuple[int, int, int, int, list[tuple[int, int, int]]]:
        """Validate batches from ``start``; (end of last good batch, next offset,
        max timestamp, bytes since last index point, new index entries). ``gaps``: a
        batch may start past the previous one's end (a compacted segment), not before."""
        entries: list[tuple[int, int, int]] = []
        since = 0
        pos = start
        buf = b""
        buf_pos = pos
        unpack = _HEADER.unpack_from
        checksum = crc32c.crc32c
        pread = files.FILES.pread
        fd = self._fd
        base = self.base_offset
        skip_index = first_indexed
        while pos < file_size:
            off = pos - buf_pos
            if len(buf) - off < BATCH_HEADER_SIZE:
                buf = pread(fd, min(_RECOVER_CHUNK, file_size - pos), pos)
                buf_pos, off = pos, 0
                if len(buf) < BATCH_HEADER_SIZE:
                    break  # torn header
            h = unpack(buf, off)
            size = h[1] + 12
            if h[3] != MAGIC or h[1] < MIN_BATCH_LENGTH or h[6] < 0:
                break
            if h[0] != expected and not (gaps and h[0] > expected):
                break
            if h[2] != LEADER_EPOCH:
                break
            if pos + size > file_size:
                break  # torn batch
            if off + size > len(buf):
                buf = pread(fd, max(size, min(_RECOVER_CHUNK, file_size - pos)), pos)
                buf_pos, off = pos, 0
                if len(buf) < size:
                    break
            if checksum(memoryview(buf)[off + 21 : off + size]) != h[4]:
                break
            if h[8] > max_ts:
                max_ts = h[8]
            if skip_index:
                skip_index = False  # the trusted entry's own batch is already indexed
            elif since >= interval and pos > 0:
                entries.append((h[0] - base, pos, max_ts))
                since = 0
            since += size
            pos += size
            expected = h[0] + h[6] + 1
        return pos, expected, max_ts, since, entries

    # --- descriptors ------------------------------------------------------------------

    def _fd_locked(self) -> int:
        """The log descriptor, opened (evicting the least recently used) if needed.
        Call with _LOCK held; the descriptor stays valid while it is held."""
        fd = self._fd
        if fd >= 0:
            self._used = True  # cheaper than reordering the LRU on every call
            return fd
        while len(_OPEN) >= MAX_OPEN_SEGMENTS and _OPEN:
            _evict_one()
        fd = files.FILES.open(self.log_path, _OPEN_FLAGS, 0o644)
        self._fd = fd
        _OPEN[self] = None
        return fd

    def _close_locked(self) -> None:
        fd = self._fd
        if fd < 0:
            return
        self._fd = -1
        _OPEN.pop(self, None)
        try:
            files.FILES.close(fd)
        except OSError:
            pass  # the descriptor is released either way

    @property
    def fd(self) -> int:
        """The log descriptor now (opening it). Only valid until another segment opens:
        prefer :meth:`datasync` / :meth:`dup_fds`, which are safe from any thread."""
        with _LOCK:
            return self._fd_locked()

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def fds(self) -> tuple[int, ...]:
        """The descriptors open now (may be none)."""
        fd = self._fd
        return (fd,) if fd >= 0 else ()

    def dup_fds(self) -> list[int]:
        """Duplicates of the descriptors whose fsync makes this segment's writes durable
        (the caller fsyncs and closes them); safe from any thread. A segment evicted
        with unsynced writes is reopened by path; a deleted one gives []."""
        with _LOCK:
            unsynced = self._unsynced
            self._unsynced = False
            fd = self._fd
            if fd >= 0:
                return [os.dup(fd)]
            if not unsynced:
                return []
            try:
                return [files.FILES.open(self.log_path, os.O_RDONLY | _CLOEXEC)]
            except FileNotFoundError:
                return []

    def datasync(self) -> None:
        """fdatasync the log file (a duplicate descriptor, so this may run in another
        thread while the owner appends); KAFKA_STORAGE_ERROR if it fails."""
        for fd in self.dup_fds():
            try:
                files.FILES.fdatasync(fd)
            except OSError as exc:
                with _LOCK:
                    self._unsynced = True  # still not durable
                raise _storage_error("fdatasync of", self.log_path, exc) from exc
            finally:
                files.FILES.close(fd)

    # --- append -----------------------------------------------------------------------

    def fits(self, nbytes: int) -> bool:
        """Whether ``nbytes`` more of batches can still be indexed here (u32 positions and
        relative offsets; a batch holds fewer records than bytes, so ``nbytes`` bounds
        the offsets it takes too)."""
        return self.size + nbytes <= _U32 and self.next_offset + nbytes - self.base_offset <= _U32

    def append(
        self, data: bytearray | memoryview, headers: list[BatchHeader], interval: int,
        now: float,
    ) -> None:
        """Patch offsets (from ``next_offset``) into ``data`` and write it in one go.

        ``now`` (epoch seconds) becomes the segment's last-modified time. A failing disk
        raises KAFKA_STORAGE_ERROR and leaves file and bookkeeping as they were.
        """
        base = self.base_offset
        offset = self.next_offset
        pos = self.size
        max_ts = self.max_timestamp
        since = self.bytes_since_index
        entries: list[tuple[int, int, int]] = []
        in_data = 0
        epoch = LEADER_EPOCH
        for h in headers:
            patch_batch(data, in_data, offset, epoch)
            h.base_offset = offset
            h.partition_leader_epoch = epoch
            if h.max_timestamp > max_ts:
                max_ts = h.max_timestamp
            if since >= interval and pos + in_data > 0:
                entries.append((offset - base, pos + in_data, max_ts))
                since = 0
            size = h.batch_length + 12
            since += size
            in_data += size
            offset += h.last_offset_delta + 1
        if in_data != len(data):
            raise ValueError(f"headers describe {in_data} bytes but data holds {len(data)}")
        with _LOCK:
            ops = files.FILES
            fd = self._fd
            if fd < 0 or self._tail_dirty:
                try:
                    fd = self._fd_locked()
                    if self._tail_dirty:
                        ops.ftruncate(fd, self.size)
                        self._tail_dirty = False
                except OSError as exc:
                    raise _storage_error("write to", self.log_path, exc) from exc
            else:
                self._used = True
            try:
                written = ops.write(fd, data)
                if written != in_data:  # a short write (the disk filling up): finish it
                    files.write_all(fd, memoryview(data)[written:])
            except OSError as exc:
                # Leave no partial batch behind: the file must end on a batch boundary.
                try:
                    ops.ftruncate(fd, self.size)
                except OSError:
                    self._tail_dirty = True  # retried before the next write
                raise _storage_error("write to", self.log_path, exc) from exc
            self._unsynced = True
        self.size = pos + in_data
        self.next_offset = offset
        self.max_timestamp = max_ts
        self.bytes_since_index = since
        self.last_modified = now
        if entries:
            self.index.append(entries)  # never raises for a failing disk

    # --- reads ------------------------------------------------------------------------

    def _pread(self, n: int, pos: int) -> bytes:
        with _LOCK:
            try:
                return files.FILES.pread(self._fd_locked(), n, pos)
            except OSError as exc:
                raise _storage_error("read of", self.log_path, exc) from exc

    def headers_from(self, pos: int, end: int | None = None) -> Iterator[tuple[int, tuple]]:
        """(position, raw header tuple) of each batch from ``pos`` up to ``end``."""
        end = self.size if end is None else min(end, self.size)
        buf = b""
        buf_pos = pos
        unpack = _HEADER.unpack_from
        chunk = _SCAN_CHUNK
        while pos < end:
            off = pos - buf_pos
            if off < 0 or len(buf) - off < BATCH_HEADER_SIZE:
                buf = self._pread(min(chunk, end - pos), pos)
                buf_pos, off = pos, 0
                chunk = min(chunk * 2, _SCAN_CHUNK_MAX)
                if len(buf) < BATCH_HEADER_SIZE:
                    return
            h = unpack(buf, off)
            if h[1] < MIN_BATCH_LENGTH:
                return  # cannot happen in a recovered segment; never loop forever
            yield pos, h
            pos += h[1] + 12

    def locate(self, offset: int) -> int | None:
        """Position of the batch containing ``offset`` (or the first one after it)."""
        start = self.index.position_for(offset - self.base_offset)
        for pos, h in self.headers_from(start):
            if h[0] + h[6] >= offset:
                return pos
        return None

    def boundary(self, start: int, max_bytes: int, *, at_least_one: bool = True) -> int:
        """End of the whole batches from ``start`` that fit in ``max_bytes``.

        With ``at_least_one`` the first batch is included even if it alone is larger.
        """
        limit = start + max_bytes
        if limit >= self.size:
            return self.size
        end = max(self.index.boundary_at_or_before(limit), start)
        for pos, h in self.headers_from(end):
            stop = pos + h[1] + 12
            if stop > limit:
                return stop if pos == start and at_least_one else pos
            end = stop
        return end

    def read(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return self._pread(end - start, start)

    # --- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        with _LOCK:
            self._close_locked()
        self.index.close()

    def delete_files(self) -> None:
        for path in (self.log_path, self.index.index_path, self.index.time_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _evict_one() -> None:
    """Close one log descriptor: the least recently used (second-chance clock over the
    open order), preferring, among the oldest few, one with no unsynced writes. Call
    with _LOCK held."""
    skipped = 0
    for _ in range(2 * len(_OPEN)):
        seg = next(iter(_OPEN))
        if seg._used:
            seg._used = False
            _OPEN.move_to_end(seg)
        elif seg._unsynced and skipped < _EVICT_SCAN:
            skipped += 1
            _OPEN.move_to_end(seg)
        else:
            seg._close_locked()
            return
    next(iter(_OPEN))._close_locked()
