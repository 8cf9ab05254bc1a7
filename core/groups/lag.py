"""The one definition of consumer lag, used by the coordinator and every monitor view.

Lag of a group on a partition = high watermark - committed offset, never negative. With
nothing committed (no row, or offset -1) there is no lag: ``None``, because where such a
group would start reading depends on its client's ``auto.offset.reset``, which the
broker cannot know. The GUI shows None as "no commit", not as a number.
"""

from __future__ import annotations

from collections.abc import Iterable


def partition_lag(committed_offset: int | None, high_watermark: int) -> int | None:
    """Lag of one partition; None when nothing is committed (None or negative offset)."""
    if committed_offset is None or committed_offset < 0:
        return None
    return high_watermark - committed_offset if high_watermark > committed_offset else 0


def total_lag(lags: Iterable[int | None]) -> int:
    """Sum over the partitions that have a lag (uncommitted ones count for nothing)."""
    return sum(lag for lag in lags if lag is not None)
