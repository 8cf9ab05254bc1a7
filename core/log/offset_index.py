"""A segment's sparse offset index and time index, kept in memory and appended to disk.

Contract:

* ``<base>.index`` holds 8-byte big-endian entries (relative offset u32, file position
  u32): the base offset and start position of one batch every ``index_interval_bytes``
  of log data. Lookups binary-search the in-memory arrays; the files are only written
  (appended) and read back on open.
* ``<base>.timeindex`` holds 12-byte entries (timestamp i64, relative offset u32), one
  at the SAME index points: the largest batch max-timestamp in the segment up to and
  including that batch. Kafka appends a time entry only when the maximum grows; we
  keep one per index point so that after a crash the two files can be cross-checked
  entry by entry and cut back to their longest common, trustworthy prefix.
* Entry k therefore promises: every batch before and at position ``pos[k]`` has
  timestamps <= ``ts[k]``. The first batch of a segment never gets an entry (lookups
  before the first entry start at position 0).
* Neither file is ever trusted blindly: :meth:`SegmentIndex.load` keeps the longest
  prefix that is structurally sound (strictly increasing offsets and positions, inside
  the log file, both files agreeing); the segment then checks the last kept entry
  against the log itself and rebuilds the rest by scanning.
* Entries reach the files in groups (``PERSIST_EVERY``, and on roll and close), after
  the log data they describe; the time index is written before the offset index. A
  crash loses at most the unwritten group, which recovery rebuilds by scanning.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

import numpy as np

INDEX_ENTRY = struct.Struct(">II")
# Entries kept in memory only before they are written out together (see append).
PERSIST_EVERY = 32
TIME_ENTRY = struct.Struct(">qI")

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


class SegmentIndex:
    """Offset index and time index of one segment (parallel entries, see module doc)."""

    __slots__ = ("index_path", "time_path", "rel", "pos", "ts", "_fd", "_tfd", "_persisted")

    def __init__(self, index_path: Path, time_path: Path, *, fresh: bool) -> None:
        self.index_path = index_path
        self.time_path = time_path
        self.rel = array("I")
        self.pos = array("I")
        self.ts = array("q")
        self._persisted = 0  # entries [0, _persisted) are in the files
        extra = os.O_TRUNC if fresh else 0
        self._fd = os.open(index_path, _OPEN_FLAGS | extra, 0o644)
        try:
            self._tfd = os.open(time_path, _OPEN_FLAGS | extra, 0o644)
        except OSError:
            os.close(self._fd)
            raise

    def __len__(self) -> int:
        return len(self.rel)

    # --- load -------------------------------------------------------------------------

    def load(self, log_size: int) -> None:
        """Read both files and keep their longest sound, agreeing prefix (no log check)."""
        raw = _read_all(self._fd)
        traw = _read_all(self._tfd)
        n = len(raw) // INDEX_ENTRY.size
        entries = np.frombuffer(raw, dtype=">u4", count=2 * n).reshape(n, 2).astype(np.int64)
        rel = entries[:, 0]
        pos = entries[:, 1]
        # Offsets and positions must both grow strictly, and positions lie in the log.
        good = pos < log_size
        if n:
            good[0] &= (rel[0] > 0) & (pos[0] > 0)  # a segment's first batch is never indexed
        if n > 1:
            good[1:] &= (np.diff(rel) > 0) & (np.diff(pos) > 0)
        keep = n if good.all() else int(np.argmin(good))
        tn = min(len(traw) // TIME_ENTRY.size, keep)
        tentries = np.frombuffer(traw, dtype=np.dtype([("ts", ">i8"), ("rel", ">u4")]), count=tn)
        tgood = tentries["rel"].astype(np.int64) == rel[:tn]
        if tn > 1:
            tgood[1:] &= np.diff(tentries["ts"]) >= 0
        tkeep = tn if tgood.all() else int(np.argmin(tgood))
        keep = min(keep, tkeep)
        self.rel = array("I", rel[:keep].astype(np.uint32).tobytes())
        self.pos = array("I", pos[:keep].astype(np.uint32).tobytes())
        self.ts = array("q", tentries["ts"][:keep].astype(np.int64).tobytes())
        if len(raw) != keep * INDEX_ENTRY.size or len(traw) != keep * TIME_ENTRY.size:
            self._cut_files(keep)
        self._persisted = keep

    # --- change -----------------------------------------------------------------------

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` entries, in memory and on disk."""
        if n >= len(self.rel):
            return
        del self.rel[n:]
        del self.pos[n:]
        del self.ts[n:]
        if n < self._persisted:
            self._cut_files(n)
            self._persisted = n

    def append(self, entries: list[tuple[int, int, int]]) -> None:
        """Add (relative offset, position, max timestamp so far) entries.

        They reach the files in groups of ``PERSIST_EVERY`` (or on :meth:`persist`):
        two small writes per append would cost as much as the log write itself, and
        entries lost in a crash only make recovery scan a little more of the tail.
        """
        for rel, pos, ts in entries:
            self.rel.append(rel)
            self.pos.append(pos)
            self.ts.append(ts)
        if len(self.rel) - self._persisted >= PERSIST_EVERY:
            self.persist()

    def persist(self) -> None:
        """Write the entries not yet in the files (time index first, then offset index)."""
        start, end = self._persisted, len(self.rel)
        if start == end:
            return
        rel, pos, ts = self.rel, self.pos, self.ts
        tpack, ipack = TIME_ENTRY.pack, INDEX_ENTRY.pack
        _write_all(self._tfd, b"".join([tpack(ts[i], rel[i]) for i in range(start, end)]))
        _write_all(self._fd, b"".join([ipack(rel[i], pos[i]) for i in range(start, end)]))
        self._persisted = end

    def _cut_files(self, n: int) -> None:
        os.ftruncate(self._fd, n * INDEX_ENTRY.size)
        os.ftruncate(self._tfd, n * TIME_ENTRY.size)

    # --- lookups ----------------------------------------------------------------------

    def position_for(self, rel_offset: int) -> int:
        """Start position of the last indexed batch whose base offset <= ``rel_offset``."""
        i = bisect_right(self.rel, rel_offset) - 1
        return self.pos[i] if i >= 0 else 0

    def boundary_at_or_before(self, position: int) -> int:
        """The largest indexed batch start <= ``position`` (0 if none)."""
        i = bisect_right(self.pos, position) - 1
        return self.pos[i] if i >= 0 else 0

    def position_for_timestamp(self, timestamp: int) -> int:
        """A position from which scanning finds the first batch with max ts >= ``timestamp``.

        That is the last index point whose running max is still below ``timestamp``:
        every batch up to it is older, so nothing earlier can match.
        """
        i = bisect_left(self.ts, timestamp) - 1
        return self.pos[i] if i >= 0 else 0

    # --- files ------------------------------------------------------------------------

    def fds(self) -> tuple[int, int]:
        return self._fd, self._tfd

    def close(self) -> None:
        for fd in (self._fd, self._tfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fd = self._tfd = -1


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    parts = []
    pos = 0
    while pos < size:
        chunk = os.pread(fd, size - pos, pos)
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
    return b"".join(parts)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
