"""Log compaction: the cleaner that keeps the last record of every key.

Contract:

* Which logs: those whose ``cleanup.policy`` holds ``compact`` (``compact`` or
  ``compact,delete``; with ``delete`` retention also deletes whole old segments, see
  partition_log.py). The policy may change at any time (AlterConfigs): the cleaner reads
  ``PartitionLog.config`` at each pass.
* Sections: the *cleanable* part of a log is its segments before the first
  uncleanable one: the active segment is never cleaned, nor a segment holding records
  past the high watermark, nor one whose newest record is younger than
  ``min.compaction.lag.ms`` (nor anything after those). Below the *checkpoint*
  (:attr:`CleanerState.clean_offset`, kept in ``<dir>/cleaner-checkpoint``) the log is
  clean; from it to the first uncleanable offset it is dirty. The dirty ratio is dirty
  bytes / cleanable bytes. A log is cleaned when the ratio reaches
  ``min.cleanable.dirty.ratio``, when its first dirty segment is older than
  ``max.compaction.lag.ms`` (however little is dirty), or when a tombstone it kept has
  become removable.
* A pass: map each key of the dirty section to its last offset (keys are held as 16-byte
  BLAKE2b digests, at most ``max_keys`` of them: past that the pass stops at the end of
  the segment that filled the map and the rest stays dirty), then rewrite every
  cleanable segment from the log's first one keeping a record when it is its key's last
  (or its key is not in the map). Records without a key are dropped (Kafka's cleaner does
  the same; compacted topics refuse them on produce). A tombstone (null value) is kept
  until it lies in a segment that was already clean when the pass began and that
  segment was last written more than ``delete.retention.ms`` ago; so a tombstone
  always outlives, by one pass at least, the older values it deletes.
* Offsets never change: a rebuilt batch keeps its base offset, lastOffsetDelta, base
  timestamp, attributes (codec, transactional and control bits), producer id, epoch and
  base sequence, and its surviving records' bytes verbatim (offset and timestamp deltas,
  headers); only the record count, max timestamp, CRC and (re)compressed payload are
  new, compressed with the batch's own codec. A batch nothing was removed from is copied
  as it is. Control batches (attributes bit 5: transaction markers) are always copied as
  they are. A batch left empty is dropped, except the last batch of each producer id
  among the segments cleaned, which stays as an empty batch (0 records, uncompressed,
  timestamps its old max timestamp: Kafka's "empty header") so that a producer's last
  sequence and epoch survive for idempotence after a restart. So a compacted log has
  gaps: between batches, and inside a batch between its records.
* Threads: :func:`plan` and :func:`commit_one` run on the log owner's thread (the
  broker loop) and do no I/O but renames and deletions; :func:`run_pass` and
  :func:`finish` run in the cleaner's own thread (which waits for the loop to swap each
  group it finishes), reading segments through ``Segment`` (thread-safe preads) at a
  bounded rate (:class:`Throttle`, bytes read plus written per second) and stopping
  between batches once the stop event is set.
* Merging: consecutive segments are cleaned into one while their cleaned bytes fit in
  ``segment.bytes`` (and their offsets in a u32 index), so a compacted log does not keep
  a file per segment ever rolled; one group's output is held in memory (at most
  ``segment.bytes``). A lone segment nothing was removed from is left as it is.
* Crash safety: a cleaned group is written as its first segment's
  ``<base>.log.cleaned`` (and ``.index.cleaned`` / ``.timeindex.cleaned``), fsynced; for
  a merge, a ``<base>.merged`` manifest naming the other segments is written and
  fsynced with the directory; then the cleaned log is renamed over ``<base>.log`` (the
  commit point, one atomic rename; indexes after it), the other segments' files are
  deleted and last the manifest. Each group is swapped as soon as it is done; after the
  whole pass the directory is fsynced and the checkpoint written (tmp + fsync +
  rename). On open, :func:`finish_merges` completes a merge whose rename happened (the
  manifest is there, the cleaned log is not) and discards one whose rename did not, and
  :func:`remove_leftovers` deletes ``*.cleaned`` files: a crash before a rename leaves
  the old segments, after it the new one (whose indexes recovery rebuilds if stale:
  older segments are validated whole on open), never a mix. A crash before the
  checkpoint only makes the next pass clean again what is already clean. Opens, writes,
  fsyncs and renames go through ``core.log.files.FILES`` (so tests can fail them);
  deletions are plain unlinks, as elsewhere in the log.
* Transactions (``PartitionLog.txns``, the partition's open and aborted transactions,
  set by the broker): nothing at or past the last stable offset is cleanable (an open
  transaction may still abort), and records of an aborted transaction are neither a
  key's "last record" nor kept: they are dropped, so an aborted write never hides the
  committed value of its key. Markers (control batches) stay. Aborted transactions the
  partition no longer lists (past its bound, or older than its rebuild scan after a
  restart) count as committed.
* Bad data: a batch that fails its CRC or does not decode aborts the pass (the
  segment is left as it is and the error kept in :attr:`CleanerState.last_error`):
  the cleaner never writes what it could not read.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from streamscope.core.errors import KafkaError
from streamscope.core.log import files
from streamscope.core.log.offset_index import INDEX_ENTRY, TIME_ENTRY
from streamscope.core.log.segment import Segment, segment_name
from streamscope.core.records import (
    BatchHeader,
    Compression,
    RawRecord,
    batch_body,
    compress,
    parse_header,
    reseal_batch,
    scan_records,
    uncompressed_limit,
)

if TYPE_CHECKING:
    from streamscope.core.log.partition_log import PartitionLog

log = logging.getLogger(__name__)

CLEANER_CHECKPOINT = "cleaner-checkpoint"
CLEANED_SUFFIX = ".cleaned"
MERGED_SUFFIX = ".merged"
_U32 = 0xFFFFFFFF
_CONTROL = 0x20
_TRANSACTIONAL = 0x10
_CODEC = 0x07
# The cleaner thread releases the GIL at least this often (see _batches).
_HAND_OVER_S = 0.001
# Batches are read this much at a time (whole batches, at least one).
_READ_CHUNK = 1024 * 1024


class AbortedRange(Protocol):
    """An aborted transaction's records on a partition (core.idempotence.AbortedTxn)."""

    @property
    def producer_id(self) -> int: ...
    @property
    def first_offset(self) -> int: ...
    @property
    def last_offset(self) -> int: ...


class TxnBounds(Protocol):
    """What the cleaner needs of a partition's transactions (core.idempotence.PartitionTxns)."""

    @property
    def aborted(self) -> Sequence[AbortedRange]: ...

    def last_stable_offset(self, high_watermark: int) -> int: ...


@dataclass(frozen=True, slots=True)
class CompactionStatus:
    """What the monitor shows of a compacted log: the checkpoint (clean below), where the
    dirty part ends (the first uncleanable offset: the active segment's base, or earlier
    under min.compaction.lag.ms), the dirty ratio and the cleaner's progress."""

    clean_offset: int
    dirty_end_offset: int
    dirty_ratio: float
    state: str  # "idle" | "cleaning"
    passes: int
    bytes_read: int
    bytes_written: int
    last_run_ms: int
    last_error: str | None
    progress: float = 0.0  # of the pass running: bytes read over what it will read


@dataclass(slots=True)
class CleanerState:
    """A log's compaction state, on the owner's thread (the monitor reads it there)."""

    clean_offset: int = 0  # the checkpoint: the log below it is clean
    tombstone_due_ms: int | None = None  # when a kept tombstone becomes removable
    cleaning: bool = False
    passes: int = 0
    bytes_read: int = 0  # by every pass so far (this process)
    bytes_written: int = 0
    last_run_ms: int = 0  # epoch ms when the last pass ended; 0: none yet
    last_error: str | None = None
    # The pass running: its live result (its thread adds to bytes_read, the monitor only
    # reads the int) and the bytes it will read in all (the dirty map, then the rewrite).
    running: PassResult | None = None
    running_total: int = 0

    @property
    def progress(self) -> float:
        run = self.running
        if run is None or self.running_total <= 0:
            return 0.0
        return min(1.0, run.bytes_read / self.running_total)

    @property
    def state(self) -> str:
        return "cleaning" if self.cleaning else "idle"


def load_checkpoint(directory: Path) -> CleanerState:
    """The state the last pass left in ``directory`` (a fresh one if none or garbled)."""
    state = CleanerState()
    try:
        data = json.loads((directory / CLEANER_CHECKPOINT).read_text("utf-8"))
        state.clean_offset = max(0, int(data["clean_offset"]))
        due = data.get("tombstone_due_ms")
        state.tombstone_due_ms = None if due is None else int(due)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    return state


def _write_checkpoint(directory: Path, clean_offset: int, due: int | None) -> None:
    path = directory / CLEANER_CHECKPOINT
    tmp = path.with_name(CLEANER_CHECKPOINT + ".tmp")
    data = json.dumps({"clean_offset": clean_offset, "tombstone_due_ms": due}).encode()
    ops = files.FILES
    fd = ops.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        files.write_all(fd, data)
        ops.fsync(fd)
    finally:
        ops.close(fd)
    ops.replace(str(tmp), str(path))
    files.fsync_dir(directory)


def finish_merges(directory: Path) -> None:
    """Complete or discard merges an interrupted pass left: a ``<base>.merged`` manifest
    whose ``<base>.log.cleaned`` is gone was renamed in (the merge happened), so the
    segments it lists are deleted; one whose cleaned log is still there was not, so the
    manifest goes (and :func:`remove_leftovers` the cleaned files). Call before the
    segments are listed."""
    for entry in os.scandir(directory):
        if not entry.name.endswith(MERGED_SUFFIX):
            continue
        name = entry.name[: -len(MERGED_SUFFIX)]
        if not (directory / f"{name}.log{CLEANED_SUFFIX}").exists():
            for line in Path(entry.path).read_text("ascii").split():
                base = segment_name(int(line))
                for ext in (".log", ".index", ".timeindex"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(directory / f"{base}{ext}")
        os.unlink(entry.path)


def remove_leftovers(directory: Path) -> None:
    """Delete what an interrupted pass left (``*.cleaned``, a checkpoint's tmp): its
    segments were never renamed in, so the old ones stand (see the module docstring)."""
    for entry in os.scandir(directory):
        if entry.name.endswith(CLEANED_SUFFIX) or entry.name == CLEANER_CHECKPOINT + ".tmp":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


# --- what to clean (owner's thread) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sections:
    """A log's cleanable segments and where its dirty part starts."""

    cleanable: list[Segment]
    dirty_from: int  # index in ``cleanable`` of the first dirty segment
    clean_bytes: int
    dirty_bytes: int

    @property
    def dirty_ratio(self) -> float:
        total = self.clean_bytes + self.dirty_bytes
        return self.dirty_bytes / total if total else 0.0


def sections(plog: PartitionLog, now_ms: int) -> Sections:
    """Split ``plog``'s segments as the module docstring says (no I/O)."""
    segs = plog.segments()
    hw = plog.log_end_offset
    if plog.txns is not None:
        hw = plog.txns.last_stable_offset(hw)
    lag = plog.config.min_compaction_lag_ms
    clean_offset = plog.cleaner.clean_offset
    cleanable: list[Segment] = []
    for seg in segs[:-1]:  # never the active segment
        if seg.next_offset > hw:
            break
        if lag > 0 and seg.max_timestamp > now_ms - lag:
            break
        cleanable.append(seg)
    dirty_from = len(cleanable)
    clean = dirty = 0
    for i, seg in enumerate(cleanable):
        if seg.next_offset <= clean_offset:
            clean += seg.size
        else:
            dirty_from = min(dirty_from, i)
            dirty += seg.size
    return Sections(cleanable, dirty_from, clean, dirty)


def status(plog: PartitionLog, now_ms: int) -> CompactionStatus:
    """The log's :class:`CompactionStatus` now (owner's thread, no I/O)."""
    s = sections(plog, now_ms)
    st = plog.cleaner
    dirty_end = s.cleanable[-1].next_offset if s.cleanable else plog.log_start_offset
    clean = min(max(st.clean_offset, plog.log_start_offset), max(dirty_end, plog.log_start_offset))
    return CompactionStatus(clean, max(dirty_end, clean), round(s.dirty_ratio, 4), st.state,
                            st.passes, st.bytes_read, st.bytes_written, st.last_run_ms,
                            st.last_error, round(st.progress, 2))


def needs_cleaning(plog: PartitionLog, now_ms: int) -> bool:
    """Whether a pass is due (module docstring: ratio, max lag, due tombstones)."""
    cfg = plog.config
    if not cfg.compact or plog.closed:
        return False
    s = sections(plog, now_ms)
    if not s.cleanable:
        return False
    if s.dirty_bytes and s.dirty_ratio >= cfg.min_cleanable_dirty_ratio:
        return True
    if s.dirty_bytes and s.dirty_from < len(s.cleanable):
        first = s.cleanable[s.dirty_from]
        if now_ms - first.created_ms > cfg.max_compaction_lag_ms:
            return True
    due = plog.cleaner.tombstone_due_ms
    return due is not None and now_ms >= due


@dataclass(slots=True)
class Plan:
    """What one pass cleans, fixed on the owner's thread when it starts."""

    directory: Path
    segments: list[Segment]
    dirty_from: int
    clean_offset: int
    delete_retention_ms: int
    max_uncompressed: int
    index_interval: int
    segment_bytes: int
    now_ms: int
    # Aborted transactions by producer id: (first offsets, last offsets), both sorted
    # (one producer's transactions follow each other, so they never overlap).
    aborted: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)

    def is_aborted(self, h: BatchHeader) -> bool:
        """Whether the transactional batch ``h`` belongs to an aborted transaction (a
        batch lies in one transaction of one producer, so its base offset tells)."""
        ranges = self.aborted.get(h.producer_id)
        if ranges is None:
            return False
        firsts, lasts = ranges
        i = bisect.bisect_right(firsts, h.base_offset) - 1
        return i >= 0 and h.base_offset <= lasts[i]


def plan(plog: PartitionLog, now_ms: int) -> Plan | None:
    """The next pass over ``plog``, or None when there is nothing to clean."""
    if not needs_cleaning(plog, now_ms):
        return None
    s = sections(plog, now_ms)
    cfg = plog.config
    end = s.cleanable[-1].next_offset if s.cleanable else 0
    aborted: dict[int, tuple[list[int], list[int]]] = {}
    if plog.txns is not None:
        for a in sorted(plog.txns.aborted, key=lambda a: a.first_offset):
            if a.first_offset < end:
                firsts, lasts = aborted.setdefault(a.producer_id, ([], []))
                firsts.append(a.first_offset)
                lasts.append(a.last_offset)
    return Plan(plog.directory, list(s.cleanable), s.dirty_from, plog.cleaner.clean_offset,
                cfg.delete_retention_ms, uncompressed_limit(cfg.max_message_bytes),
                cfg.index_interval_bytes, cfg.segment_bytes, now_ms, aborted)


# --- the pass (cleaner thread) -------------------------------------------------------


class Stopped(Exception):
    """The cleaner is shutting down: the pass stops between batches."""


class Throttle:
    """At most ``rate`` bytes per second (read plus written) over a pass; waits on
    ``stop`` so a shutdown never waits for it. ``clock`` and ``wait`` (seconds -> True
    when stopped; default ``stop.wait``) are injectable."""

    def __init__(self, rate: int, stop: threading.Event,
                 clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[float], bool] | None = None) -> None:
        self.rate = rate
        self.stop = stop
        self.clock = clock
        self._wait = stop.wait if wait is None else wait
        self._start = clock()
        self._spent = 0
        self.waited = 0.0

    def spend(self, nbytes: int) -> None:
        if self.stop.is_set():
            raise Stopped
        self._spent += nbytes
        ahead = self._spent / self.rate - (self.clock() - self._start)
        if ahead > 0.001:
            self.waited += ahead
            if self._wait(ahead):
                raise Stopped


@dataclass(slots=True)
class Cleaned:
    """Consecutive segments (one or more) rewritten to the first one's ``*.cleaned``
    files, written and synced; ``manifest`` names the others when there are others."""

    olds: list[Segment]
    tmp_log: Path
    tmp_index: Path
    tmp_time: Path
    manifest: Path | None
    size: int
    max_timestamp: int
    entries: list[tuple[int, int, int]]
    bytes_since_index: int
    last_modified: float

    def temp_files(self) -> list[Path]:
        """Its files, the manifest first: without the cleaned log a manifest would
        say the merge happened (see :func:`finish_merges`)."""
        out = [self.manifest] if self.manifest is not None else []
        return out + [self.tmp_log, self.tmp_index, self.tmp_time]


@dataclass(slots=True)
class PassResult:
    cleaned: list[Cleaned] = field(default_factory=list)
    clean_offset: int = 0  # the new checkpoint
    tombstone_due_ms: int | None = None
    bytes_read: int = 0
    bytes_written: int = 0
    records_mapped: int = 0  # records of the dirty section read into the key map
    records_removed: int = 0


def _key_digest(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest()


def _batches(seg: Segment, throttle: Throttle | None) -> Iterable[tuple[memoryview, int]]:
    """(batch bytes, position) of every batch of ``seg``, read a chunk at a time."""
    pos = 0
    end = seg.size
    clock = time.perf_counter
    handed = clock()
    while pos < end:
        stop = seg.boundary(pos, _READ_CHUNK)
        if stop <= pos:
            return
        chunk = seg.read(pos, stop)
        if throttle is not None:
            throttle.spend(len(chunk))
        view = memoryview(chunk)
        off = 0
        while off < len(view):
            size = int.from_bytes(view[off + 8 : off + 12], "big", signed=True) + 12
            yield view[off : off + size], pos + off
            off += size
            # Hand the GIL over every millisecond of work: the broker loop, back from a
            # syscall, would otherwise wait out the interpreter's whole switch interval
            # (5 ms) behind this thread on each of its writes (benchmarks/compaction.py).
            if clock() - handed >= _HAND_OVER_S:
                time.sleep(0)
                handed = clock()
        pos = stop


def run_pass(p: Plan, throttle: Throttle, *, max_keys: int,
             swap: Callable[[Cleaned], bool], result: PassResult | None = None) -> PassResult:
    """Clean the segments of ``p``: each rewritten segment's ``*.cleaned`` files are
    written and synced, then handed to ``swap`` (:func:`commit_one` on the owner's
    thread) before the next segment is read, so an interrupted pass keeps the segments
    it finished. On any error every file this pass wrote and did not swap in is removed
    and the error raised (the checkpoint is then left as it was). ``result``, when given,
    is filled as the pass goes (its ``bytes_read`` is the pass's progress)."""
    result = result if result is not None else PassResult()
    written: list[Path] = []
    try:
        _run_pass(p, throttle, max_keys, result, written, swap)
    except BaseException:
        for path in reversed(written):  # a manifest before the cleaned log it describes
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
    return result


def _run_pass(p: Plan, throttle: Throttle, max_keys: int, result: PassResult,
              written: list[Path], swap: Callable[[Cleaned], bool]) -> None:
    segs = p.segments
    # Map the dirty section: key digest -> last offset. Stops at a segment boundary
    # once the map is full (module docstring).
    latest: dict[bytes, int] = {}
    end = len(segs)
    for i in range(p.dirty_from, len(segs)):
        for batch, _pos in _batches(segs[i], throttle):
            h = parse_header(batch)
            result.bytes_read += h.size
            if h.attributes & _CONTROL:
                continue
            body = batch_body(batch, max_uncompressed=p.max_uncompressed)
            aborted = bool(h.attributes & _TRANSACTIONAL) and p.is_aborted(h)
            for r in scan_records(h, body):
                result.records_mapped += 1
                if r.key is not None and not aborted:
                    latest[_key_digest(r.key)] = r.offset
        if len(latest) >= max_keys:
            end = i + 1
            break
    segs = segs[:end]
    result.clean_offset = max(p.clean_offset, segs[-1].next_offset) if segs else p.clean_offset
    # The last batch of each producer id among these segments (kept even when empty).
    last_of_producer: dict[int, int] = {}
    for seg in segs:
        for _pos, h in seg.headers_from(0):
            if h[9] >= 0:
                last_of_producer[h[9]] = h[0] + h[6]
    due: int | None = None
    # Consecutive segments are merged while their cleaned bytes fit in segment.bytes
    # (and their offsets in one segment's u32 index): a compacted log keeps few files.
    group: list[Segment] = []
    out: list[bytes] = []
    size = 0
    changed = False

    def flush() -> None:
        if group and (changed or len(group) > 1):
            cleaned = _write_cleaned(p, group, out, throttle, result, written)
            if swap(cleaned):
                result.cleaned.append(cleaned)

    for i, seg in enumerate(segs):
        tombstones_removable = (
            i < p.dirty_from
            and p.now_ms - int(seg.last_modified * 1000) > p.delete_retention_ms)
        batches, seg_changed, kept_tombstone = _clean_segment(
            p, seg, latest, last_of_producer, tombstones_removable, throttle, result)
        if kept_tombstone:
            when = int(seg.last_modified * 1000) + p.delete_retention_ms + 1
            due = when if due is None else min(due, when)
        nbytes = sum(len(b) for b in batches)
        if group and (size + nbytes > p.segment_bytes
                      or seg.next_offset - group[0].base_offset > _U32):
            flush()
            group, out, size, changed = [], [], 0, False
        group.append(seg)
        out += batches
        size += nbytes
        changed = changed or seg_changed
    flush()
    result.tombstone_due_ms = due


def _clean_segment(
    p: Plan, seg: Segment, latest: dict[bytes, int], last_of_producer: dict[int, int],
    tombstones_removable: bool, throttle: Throttle, result: PassResult,
) -> tuple[list[bytes], bool, bool]:
    """One segment's batches as cleaning leaves them: (batches, whether any changed,
    whether a tombstone stayed)."""
    out: list[bytes] = []
    changed = False
    kept_tombstone = False
    for batch, _pos in _batches(seg, throttle):
        h = parse_header(batch)
        if h.attributes & _CONTROL:
            out.append(bytes(batch))
            continue
        body = batch_body(batch, max_uncompressed=p.max_uncompressed)
        keep: list[RawRecord] = []
        removed = 0
        aborted = bool(h.attributes & _TRANSACTIONAL) and p.is_aborted(h)
        for r in scan_records(h, body):
            if r.key is None or aborted:
                removed += 1
                continue
            last = latest.get(_key_digest(r.key))
            if last is not None and r.offset < last:
                removed += 1
            elif r.null_value and tombstones_removable:
                removed += 1
            else:
                keep.append(r)
                if r.null_value:
                    kept_tombstone = True
        if not removed:
            out.append(bytes(batch))
            continue
        changed = True
        result.records_removed += removed
        if keep:
            raw = b"".join([body[r.start : r.end] for r in keep])
            payload = compress(Compression(h.attributes & _CODEC), raw)
            out.append(reseal_batch(h, payload, records_count=len(keep),
                                    max_timestamp=max(r.timestamp for r in keep)))
        elif h.producer_id >= 0 and last_of_producer.get(h.producer_id) == h.last_offset:
            h.attributes &= ~_CODEC  # Kafka's empty header is never compressed
            h.base_timestamp = h.max_timestamp
            out.append(reseal_batch(h, b"", records_count=0, max_timestamp=h.max_timestamp))
    return out, changed, kept_tombstone


def _write_cleaned(p: Plan, group: list[Segment], batches: list[bytes], throttle: Throttle,
                   result: PassResult, written: list[Path]) -> Cleaned:
    first = group[0]
    name = segment_name(first.base_offset)
    d = p.directory
    tmp_log = d / f"{name}.log{CLEANED_SUFFIX}"
    tmp_index = d / f"{name}.index{CLEANED_SUFFIX}"
    tmp_time = d / f"{name}.timeindex{CLEANED_SUFFIX}"
    entries: list[tuple[int, int, int]] = []
    since = 0
    pos = 0
    max_ts = -1
    for b in batches:
        bh = parse_header(b)
        max_ts = max(max_ts, bh.max_timestamp)
        if since >= p.index_interval and pos > 0:
            entries.append((bh.base_offset - first.base_offset, pos, max_ts))
            since = 0
        since += len(b)
        pos += len(b)
    data = b"".join(batches)
    throttle.spend(len(data))
    for path, content in (
        (tmp_log, data),
        (tmp_time, b"".join(TIME_ENTRY.pack(t, r) for r, _p, t in entries)),
        (tmp_index, b"".join(INDEX_ENTRY.pack(r, ps) for r, ps, _t in entries)),
    ):
        written.append(path)
        _write_synced(path, content)
    # Keep the old files' age: retention by time falls back on it for segments
    # without timestamps, and segment ages must not reset because a cleaner ran.
    last_modified = max(s.last_modified for s in group)
    os.utime(tmp_log, (last_modified, last_modified))
    manifest = None
    if len(group) > 1:
        # Which segments the merged one replaces, durable before its rename (the
        # module docstring: an open finishes or discards the merge by it).
        manifest = d / f"{name}{MERGED_SUFFIX}"
        written.append(manifest)
        _write_synced(manifest, "\n".join(str(s.base_offset) for s in group[1:]).encode())
        files.fsync_dir(d)
    result.bytes_written += len(data)
    return Cleaned(group, tmp_log, tmp_index, tmp_time, manifest, len(data), max_ts,
                   entries, since, last_modified)


def _write_synced(path: Path, data: bytes) -> None:
    ops = files.FILES
    fd = ops.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0),
                  0o644)
    try:
        files.write_all(fd, data)
        ops.fsync(fd)
    finally:
        ops.close(fd)


# --- commit (owner's thread) and finish (cleaner thread) ------------------------------


def commit_one(plog: PartitionLog, c: Cleaned) -> bool:
    """Swap one cleaned segment in (owner's thread; renames only). False when its segment
    went away meanwhile (retention, topic deletion): its files are deleted instead.
    OSError when the rename fails (recorded in ``last_error``; the old segment stays)."""
    if plog.closed or not plog.has_segments(c.olds):
        for path in c.temp_files():
            with contextlib.suppress(OSError):
                os.unlink(path)
        return False
    try:
        plog.swap_cleaned(c.olds, c.tmp_log, c.tmp_index, c.tmp_time, c.manifest,
                          size=c.size, max_timestamp=c.max_timestamp, entries=c.entries,
                          bytes_since_index=c.bytes_since_index,
                          last_modified=c.last_modified)
    except OSError as exc:
        log.error("log cleaner: swapping %s failed: %s", c.tmp_log, exc)
        plog.cleaner.last_error = f"swap failed: {exc}"
        raise
    return True


def finish(directory: Path, result: PassResult) -> None:
    """After a whole pass: make its renames durable, then write the checkpoint (cleaner
    thread)."""
    files.fsync_dir(directory)
    _write_checkpoint(directory, result.clean_offset, result.tombstone_due_ms)


# --- the cleaner (one thread for a broker) --------------------------------------------


async def _call(fn: Callable[..., bool], *args: object) -> bool:
    return fn(*args)


@dataclass(frozen=True, slots=True)
class CleanerConfig:
    """The cleaner's settings (``BrokerConfig.cleaner_*``)."""

    interval_ms: int = 15_000  # Kafka's log.cleaner.backoff.ms
    io_bytes_per_sec: int = 16 * 1024 * 1024  # log.cleaner.io.max.bytes.per.second
    max_keys: int = 500_000  # log.cleaner.dedupe.buffer.size, counted in keys


class LogCleaner:
    """Runs passes over the compacted logs a provider names, one at a time, on its own
    thread; the broker owns it (start with :meth:`run` as a task, :meth:`wake` when a
    policy changes, :meth:`close` before closing the logs)."""

    def __init__(self, config: CleanerConfig,
                 logs: Callable[[], Iterable[PartitionLog]],
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._logs = logs
        self._clock = clock
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-cleaner")
        self._wake: asyncio.Event | None = None
        self.passes = 0

    def wake(self) -> None:
        """Look for work now (a topic's policy changed, or a test wants a pass)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        self._wake = asyncio.Event()
        interval = self.config.interval_ms / 1000
        while not self._stop.is_set():
            await self.clean_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    async def clean_due(self) -> int:
        """One pass over every log that needs one now; how many passes ran."""
        ran = 0
        for plog in list(self._logs()):
            if self._stop.is_set():
                break
            if await self.clean(plog):
                ran += 1
        return ran

    async def clean(self, plog: PartitionLog) -> bool:
        """Clean ``plog`` if it needs it; whether a pass ran (even one that failed)."""
        now_ms = int(self._clock() * 1000)
        try:
            p = plan(plog, now_ms)
        except (KafkaError, ValueError):
            return False  # closed or offline
        if p is None:
            return False
        loop = asyncio.get_running_loop()
        state = plog.cleaner
        state.cleaning = True
        state.last_error = None
        running = state.running = PassResult()
        # The map reads the dirty segments, the rewrite every cleanable one.
        state.running_total = (sum(s.size for s in p.segments[p.dirty_from:])
                               + sum(s.size for s in p.segments))
        throttle = Throttle(self.config.io_bytes_per_sec, self._stop)

        def swap(c: Cleaned) -> bool:  # on the cleaner thread: the loop does the swap
            fut = asyncio.run_coroutine_threadsafe(_call(commit_one, plog, c), loop)
            while True:
                try:
                    return fut.result(timeout=1.0)
                except TimeoutError:
                    if self._stop.is_set() or loop.is_closed():
                        fut.cancel()
                        raise Stopped from None

        try:
            result = await loop.run_in_executor(
                self._executor,
                lambda: run_pass(p, throttle, max_keys=self.config.max_keys, swap=swap,
                                 result=running))
            if plog.closed:
                return True  # deleted meanwhile: its directory may soon be another log's
            await loop.run_in_executor(self._executor, finish, p.directory, result)
        except Stopped:
            return True
        except (OSError, KafkaError) as exc:
            if state.last_error is None:  # commit_one may have said it better
                state.last_error = str(exc)
            log.error("log cleaner: %s-%d: %s", plog.topic, plog.partition, exc)
            return True
        finally:
            state.cleaning = False
            state.running = None
            state.last_run_ms = int(self._clock() * 1000)
        state.passes += 1
        self.passes += 1
        state.clean_offset = result.clean_offset
        state.tombstone_due_ms = result.tombstone_due_ms
        state.bytes_read += result.bytes_read
        state.bytes_written += result.bytes_written
        return True

    async def close(self) -> None:
        """Stop between batches and wait for the thread (a pass in flight is discarded:
        its ``*.cleaned`` files are removed)."""
        self._stop.set()
        self.wake()
        await asyncio.to_thread(self._executor.shutdown, wait=True)
