"""Kafka's default partitioner, so keys land where real clients put them.

A keyed record goes to ``toPositive(murmur2(key)) % partitions``: Kafka's
``Utils.murmur2`` (MurmurHash2, 32-bit, seed 0x9747b28c) and ``toPositive`` (``& 0x7fffffff``),
the same as the Java client and librdkafka's ``murmur2_random``. A record without a key
uses the sticky partitioner: one partition per topic until a batch for it is sent.
"""

from __future__ import annotations

import random

_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: the 32-bit hash as a signed int (as Java returns it)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    end = length - (length & 3)
    for i in range(0, end, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length & 3
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n: int) -> int:
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a non-null key."""
    return to_positive(murmur2(key)) % partitions


class StickyPartitioner:
    """Null keys: stick to one random partition per topic until told a batch went out."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._current: dict[str, int] = {}

    def partition(self, topic: str, partitions: int) -> int:
        p = self._current.get(topic)
        if p is None or p >= partitions:
            p = self._current[topic] = self._rng.randrange(partitions)
        return p

    def batch_sent(self, topic: str, partitions: int) -> None:
        """Move on to another partition (Kafka switches when a batch is completed)."""
        if partitions <= 1:
            self._current[topic] = 0
            return
        old = self._current.get(topic)
        choice = self._rng.randrange(partitions - 1)
        self._current[topic] = choice + 1 if old is not None and choice >= old else choice
