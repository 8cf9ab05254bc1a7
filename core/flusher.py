"""Background durability and retention: fsync logs off the loop, drop old segments.

Contract:

* ``BrokerConfig.fsync == "interval"``: the broker marks a partition dirty on append;
  :meth:`Flusher.flush_dirty` clears the marks on the loop and fsyncs those logs in a
  worker thread, so the loop never waits on the disk. Each partition's ``synced_to``
  then moves to the offset the flush covered; :meth:`Flusher.make_durable` (OffsetCommit,
  before its offsets are stored) returns at once when ``synced_to`` already covers the
  asked offsets and otherwise waits for the next flush round, which every caller that
  arrives before it takes its snapshot shares (group commit). The lock is also taken by the
  broker's close, so a log is never closed while a worker thread is flushing it.
* ``"always"``: :class:`GroupSync` owns one flusher thread. The broker calls
  :meth:`GroupSync.submit` on the loop after each append (the log defers its sync, see
  ``PartitionLog.defer_sync``); the thread fdatasyncs every submitted log at once (side
  by side, :data:`SYNC_THREADS`, when a round has several), and appends that arrive
  while it syncs share its next round (group commit). On the loop
  each synced log's high watermark moves to what the round covered, the partition's
  produce waiters (:meth:`GroupSync.waiter`) are resolved, and long-polling fetchers
  woken. A failed sync fails the waiters it covered with KAFKA_STORAGE_ERROR, leaves the
  high watermark where it was (nothing not durable becomes visible) and is retried.
* Failures in either mode are reported through the ``on_result`` callback (the broker
  sets and clears ``Partition.storage_error`` there).
* :func:`enforce_retention` deletes whole segments past each topic's retention (run on
  the loop every ``retention_check_ms``). The loops are owned by the broker's task list.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.topics import Partition, Topic

# Called on the loop after a sync of a partition: (partition, error or None).
SyncResult = Callable[[Partition, "Exception | None"], None]

# A failed sync is retried after this long (the waiters already got their error).
RETRY_S = 0.5
# Logs of one round synced side by side (only when a round has more than one).
SYNC_THREADS = 4


class Flusher:
    """Interval mode (module docstring)."""

    def __init__(self, partitions: Callable[[], Iterable[Partition]],
                 on_result: SyncResult | None = None) -> None:
        self._partitions = partitions
        self._on_result = on_result
        self.lock = asyncio.Lock()
        # The flush round callers may still join (it has not taken its snapshot yet).
        self._round: asyncio.Future[None] | None = None

    async def flush_dirty(self) -> None:
        """fsync every log appended to since the last flush, in a worker thread."""
        async with self.lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        dirty = [p for p in self._partitions() if p.dirty]
        targets = []
        for p in dirty:
            p.dirty = False
            targets.append(p.log.next_offset)
        if not dirty:
            return
        errors = await asyncio.to_thread(_flush_logs, dirty)
        for p, target, error in zip(dirty, targets, errors, strict=True):
            if error is None:
                p.synced_to = max(p.synced_to, target)
            else:
                p.dirty = True  # try again next round
            if self._on_result is not None:
                self._on_result(p, error)

    async def make_durable(self, positions: Iterable[tuple[Partition, int]]) -> None:
        """Return once every record below each (partition, offset) is durable: at once
        when earlier flushes cover them, else after the next flush round (KafkaError
        KAFKA_STORAGE_ERROR if it fails).

        Rounds are shared (group commit): every caller that arrives before a round takes
        its snapshot of dirty logs waits for that one round, so a burst of OffsetCommits
        costs one flush, not one each queued behind the lock.
        """
        pending = [(p, o) for p, o in positions if o > p.synced_to]
        for _attempt in range(3):
            if not pending:
                return
            joined = self._round
            if joined is not None:
                await asyncio.shield(joined)
            else:
                self._round = fut = asyncio.get_running_loop().create_future()
                try:
                    async with self.lock:
                        # From here on a new caller's data may postdate the snapshot: it
                        # starts the next round.
                        self._round = None
                        await self._flush_locked()
                finally:
                    if self._round is fut:
                        self._round = None
                    if not fut.done():
                        fut.set_result(None)
            pending = [(p, o) for p, o in pending if o > p.synced_to]
            for p, _offset in pending:
                if p.storage_error is not None:
                    raise KafkaError(
                        ErrorCode.KAFKA_STORAGE_ERROR,
                        f"{p.topic}-{p.index} is not durable: {p.storage_error}",
                    )
            for p, _offset in pending:
                p.dirty = True  # not covered yet (appended as the round began): next one
        if pending:
            p = pending[0][0]
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR,
                             f"{p.topic}-{p.index} could not be made durable")

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.flush_dirty()


class GroupSync:
    """``"always"`` mode's flusher thread with group commit (module docstring)."""

    def __init__(self, on_result: SyncResult, wake: Callable[[Partition], None]) -> None:
        self._on_result = on_result
        self._wake = wake
        self._cond = threading.Condition()
        # id(partition) -> (partition, offset to make durable); Partition is unhashable.
        self._queued: dict[int, tuple[Partition, int]] = {}
        self._stop = False
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Figures (benchmarks, tests): rounds run, syncs done, last round's seconds.
        self.rounds = 0
        self.syncs = 0
        self.last_round_s = 0.0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="streamscope-fsync", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish the round in progress and any queued, then end the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="streamscope-fsync")
        return self._executor

    # --- on the loop ------------------------------------------------------------------

    def submit(self, p: Partition) -> None:
        """The partition's log was appended to: make it durable in the next round."""
        target = p.log.next_offset
        with self._cond:
            queued = self._queued
            if not queued:
                self._cond.notify()
            queued[id(p)] = (p, target)  # on the loop, targets only grow

    def waiter(self, p: Partition) -> asyncio.Future[None] | None:
        """A future resolved once the partition's records appended so far are durable
        (None when they already are); KafkaError KAFKA_STORAGE_ERROR if the sync fails."""
        plog = p.log
        target = plog.next_offset
        if plog.log_end_offset >= target:
            return None
        fut = asyncio.get_running_loop().create_future()
        p.sync_waiters.append((target, fut))
        return fut

    def _synced(self, results: list[tuple[Partition, int, Exception | None]]) -> None:
        for p, target, error in results:
            if error is None:
                if p.log.advance_high_watermark(target):
                    self._wake(p)
                hw = p.log.log_end_offset
                if p.sync_waiters:
                    keep = []
                    for want, fut in p.sync_waiters:
                        if want <= hw:
                            if not fut.done():
                                fut.set_result(None)
                        else:
                            keep.append((want, fut))
                    p.sync_waiters = keep
            else:
                if p.sync_waiters:
                    exc = KafkaError(
                        ErrorCode.KAFKA_STORAGE_ERROR,
                        f"fsync of {p.topic}-{p.index} failed: {error}",
                    )
                    keep = []
                    for want, fut in p.sync_waiters:
                        if want <= target:
                            if not fut.done():
                                fut.set_exception(exc)
                        else:
                            keep.append((want, fut))
                    p.sync_waiters = keep
                assert self._loop is not None
                self._loop.call_later(RETRY_S, self._retry, p)
            self._on_result(p, error)

    def _retry(self, p: Partition) -> None:
        if p.log.unsynced and not self._stop:
            self.submit(p)

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._queued and not self._stop:
                    cond.wait()
                if not self._queued and self._stop:
                    return
                batch, self._queued = self._queued, {}
            started = time.perf_counter()
            items = list(batch.values())
            if len(items) == 1:
                results = [_sync_one(items[0])]
            else:
                # Several logs: synced side by side (the file system can fold their
                # journal commits together), the round ends when all are done.
                results = list(self._pool().map(_sync_one, items))
            self.rounds += 1
            self.syncs += len(batch)
            self.last_round_s = time.perf_counter() - started
            loop = self._loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(self._synced, results)
                except RuntimeError:
                    return  # the loop closed under us: nobody is waiting any more


def _sync_one(item: tuple[Partition, int]) -> tuple[Partition, int, Exception | None]:
    p, target = item
    try:
        p.log.flush(data_only=True)
    except ValueError:
        pass  # closed or deleted meanwhile
    except (OSError, KafkaError) as exc:
        return p, target, exc
    return p, target, None


def enforce_retention(topics: Iterable[Topic]) -> int:
    """Delete whole old segments past each topic's retention; returns how many."""
    deleted = 0
    now = int(time.time() * 1000)
    for topic in topics:
        for p in topic.partitions:
            deleted += p.log.enforce_retention(now)
    return deleted


def _flush_logs(partitions: list[Partition]) -> list[Exception | None]:
    errors: list[Exception | None] = []
    for p in partitions:
        try:
            p.log.flush()
            errors.append(None)
        except ValueError:
            errors.append(None)  # a log closed or deleted meanwhile has nothing to flush
        except (OSError, KafkaError) as exc:
            errors.append(exc)
    return errors
