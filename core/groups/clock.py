"""The coordinator's time: a monotonic clock, timers on it, and the wall clock.

Contract: :class:`Clock` is all the group coordinator knows of time. ``time()`` is
monotonic seconds (session and rebalance timeouts run on it), ``call_later`` arms a
cancellable timer on that clock, and ``wall()`` is seconds since the epoch (commit
timestamps and rebalance history only, never a timeout). :class:`LoopClock` is the
broker's event loop; :class:`ManualClock` moves only when told (Kafka's ``MockTime``), so
tests step a timeout to the millisecond instead of bounding the wall clock. Both run
timer callbacks on the loop's thread, one at a time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A pending timer: ``asyncio.TimerHandle`` is one."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def time(self) -> float:
        """Monotonic seconds."""
        ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> Timer:
        """Run ``callback(*args)`` once ``delay`` seconds of :meth:`time` have passed."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for timestamps people read."""
        ...


class LoopClock:
    """The running event loop's clock and timers (what a broker uses)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def time(self) -> float:
        return self._loop.time()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> asyncio.TimerHandle:
        return self._loop.call_later(delay, callback, *args)

    def wall(self) -> float:
        return time.time()


class _ManualTimer:
    __slots__ = ("when_ns", "callback", "args", "cancelled")

    def __init__(self, when_ns: int, callback: Callable[..., object], args: tuple) -> None:
        self.when_ns = when_ns
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it (for tests).

    Time is kept in integer nanoseconds, so ``advance(0.299)`` then ``advance(0.001)``
    lands exactly on a 300 ms timeout. ``advance`` runs every timer that falls due, in
    due order (ties in arming order), with ``time()`` set to each timer's due time while
    it runs, so a callback that arms another timer arms it from the right instant.
    A delay of zero or less is due now: it runs on the loop's next iteration
    (``call_soon``), as the loop's own ``call_later(0)`` would, without moving time.
    Futures the callbacks resolve wake their awaiting tasks on the event loop as usual.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now_ns = _ns(start)
        self._wall_offset = wall_start - start
        self._timers: list[tuple[int, int, _ManualTimer]] = []
        self._serial = itertools.count()

    def time(self) -> float:
        return self._now_ns / 1e9

    def wall(self) -> float:
        return self.time() + self._wall_offset

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> Timer:
        if delay <= 0:
            return asyncio.get_running_loop().call_soon(callback, *args)
        timer = _ManualTimer(self._now_ns + _ns(delay), callback, args)
        heapq.heappush(self._timers, (timer.when_ns, next(self._serial), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing what falls due on the way."""
        target = self._now_ns + _ns(seconds)
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now_ns = max(self._now_ns, when)
            timer.callback(*timer.args)
        self._now_ns = target

    @property
    def pending(self) -> int:
        """Timers armed and not cancelled (a test can check none is left behind)."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)
