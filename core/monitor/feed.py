"""The broker's activity feed: sampled appends, commits and read positions, bounded.

Contract:

* One :class:`ActivityFeed` per broker, touched only on the broker's loop. The broker's
  request paths call its hooks with data they already hold, and nothing else:
  :meth:`~ActivityFeed.appended` (the produce path: topic, partition and the batch
  headers :func:`core.records.validate_batches` parsed; no record is decoded),
  :meth:`~ActivityFeed.committed` (the group coordinator, per committed offset),
  :meth:`~ActivityFeed.fetched` (Fetch, and in-process consumers: per reader and
  partition, the offset past the last record handed over) and :meth:`~ActivityFeed.reader_closed` (a connection or
  an in-process client went away: its read positions go with it).
* Bounded everywhere: at most ``per_partition`` appended batches of a partition are kept
  between two snapshots (the rest only counted, ``appends_dropped``; a snapshot opens the
  next window, so the sample follows whoever watches and the produce path never reads
  a clock for it), at most
  ``appends_kept`` appends and ``commits_kept`` commits in all (oldest fall off), at most
  ``positions_per_reader`` read positions per reader. Each kept entry is numbered
  (``seq``), so readers of successive snapshots take only what is new.
* :meth:`~ActivityFeed.snapshot` never drains: it returns the frozen
  :class:`~core.monitor.activity.ActivitySnapshot` of what is kept now, with each read
  position attributed to the one group member whose client id and host match the
  reader's and whose assignment holds the partition (:func:`attribute`); when no member
  or more than one member fits, the position stays unattributed rather than guessed.
* Key hashes come off the produce path: :meth:`~ActivityFeed.run_key_sampler` (a task
  the broker owns) reads back the newest appended batches not yet sampled,
  within ``key_budget_bytes`` per ``interval_s`` and only while someone took a snapshot
  lately, through :class:`StoredBatches` on the loop (page-cache reads of whole
  batches), and decodes them in a worker thread (:func:`asyncio.to_thread`; compressed
  batches are decompressed there by :func:`core.records.iter_records`, to at most
  :data:`KEY_SAMPLE_MAX_UNCOMPRESSED` bytes: a batch inflating further is left
  unsampled, so a decompression bomb costs the sampler a bounded buffer once). A key hashes to
  ``zlib.crc32`` of its bytes (stable across runs and processes); a null key to ``None``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from streamscope.core.errors import KafkaError
from streamscope.core.monitor.activity import (
    ActivitySnapshot,
    AppendSample,
    CommitSample,
    ReadPosition,
)
from streamscope.core.monitor.snapshot import GroupSnapshot
from streamscope.core.records import BatchHeader, iter_records

__all__ = ["ActivityFeed", "StoredBatches", "attribute", "key_hash"]

log = logging.getLogger(__name__)

APPENDS_KEPT = 2048
# The key sampler is a view, not a consumer: it gives up on a batch that inflates past
# this rather than hold tens of MiB for one batch's key hashes.
KEY_SAMPLE_MAX_UNCOMPRESSED = 8 * 1024 * 1024
COMMITS_KEPT = 1024
# Appended batches kept per partition between snapshots: at 10 snapshots a second, enough
# for a lane to show every batch of a slow producer and a steady sample of a fast one.
APPENDS_PER_PARTITION = 16
# How often the key sampler makes a pass.
SAMPLE_INTERVAL_S = 0.1
# Stored bytes read back and decoded for key hashes per interval. Decoding is Python
# work in a thread that still takes the GIL from the broker's loop, so keep it small.
KEY_BUDGET_BYTES = 64 * 1024
# Records hashed per batch at most: a bigger batch stays unsampled (neutral colour).
MAX_KEYS_PER_BATCH = 10_000
POSITIONS_PER_READER = 10_000
# The key sampler works only while snapshots are being taken (someone is watching).
WATCHED_FOR_S = 2.0


def key_hash(key: bytes | None) -> int | None:
    """The stable hash of a record key the feed reports (None for a null key)."""
    return None if key is None else zlib.crc32(key)


class StoredBatches(Protocol):
    """Reads stored batches back without counting them as consumed (``Broker.read_stored``)."""

    def read_stored(self, topic: str, partition: int, offset: int, max_bytes: int) -> bytes:
        """Whole stored batches from the one holding ``offset``; at least one if any."""
        ...


@dataclass(slots=True)
class _Pending:
    """An appended batch whose keys are not hashed yet."""

    seq: int
    topic: str
    partition: int
    base_offset: int
    last_offset: int
    size: int


@dataclass(slots=True)
class _Reader:
    client_id: str
    host: str
    # (topic, partition) -> (fetch offset, wall clock of that Fetch)
    positions: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Candidate:
    group_id: str
    member_id: str
    assignment: frozenset[tuple[str, int]]


class ActivityFeed:
    """Bounded, sampled appends, commits and read positions (see the module docstring)."""

    def __init__(
        self,
        *,
        appends_kept: int = APPENDS_KEPT,
        commits_kept: int = COMMITS_KEPT,
        per_partition: int = APPENDS_PER_PARTITION,
        interval_s: float = SAMPLE_INTERVAL_S,
        key_budget_bytes: int = KEY_BUDGET_BYTES,
        positions_per_reader: int = POSITIONS_PER_READER,
    ) -> None:
        self.per_partition = per_partition
        self.interval_s = interval_s
        self.key_budget_bytes = key_budget_bytes
        self.positions_per_reader = positions_per_reader
        self.appends_dropped = 0
        self._appends: deque[AppendSample] = deque(maxlen=appends_kept)
        self._pending: deque[_Pending] = deque(maxlen=appends_kept)
        # Appends kept per partition since the last snapshot (the sampling window).
        self._kept: dict[tuple[str, int], int] = {}
        self._seq = 0
        self._commits: deque[CommitSample] = deque(maxlen=commits_kept)
        self._commit_seq = 0
        self._readers: dict[int, _Reader] = {}
        self._watched_until = 0.0
        # What the last snapshot handed out, rebuilt only when the feed changed.
        self._appends_version = 0
        self._appends_out: tuple[int, tuple[AppendSample, ...]] = (0, ())
        self._commits_out: tuple[int, tuple[CommitSample, ...]] = (0, ())

    # --- hooks of the broker's request paths (loop thread; cheap, nothing decoded) --------

    def appended(self, topic: str, partition: int, headers: Sequence[BatchHeader]) -> None:
        """Batches were appended: the produce path's own headers, which the log's append
        patched to the offsets it gave them."""
        key = (topic, partition)
        kept = self._kept.get(key, 0)
        limit = self.per_partition
        if kept >= limit:  # the common case at high rates: count, nothing more
            self.appends_dropped += len(headers)
            return
        for h in headers:
            base_offset = h.base_offset
            last = base_offset + h.last_offset_delta
            if kept < limit:
                kept += 1
                self._seq += 1
                self._appends.append(AppendSample(
                    self._seq, topic, partition, base_offset, last, h.max_timestamp, time.time()
                ))
                self._pending.append(
                    _Pending(self._seq, topic, partition, base_offset, last, h.batch_length + 12)
                )
            else:
                self.appends_dropped += 1
        self._kept[key] = kept

    def committed(self, group_id: str, topic: str, partition: int, offset: int) -> None:
        """A group's committed offset on a partition was written (commit or reset)."""
        self._commit_seq += 1
        self._commits.append(
            CommitSample(self._commit_seq, group_id, topic, partition, offset, time.time())
        )

    def fetched(
        self, conn_id: int, client_id: str, host: str,
        positions: Iterable[tuple[str, int, int]],
    ) -> None:
        """A reader fetched: (topic, partition, read-to offset) of each partition it asked;
        read-to is past the last record handed over (the fetch offset if none was)."""
        reader = self._readers.get(conn_id)
        if reader is None or reader.client_id != client_id:
            reader = self._readers[conn_id] = _Reader(client_id, host)
        kept = reader.positions
        now = time.time()
        room = self.positions_per_reader
        for topic, partition, offset in positions:
            key = (topic, partition)
            if key in kept or len(kept) < room:
                kept[key] = (offset, now)

    def reader_closed(self, conn_id: int) -> None:
        """A connection (or in-process client) is gone: forget where it was reading."""
        self._readers.pop(conn_id, None)

    # --- the monitor's side ---------------------------------------------------------------

    def snapshot(self, groups: Sequence[GroupSnapshot] = ()) -> ActivitySnapshot:
        """What is kept now (never drained), read positions attributed to ``groups``;
        opens the next sampling window."""
        self._watched_until = time.monotonic() + WATCHED_FOR_S
        self._kept.clear()
        version = self._seq + self._appends_version
        if self._appends_out[0] != version:
            self._appends_out = (version, tuple(self._appends))
        if self._commits_out[0] != self._commit_seq:
            self._commits_out = (self._commit_seq, tuple(self._commits))
        return ActivitySnapshot(
            appends=self._appends_out[1],
            commits=self._commits_out[1],
            read_positions=attribute(self._positions(), groups),
            appends_dropped=self.appends_dropped,
        )

    def _positions(self) -> list[ReadPosition]:
        out = []
        for conn_id in sorted(self._readers):
            r = self._readers[conn_id]
            for (topic, partition), (offset, at) in sorted(r.positions.items()):
                out.append(ReadPosition(topic, partition, offset, conn_id, r.client_id, r.host, at))
        return out

    # --- key hashes, off the produce path ---------------------------------------------------

    @property
    def watched(self) -> bool:
        """Someone took a snapshot lately (the key sampler works only then)."""
        return time.monotonic() < self._watched_until

    async def run_key_sampler(self, source: StoredBatches) -> None:
        """Fill key hashes of sampled appends every ``interval_s`` while watched; forever
        (the owner cancels it)."""
        while True:
            await asyncio.sleep(self.interval_s)
            if self._pending and self.watched:
                await self.sample_keys(source)

    async def sample_keys(self, source: StoredBatches) -> int:
        """One pass: read back the newest unsampled batches within the byte budget, hash
        their keys in a worker thread, fill them in; returns how many batches got keys."""
        budget = self.key_budget_bytes
        jobs: list[tuple[_Pending, bytes]] = []
        oldest_kept = self._appends[0].seq if self._appends else self._seq + 1
        while self._pending:
            p = self._pending.pop()  # newest first: the lane's end is what is watched
            if p.seq < oldest_kept:
                self._pending.clear()  # older ones fell out of the feed already
                break
            if p.size > self.key_budget_bytes or p.last_offset - p.base_offset >= MAX_KEYS_PER_BATCH:
                continue  # never fits a pass: stays unsampled
            if p.size > budget:
                self._pending.append(p)  # next pass
                break
            try:
                data = source.read_stored(p.topic, p.partition, p.base_offset, p.size)
            except (KafkaError, ValueError, OSError):
                continue  # deleted topic or records, or a closing log
            budget -= p.size
            jobs.append((p, data))
        if not jobs:
            return 0
        hashed = await asyncio.to_thread(_hash_keys, jobs)
        filled = 0
        for seq, keys in hashed:
            if self._fill(seq, keys):
                filled += 1
        return filled

    def _fill(self, seq: int, keys: tuple[int | None, ...]) -> bool:
        appends = self._appends
        if not appends:
            return False
        i = seq - appends[0].seq  # seqs in the deque are consecutive
        if not 0 <= i < len(appends) or appends[i].seq != seq:
            return False
        appends[i] = replace(appends[i], key_hashes=keys)
        self._appends_version += 1
        return True


def _hash_keys(jobs: list[tuple[_Pending, bytes]]) -> list[tuple[int, tuple[int | None, ...]]]:
    """Worker thread: the key hashes of each job's batch, in offset order."""
    out = []
    for p, data in jobs:
        try:
            keys = tuple(
                key_hash(r.key)
                for r in iter_records(data, max_uncompressed=KEY_SAMPLE_MAX_UNCOMPRESSED)
                if p.base_offset <= r.offset <= p.last_offset
            )
        except KafkaError:
            # Not the batch the sample names (the log moved under it), or a bomb.
            continue
        if keys and len(keys) == p.last_offset - p.base_offset + 1:
            out.append((p.seq, keys))
    return out


def attribute(
    positions: Iterable[ReadPosition], groups: Sequence[GroupSnapshot]
) -> tuple[ReadPosition, ...]:
    """Each read position with the group member it belongs to, where exactly one fits.

    A member fits when its client id and host equal the reader's and its assignment holds
    the partition (members of different groups may share a client id, e.g. librdkafka's
    default ``rdkafka``, but two of them cannot both be the one reading here: such a
    position stays unattributed).
    """
    by_client: dict[tuple[str, str], list[_Candidate]] = {}
    for g in groups:
        for m in g.members:
            by_client.setdefault((m.client_id, m.host), []).append(
                _Candidate(g.group_id, m.member_id, frozenset(m.assignment))
            )
    out = []
    for pos in positions:
        fits = [
            c for c in by_client.get((pos.client_id, pos.host), ())
            if (pos.topic, pos.partition) in c.assignment
        ]
        if len(fits) == 1:
            pos = replace(pos, group_id=fits[0].group_id, member_id=fits[0].member_id)
        out.append(pos)
    return tuple(out)
