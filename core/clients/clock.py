"""Time as the in-process clients see it: a clock that tells the time and arms timers.

Contract: a :class:`Clock` is ``time()`` (monotonic seconds) and ``call_later(delay, fn,
*args)`` returning something with ``cancel()`` -- the shape of an asyncio event loop, and of
the group coordinator's clocks (:mod:`core.groups.clock`), so one manual clock can drive a
test's coordinator and consumers together. Everything timed in
:class:`core.clients.Consumer` (heartbeat interval, auto-commit interval, join back-off,
``getmany`` deadlines, the processing delay) goes through one, via :func:`sleep` and
:func:`wait_or_timeout`; the default, :class:`LoopClock`, is the running loop. Yielding to
the loop (``asyncio.sleep(0)``) is not time and never goes through the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def time(self) -> float:
        """Now, in seconds (only differences mean anything)."""
        ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> Timer:
        """Run ``callback(*args)`` on the loop once ``delay`` seconds of this clock passed."""
        ...


class LoopClock:
    """The running event loop's clock (what every consumer uses unless told otherwise)."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)


LOOP_CLOCK = LoopClock()


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def sleep(clock: Clock, delay: float) -> None:
    """Suspend for ``delay`` seconds of ``clock`` (a cancel goes through and disarms it)."""
    if delay <= 0:
        await asyncio.sleep(0)
        return
    fut = asyncio.get_running_loop().create_future()
    timer = clock.call_later(delay, _wake, fut)
    try:
        await fut
    finally:
        timer.cancel()


async def wait_or_timeout(clock: Clock, wake: asyncio.Event, timeout: float) -> None:
    """Return once ``wake`` is set or ``timeout`` seconds of ``clock`` passed.

    For a wake-up event its owner clears before each wait: the timeout sets it. A plain
    ``await`` of the event, so a cancel is never lost (Python 3.11's ``wait_for`` can drop
    one that lands as the wait completes, and ``Consumer.close()`` relies on cancelling).
    """
    if wake.is_set():
        return
    timer = clock.call_later(timeout, wake.set)
    try:
        await wake.wait()
    finally:
        timer.cancel()
