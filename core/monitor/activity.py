"""What the log view draws beyond counters: sampled appends, commits and read positions.

Contract: frozen plain data, like :mod:`core.monitor.snapshot`, carried by
``ClusterSnapshot.activity`` (``None`` where an observer cannot see it). The broker keeps
a bounded, sampled feed (:mod:`core.monitor.feed`); each snapshot carries the most recent
entries with increasing ``seq`` numbers, so a reader takes only those newer than the last
it saw (building a snapshot never drains anything: two readers see the same feed).

- An :class:`AppendSample` is one appended batch (offsets ``base_offset..last_offset``).
  ``key_hashes`` is filled later, off the produce path, for a bounded sample of batches
  read back from the log: one entry per record in offset order, ``None`` for a null key.
  ``None`` as a whole means "not sampled": draw it in the neutral colour.
- A :class:`ReadPosition` is where a connection (or in-process consumer) has read a
  partition to: the offset after the last record its latest Fetch was handed (the fetch
  offset when that Fetch returned nothing), i.e. the next record it will be handed. It is
  attributed to a group member when the member's client id and host match the
  connection's (``group_id``/``member_id``), else those are ``None``.
- A :class:`CommitSample` is one committed offset as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ActivitySnapshot", "AppendSample", "CommitSample", "ReadPosition"]


@dataclass(frozen=True, slots=True)
class AppendSample:
    seq: int
    topic: str
    partition: int
    base_offset: int
    last_offset: int
    max_timestamp_ms: int
    at: float  # wall clock of the append
    key_hashes: tuple[int | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class CommitSample:
    seq: int
    group_id: str
    topic: str
    partition: int
    offset: int
    at: float  # wall clock


@dataclass(frozen=True, slots=True)
class ReadPosition:
    topic: str
    partition: int
    offset: int  # past the last record handed over: the next record this reader gets
    conn_id: int
    client_id: str
    host: str
    at: float  # wall clock of that Fetch
    group_id: str | None = None
    member_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActivitySnapshot:
    appends: tuple[AppendSample, ...]  # newest last, bounded; seq increasing
    commits: tuple[CommitSample, ...]  # newest last, bounded; seq increasing
    read_positions: tuple[ReadPosition, ...]  # one per live (reader, topic, partition)
    appends_dropped: int  # total appends not kept by sampling since start
