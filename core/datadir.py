"""The broker's data directory: an exclusive lock, partition directories, and discards.

Contract:

* :meth:`DataDir.lock` creates the directory, removes what a crash left of deleted topics
  (``*-delete``) and takes an exclusive lock on ``.lock`` (:mod:`filelock`: ``flock`` on
  POSIX, ``LockFileEx`` on Windows, so ``core`` imports and locks on every platform); a
  second broker on the same directory, in this process or another, gets ``RuntimeError``
  at once instead of corrupting the logs. :meth:`DataDir.unlock` releases it (idempotent,
  from any thread).
* A partition's log lives in ``<topic>-<index>``.
* :func:`discard_dir` renames a directory aside at once (so a topic re-created with the
  same name starts empty) and removes it off the loop, in the default executor (in the
  calling thread when there is no loop); the rmtree future is kept until it ends and a
  failure is logged, not lost. It removes whatever it is given: callers make sure it is
  not a live topic's (``Broker._discard_stale`` compares against every live partition
  dir as a case-insensitive file system would, and topic names that would collide are
  refused up front). Leftovers named ``*-delete`` can never be a live partition dir,
  whose names end in ``-<index>``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from concurrent.futures import Future
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

# rmtree futures of discarded directories, kept until they end.
_pending_removals: set[asyncio.Future[None] | Future[None]] = set()


class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: FileLock | None = None

    def lock(self) -> None:
        """Create the directory and lock it against a second broker (RuntimeError if held)."""
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob("*-delete"):
            shutil.rmtree(leftover, ignore_errors=True)  # deleted topics a crash left behind
        # Not thread-local: the broker may stop on another thread than the one it started on.
        lock = FileLock(self.path / ".lock", timeout=0, mode=0o644, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise RuntimeError(f"data dir {self.path} is in use by another broker") from None
        self._lock = lock

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def partition_dir(self, topic: str, index: int) -> Path:
        return self.path / f"{topic}-{index}"


def discard_dir(path: Path) -> None:
    """Remove a partition dir: renamed aside at once, deleted in the background."""
    if not path.exists():
        return
    aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}-delete")
    try:
        path.rename(aside)
    except OSError:
        aside = path
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        shutil.rmtree(aside, ignore_errors=True)
        return
    fut = loop.run_in_executor(None, shutil.rmtree, aside, True)
    _pending_removals.add(fut)
    fut.add_done_callback(_removal_done)


def _removal_done(fut: asyncio.Future[None]) -> None:
    _pending_removals.discard(fut)
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("could not remove a deleted partition dir", exc_info=fut.exception())
