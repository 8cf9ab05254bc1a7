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
* No descriptor is held: the files are opened (through ``files.FILES``) for each
  load, persist or cut and closed again, so an idle segment costs no descriptors for
  its indexes. A fresh index truncates whatever stale files share its name on its
  first write. A failed write (full disk) is never fatal to the log: the files are
  cut back to the entries already there, or, if even that fails, left alone until
  the next open rebuilds them; the entries stay right in memory either way.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

from streamscope.core.log import files

INDEX_ENTRY = struct.Struct(">II")
# Entries kept in memory only before they are written out together (see append).
PERSIST_EVERY = 32
TIME_ENTRY = struct.Struct(">qI")

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

_LITTLE = sys.byteorder == "little"  # the files are big-endian

log = logging.getLogger(__name__)


class SegmentIndex:
    """Offset index and time index of one segment (parallel entries, see module doc)."""

    __slots__ = ("index_path", "time_path", "rel", "pos", "ts", "_persisted", "_fresh",
                 "_broken")

    def __init__(self, index_path: Path, time_path: Path, *, fresh: bool) -> None:
        self.index_path = index_path
        self.time_path = time_path
        self.rel = array("I")
        self.pos = array("I")
        self.ts = array("q")
        self._persisted = 0  # entries [0, _persisted) are in the files
        self._fresh = fresh  # the first write truncates (stale files of an old segment)
        self._broken = False  # a failed write could not be undone: stop writing

    def __len__(self) -> int:
        return len(self.rel)

    # --- load -------------------------------------------------------------------------

    def load(self, log_size: int) -> None:
        """Read both files and keep their longest sound, agreeing prefix (no log check).

        Plain ``array`` parsing, no numpy: a broker start must not pay numpy's import,
        and even a full 64 MiB segment's index is only ~16k entries.
        """
        raw = _read_path(self.index_path)
        traw = _read_path(self.time_path)
        n = len(raw) // INDEX_ENTRY.size
        both = array("I")
        both.frombytes(raw[: n * INDEX_ENTRY.size])
        if _LITTLE:
            both.byteswap()
        rel, pos = both[0::2], both[1::2]
        # Offsets and positions must both grow strictly, and positions lie in the log;
        # a segment's first batch is never indexed, so the first entry is above 0 too.
        keep = 0
        prev_rel = prev_pos = 0
        for r, p in zip(rel, pos, strict=True):
            if p >= log_size or r <= prev_rel or p <= prev_pos:
                break
            prev_rel, prev_pos = r, p
            keep += 1
        tn = min(len(traw) // TIME_ENTRY.size, keep)
        ts = array("q")
        prev_ts = None
        for i, (t, r) in enumerate(TIME_ENTRY.iter_unpack(traw[: tn * TIME_ENTRY.size])):
            # Each time entry must name the same offset, and the running max never falls.
            if r != rel[i] or (prev_ts is not None and t < prev_ts):
                break
            ts.append(t)
            prev_ts = t
        keep = min(keep, len(ts))
        self.rel = rel[:keep]
        self.pos = pos[:keep]
        self.ts = ts[:keep]
        self._fresh = False
        if len(raw) != keep * INDEX_ENTRY.size or len(traw) != keep * TIME_ENTRY.size:
            self._cut_files(keep)
        self._persisted = keep

    def adopt(self, entries: list[tuple[int, int, int]]) -> None:
        """Take ``entries`` as already in the files (the log cleaner wrote them)."""
        for rel, pos, ts in entries:
            self.rel.append(rel)
            self.pos.append(pos)
            self.ts.append(ts)
        self._persisted = len(self.rel)
        self._fresh = False

    def replace(self, entries: list[tuple[int, int, int]]) -> None:
        """Drop every entry and write ``entries`` instead (a rebuilt index)."""
        self.truncate(0)
        self.append(entries)
        self.persist()

    # --- change -----------------------------------------------------------------------

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` entries, in memory and on disk."""
        if n >= len(self.rel):
            return
        del self.rel[n:]
        del self.pos[n:]
        del self.ts[n:]
        if n < self._persisted:
            self._persisted = n
            self._cut_files(n)

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
        """Write the entries not yet in the files (time index first, then offset index).

        Never raises for a failing disk (see the module docstring): the log is the truth
        and recovery rebuilds what an index misses.
        """
        start, end = self._persisted, len(self.rel)
        if start == end or self._broken:
            return
        rel, pos, ts = self.rel, self.pos, self.ts
        tpack, ipack = TIME_ENTRY.pack, INDEX_ENTRY.pack
        tdata = b"".join([tpack(ts[i], rel[i]) for i in range(start, end)])
        idata = b"".join([ipack(rel[i], pos[i]) for i in range(start, end)])
        extra = os.O_TRUNC if self._fresh else 0
        try:
            _append_path(self.time_path, tdata, extra)
            _append_path(self.index_path, idata, extra)
        except OSError as exc:
            log.warning("index write failed for %s: %s", self.index_path, exc)
            self._cut_files(start)
            return
        self._fresh = False
        self._persisted = end

    def _cut_files(self, n: int) -> None:
        """Cut both files to ``n`` entries; on failure stop writing them (see module doc)."""
        ops = files.FILES
        for path, size in ((self.index_path, INDEX_ENTRY.size), (self.time_path, TIME_ENTRY.size)):
            try:
                fd = ops.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._give_up(exc)
                return
            try:
                ops.ftruncate(fd, n * size)
            except OSError as exc:
                self._give_up(exc)
                return
            finally:
                ops.close(fd)

    def _give_up(self, exc: OSError) -> None:
        if not self._broken:
            log.warning("index files of %s left for recovery to rebuild: %s",
                        self.index_path, exc)
        self._broken = True

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

    def fds(self) -> tuple[int, ...]:
        return ()  # no descriptor outlives a load, persist or cut

    def close(self) -> None:
        pass  # nothing held open


def _read_path(path: Path) -> bytes:
    """The whole file, b"" if it does not exist."""
    try:
        fd = files.FILES.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return b""
    try:
        return files.read_all(fd)
    finally:
        files.FILES.close(fd)


def _append_path(path: Path, data: bytes, extra_flags: int) -> None:
    ops = files.FILES
    fd = ops.open(path, _OPEN_FLAGS | extra_flags, 0o644)
    try:
        files.write_all(fd, data)
    finally:
        ops.close(fd)
