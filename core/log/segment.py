"""One log segment: ``<base>.log`` of whole v2 batches plus its sparse indexes.

Contract:

* The ``.log`` file holds complete, CRC-valid RecordBatch v2 batches back to back, with
  contiguous offsets starting at the segment's base offset. ``size`` and
  ``next_offset`` (in memory) always end on a batch boundary; readers never look past
  ``size``, so a half-finished write is never served.
* One file descriptor per file stays open for the segment's life. Reads use
  ``os.pread`` (no shared file position, so no seek races); appends use ``O_APPEND``
  writes. All mutation happens on the owning partition log's thread; only the
  descriptors are fsynced from elsewhere (see ``PartitionLog.flush``).
* :meth:`Segment.open_existing` recovers: it keeps the trustworthy prefix of the
  indexes, checks the last kept entry against the log, then validates every batch
  after it (length, magic, contiguous base offset, leader epoch, CRC32C), truncates the file at the
  first torn or corrupt batch and re-indexes what it scanned.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import crc32c
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log.offset_index import SegmentIndex, _write_all
from streamscope.core.records import (
    BATCH_HEADER_SIZE,
    MAGIC,
    MIN_BATCH_LENGTH,
    BatchHeader,
    patch_batch,
)

_HEADER = struct.Struct(">qiibIhiqqqhii")
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
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


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class Segment:
    """A segment's files, in-memory size/offset bookkeeping and indexes."""

    __slots__ = (
        "base_offset",
        "log_path",
        "fd",
        "index",
        "size",
        "next_offset",
        "max_timestamp",
        "bytes_since_index",
        "created_ms",
        "last_modified",
    )

    def __init__(self, directory: Path, base_offset: int, *, fresh: bool) -> None:
        name = segment_name(base_offset)
        self.base_offset = base_offset
        self.log_path = directory / f"{name}.log"
        flags = _OPEN_FLAGS | (os.O_TRUNC if fresh else 0)
        self.fd = os.open(self.log_path, flags, 0o644)
        try:
            self.index = SegmentIndex(
                directory / f"{name}.index", directory / f"{name}.timeindex", fresh=fresh
            )
        except OSError:
            os.close(self.fd)
            raise
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
    def open_existing(cls, directory: Path, base_offset: int, index_interval: int) -> Segment:
        seg = cls(directory, base_offset, fresh=False)
        try:
            seg._recover(index_interval)
        except BaseException:
            seg.close()
            raise
        return seg

    def _recover(self, interval: int) -> None:
        st = os.fstat(self.fd)
        file_size = st.st_size
        self.last_modified = st.st_mtime
        idx = self.index
        idx.load(file_size)
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
            os.ftruncate(self.fd, end)
        if entries:
            idx.append(entries)
        idx.persist()
        self.size = end
        self.next_offset = next_offset
        self.max_timestamp = max_ts
        self.bytes_since_index = since
        if end:
            first = _HEADER.unpack_from(os.pread(self.fd, BATCH_HEADER_SIZE, 0))
            first_ts = first[8]
            now_ms = int(time.time() * 1000)
            # Kafka ages a segment from its first batch's timestamp; a timestamp from
            # the future would keep it open forever, so fall back to the file's mtime.
            self.created_ms = first_ts if 0 <= first_ts <= now_ms else int(st.st_mtime * 1000)

    def _batch_sound(self, pos: int, expected_base: int, file_size: int) -> bool:
        head = os.pread(self.fd, BATCH_HEADER_SIZE, pos)
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
        data = os.pread(self.fd, size, pos)
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
    ) -> tuple[int, int, int, int, list[tuple[int, int, int]]]:
        """Validate batches from ``start``; (end of last good batch, next offset,
        max timestamp, bytes since last index point, new index entries)."""
        entries: list[tuple[int, int, int]] = []
        since = 0
        pos = start
        buf = b""
        buf_pos = pos
        unpack = _HEADER.unpack_from
        checksum = crc32c.crc32c
        base = self.base_offset
        skip_index = first_indexed
        while pos < file_size:
            off = pos - buf_pos
            if len(buf) - off < BATCH_HEADER_SIZE:
                buf = os.pread(self.fd, min(_RECOVER_CHUNK, file_size - pos), pos)
                buf_pos, off = pos, 0
                if len(buf) < BATCH_HEADER_SIZE:
                    break  # torn header
            h = unpack(buf, off)
            size = h[1] + 12
            if h[3] != MAGIC or h[1] < MIN_BATCH_LENGTH or h[0] != expected or h[6] < 0:
                break
            if h[2] != LEADER_EPOCH:
                break
            if pos + size > file_size:
                break  # torn batch
            if off + size > len(buf):
                buf = os.pread(self.fd, max(size, min(_RECOVER_CHUNK, file_size - pos)), pos)
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

        ``now`` (epoch seconds) becomes the segment's last-modified time.
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
        try:
            written = os.write(self.fd, data)
            if written != in_data:  # a short write (rare on regular files): finish it
                _write_all(self.fd, memoryview(data)[written:])
        except OSError as exc:
            # Leave no partial batch behind: the file must end on a batch boundary.
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, f"write failed: {exc}") from exc
        if entries:
            self.index.append(entries)
        self.size = pos + in_data
        self.next_offset = offset
        self.max_timestamp = max_ts
        self.bytes_since_index = since
        self.last_modified = now

    # --- reads ------------------------------------------------------------------------

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
                buf = os.pread(self.fd, min(chunk, end - pos), pos)
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
        return os.pread(self.fd, end - start, start)

    # --- lifecycle --------------------------------------------------------------------

    def fds(self) -> tuple[int, ...]:
        return (self.fd, *self.index.fds())

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
        self.index.close()

    def delete_files(self) -> None:
        for path in (self.log_path, self.index.index_path, self.index.time_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
