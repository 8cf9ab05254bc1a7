"""Background durability and retention: fsync dirty logs off the loop, drop old segments.

Contract: with ``BrokerConfig.fsync == "interval"`` the broker marks a partition dirty on
append; :meth:`Flusher.flush_dirty` clears the marks on the loop and fsyncs those logs in
a worker thread, so the loop never waits on the disk. Its lock is also taken by the
broker's close, so a log is never closed while a worker thread is flushing it.
:func:`enforce_retention` deletes whole segments past each topic's retention (run on the
loop every ``retention_check_ms``). The loops are owned by the broker's task list.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from streamscope.core.log import PartitionLog
from streamscope.core.topics import Partition, Topic


class Flusher:
    def __init__(self, partitions: Callable[[], Iterable[Partition]]) -> None:
        self._partitions = partitions
        self.lock = asyncio.Lock()

    async def flush_dirty(self) -> None:
        """fsync every log appended to since the last flush, in a worker thread."""
        async with self.lock:
            dirty = [p for p in self._partitions() if p.dirty]
            for p in dirty:
                p.dirty = False
            if dirty:
                await asyncio.to_thread(_flush_logs, [p.log for p in dirty])

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.flush_dirty()


def enforce_retention(topics: Iterable[Topic]) -> int:
    """Delete whole old segments past each topic's retention; returns how many."""
    deleted = 0
    now = int(time.time() * 1000)
    for topic in topics:
        for p in topic.partitions:
            deleted += p.log.enforce_retention(now)
    return deleted


def _flush_logs(logs: list[PartitionLog]) -> None:
    for plog in logs:
        try:
            plog.flush()
        except (OSError, ValueError):
            # A log closed or deleted meanwhile has nothing left to flush.
            pass
