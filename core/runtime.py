"""``BrokerThread``: a node (Broker, group coordinator, Server) on its own thread and loop.

Used wherever the caller is not the broker's loop: the desktop app (which must never
block the GUI thread on broker work) and tests that drive blocking Kafka clients.

Contract:

* The node is built by :class:`core.node.Node` (the composition root); ``node``,
  ``broker`` and ``server`` are set once it started.
* ``start()`` returns once the listener is bound (``bootstrap`` is then ``host:port``)
  or raises the error that stopped the broker from starting (port in use, data dir
  locked...). ``stop()`` closes the server and the broker on their loop and joins the
  thread; it is idempotent.
* The loop is uvloop's where it is installed, as in ``streamscope broker``.
* ``nice`` (default 0) lowers the broker thread's CPU priority by that much where the OS
  sets priorities per thread (Linux: :func:`lower_thread_priority`); threads the broker
  starts inherit it. The desktop app uses it so that, when the cores are busy, its GUI
  thread is scheduled before the broker thread of the same process.
* ``call(fn, *args)`` runs a plain function on the broker's loop and returns its result
  (or raises its exception) in the calling thread; ``submit(coro_fn, *args)`` schedules
  a coroutine function there and returns a ``concurrent.futures.Future``. State is only
  ever touched on the loop thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node
from streamscope.core.server import Server

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where installed (measured faster for the broker), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def lower_thread_priority(nice: int) -> bool:
    """Lower the calling thread's CPU priority by ``nice`` steps; False where it cannot.

    Linux keeps a nice value per thread (``setpriority`` on the thread id), so this leaves
    the other threads of the process alone; elsewhere the call would renice the whole
    process, so it is not made.
    """
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        return False
    return True


class BrokerThread:
    def __init__(
        self, config: BrokerConfig, *, name: str = "streamscope-broker", nice: int = 0
    ) -> None:
        self.config = config
        self.nice = nice
        self.node: Node | None = None
        self.broker: Broker | None = None
        self.server: Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = False

    @property
    def bootstrap(self) -> str:
        assert self.server is not None
        return self.server.bootstrap

    def start(self, timeout: float = 30.0) -> BrokerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("broker did not start in time")
        if self._startup_error is not None:
            self._thread.join(timeout)
            raise self._startup_error
        return self

    def _run(self) -> None:
        lower_thread_priority(self.nice)
        loop = new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        node = Node(self.config)
        try:
            await node.start()  # closes what it opened if it fails
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self.node, self.broker, self.server = node, node.broker, node.server
        self._ready.set()
        await self._stop.wait()
        await node.close()

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(*args)`` on the broker loop; its result or exception, here."""

        async def run() -> T:
            return fn(*args)

        return self.submit(run).result(timeout)

    def submit(self, coro_fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop)

    def stop(self, timeout: float = 30.0) -> None:
        if self._stopped or self.loop is None:
            return
        self._stopped = True
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def __enter__(self) -> BrokerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
