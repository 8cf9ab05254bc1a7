"""``BrokerService``: the embedded broker's lifecycle, snapshots and commands, off the GUI thread.

Contract:

* The broker and its listener run on their own thread and asyncio loop
  (:class:`core.runtime.BrokerThread`). :meth:`BrokerService.start` returns at once; the
  service emits ``started(bootstrap)`` when the listener is bound or ``failed(exc)`` when
  it could not start (``port_in_use`` tells a taken port apart from other failures).
  :meth:`stop` closes the listener and the broker on their loop and joins the thread.
* Snapshots: :meth:`request_snapshot` (called by the GUI's tick) asks the broker thread
  to build one :class:`~core.monitor.ClusterSnapshot` with an
  :class:`~core.monitor.EmbeddedObserver`; :meth:`latest` returns the newest one built.
  At most one build is in flight, so a slow GUI never queues work on the broker, and no
  Qt signal is ever sent per message: the GUI pulls.
* Commands: :meth:`submit` runs ``fn(broker)`` (plain or async) on the broker loop and
  returns a ``concurrent.futures.Future``; :meth:`run` wraps it for ``await`` under qasync;
  :meth:`call` delivers ``on_done(result, error)`` on the GUI thread. None of them block
  the GUI thread. Views never hold broker objects: they pass functions of the broker.
* In-process consumers: :meth:`start_consumers` runs each as a
  :class:`core.clients.consumer_app.ConsumerApp` (a consumer plus its poll loop, on the
  broker loop); :meth:`stop_consumers`
  closes a group's (commit, LeaveGroup) and always finishes: a consumer that does not close
  within :data:`CLOSE_TIMEOUT_S` is killed instead and the failure logged and reported.
  :meth:`member_action` stops, kills, pauses or resumes one of them by member id. With
  every snapshot the service also publishes what it started
  (:meth:`local_consumers`, frozen :class:`LocalConsumer` rows) for menus to read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from streamscope.core.broker import Broker
from streamscope.core.clients.consumer_app import CLOSE_TIMEOUT_S as CONSUMER_CLOSE_TIMEOUT_S
from streamscope.core.clients.consumer_app import ConsumerApp, LocalConsumer, close_consumers
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.monitor import ClusterSnapshot, EmbeddedObserver
from streamscope.core.runtime import BrokerThread

log = logging.getLogger(__name__)

T = TypeVar("T")
OnDone = Callable[[Any, BaseException | None], None]


# How long one in-process consumer may take to close (commit, LeaveGroup) before it is
# killed instead, so a stop command always finishes (read at each stop: tests lower it).
CLOSE_TIMEOUT_S = CONSUMER_CLOSE_TIMEOUT_S
MEMBER_ACTIONS = ("stop", "kill", "pause", "resume")
# The broker thread runs this much nicer than the GUI thread (Linux): when producers,
# consumers and the broker keep the cores busy, a repaint waiting for a core is scheduled
# first instead of queueing behind the broker (benchmarks/gui_load.py --broker-nice).
BROKER_NICE = 10


class ConsumersStopFailed(RuntimeError):
    """Some consumers did not close gracefully and were killed; ``count`` are left."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


def port_in_use(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE


class BrokerService(QObject):
    started = Signal(str)  # bootstrap address
    failed = Signal(object)  # the exception that stopped the broker from starting
    stopped = Signal()
    command_done = Signal()  # after any command: views may refresh at once
    _deliver = Signal(object, object, object)  # (on_done, result, error): to the GUI thread
    _start_result = Signal(object)  # None or exception, from the starter thread

    def __init__(self, config: BrokerConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._thread: BrokerThread | None = None
        self._starter: threading.Thread | None = None
        self._observer: EmbeddedObserver | None = None
        self._latest: ClusterSnapshot | None = None
        self._pending = False
        self._state = "stopped"  # stopped -> starting -> running -> stopping -> stopped
        self.build_ms: deque[float] = deque(maxlen=100_000)  # for benchmarks
        self._background: set[concurrent.futures.Future] = set()
        # In-process consumers by group; the lists are touched on the broker thread only.
        self._consumers: dict[str, list[ConsumerApp]] = {}
        # GUI-side count per group, updated when start/stop commands complete.
        self._consumer_counts: dict[str, int] = {}
        self._consumer_serial: dict[str, int] = {}  # broker thread only
        # What the apps above look like, rebuilt with each snapshot (broker thread) and
        # read by the GUI: one reference assignment, so readers see one whole tuple.
        self._local_consumers: tuple[LocalConsumer, ...] = ()
        self.last_error: BaseException | None = None
        self._deliver.connect(self._on_deliver)
        self._start_result.connect(self._on_start_result)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def bootstrap(self) -> str:
        if self._thread is None or not self.running:
            return ""
        return self._thread.bootstrap

    def start(self, config: BrokerConfig | None = None) -> None:
        """Start the broker in the background; ``started`` or ``failed`` follows."""
        if self._state not in ("stopped",):
            raise RuntimeError(f"cannot start a broker service that is {self._state}")
        if config is not None:
            self.config = config
        self._state = "starting"
        self.last_error = None
        self._latest = None
        thread = BrokerThread(self.config, name="streamscope-broker", nice=BROKER_NICE)
        self._thread = thread

        def start_in_background() -> None:
            # BrokerThread.start blocks until the listener is bound: keep it off the GUI.
            try:
                thread.start()
            except BaseException as exc:  # noqa: BLE001 - reported to the GUI as is
                self._start_result.emit(exc)
            else:
                self._start_result.emit(None)

        self._starter = threading.Thread(
            target=start_in_background, name="streamscope-broker-starter", daemon=True
        )
        self._starter.start()

    @Slot(object)
    def _on_start_result(self, exc: BaseException | None) -> None:
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._state != "starting":
            return  # stopped meanwhile
        if exc is not None:
            self._state = "stopped"
            self._thread = None
            self.last_error = exc
            self.failed.emit(exc)
            return
        assert self._thread is not None and self._thread.node is not None
        self._observer = self._thread.node.observer()
        self._state = "running"
        self.request_snapshot()
        self.started.emit(self._thread.bootstrap)

    def stop(self, timeout: float = 30.0) -> None:
        """Close the listener and the broker, join their thread. Idempotent."""
        if self._starter is not None:
            self._starter.join(timeout)
            self._starter = None
        thread = self._thread
        if thread is None:
            self._state = "stopped"
            return
        self._state = "stopping"
        try:
            self._stop_background(timeout)
            thread.stop(timeout)
        finally:
            self._thread = None
            self._observer = None
            self._pending = False
            self._consumer_counts.clear()
            self._local_consumers = ()
            self._state = "stopped"
            self.stopped.emit()

    # -- snapshots ---------------------------------------------------------------------

    def latest(self) -> ClusterSnapshot | None:
        return self._latest

    def request_snapshot(self) -> None:
        """Ask for a fresh snapshot (built on the broker thread); never blocks."""
        thread = self._thread
        if not self.running or thread is None or thread.loop is None or self._pending:
            return
        self._pending = True
        try:
            thread.loop.call_soon_threadsafe(self._build_snapshot)
        except RuntimeError:  # loop closed under us: the broker is stopping
            self._pending = False

    def _build_snapshot(self) -> None:
        # Runs on the broker thread: reading broker state is safe only here.
        try:
            observer = self._observer
            if observer is not None:
                snap = observer.snapshot()
                self.build_ms.append(snap.build_ms)
                self._local_consumers = tuple(
                    app.describe() for apps in self._consumers.values() for app in apps
                )
                self._latest = snap  # one reference assignment: atomic for readers
        except Exception:
            log.exception("building a snapshot failed")
        finally:
            self._pending = False

    # -- commands ----------------------------------------------------------------------

    def submit(self, fn: Callable[[Broker], Any]) -> concurrent.futures.Future:
        """Run ``fn(broker)`` on the broker loop (awaiting it if it returns an awaitable)."""
        return self._submit(fn, running_only=True)

    def _submit(
        self, fn: Callable[[Broker], Any], *, running_only: bool
    ) -> concurrent.futures.Future:
        thread = self._thread
        usable = self.running or (not running_only and self._state == "stopping")
        if not usable or thread is None or thread.loop is None or thread.broker is None:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            fut.set_exception(RuntimeError("the broker is not running"))
            return fut

        async def run() -> Any:
            result = fn(thread.broker)  # type: ignore[arg-type]
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), thread.loop)

    def run(self, fn: Callable[[Broker], Any]) -> asyncio.Future:
        """:meth:`submit` as an asyncio future of the GUI's (qasync) loop, to ``await``."""
        return asyncio.wrap_future(self.submit(fn))

    def call(self, fn: Callable[[Broker], Any], on_done: OnDone | None = None) -> None:
        """:meth:`submit`, then ``on_done(result, error)`` on the GUI thread."""
        fut = self.submit(fn)

        def done(f: concurrent.futures.Future) -> None:
            error = f.exception()
            result = None if error is not None else f.result()
            self._deliver.emit(on_done, result, error)  # queued to the GUI thread

        fut.add_done_callback(done)

    @Slot(object, object, object)
    def _on_deliver(self, on_done: OnDone | None, result: Any, error: Any) -> None:
        self.request_snapshot()
        try:
            if on_done is not None:
                on_done(result, error)
            elif error is not None:
                log.error("broker command failed: %s", error)
        finally:
            self.command_done.emit()

    # -- background work and in-process consumers ------------------------------------------

    def spawn(self, fn: Callable[[Broker], Any]) -> concurrent.futures.Future:
        """Long-running ``fn(broker)`` on the broker loop; cancelled when the service stops."""
        fut = self.submit(fn)
        self._background.add(fut)

        def done(f: concurrent.futures.Future) -> None:
            self._background.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.error("background task failed", exc_info=f.exception())

        fut.add_done_callback(done)
        return fut

    def _stop_background(self, timeout: float) -> None:
        # Consumers leave their groups politely, then background tasks are cancelled.
        if self._consumers or any(self._consumer_counts.values()):
            fut = self._submit(self._close_all_consumers, running_only=False)
            try:
                fut.result(timeout)
            except Exception:  # noqa: BLE001 - stopping anyway
                log.exception("closing in-process consumers failed")
        for fut in list(self._background):
            fut.cancel()
        if self._background:
            concurrent.futures.wait(list(self._background), timeout=timeout)

    async def _close_all_consumers(self, broker: Broker) -> None:
        consumers = [c for group in self._consumers.values() for c in group]
        self._consumers.clear()
        await close_consumers(consumers, CLOSE_TIMEOUT_S)

    def consumer_count(self, group: str) -> int:
        """In-process consumers this app started in ``group`` (GUI thread view)."""
        return self._consumer_counts.get(group, 0)

    def local_consumers(self, group: str | None = None) -> tuple[LocalConsumer, ...]:
        """The in-process consumers this app started (in ``group``), as of the last snapshot."""
        return tuple(c for c in self._local_consumers if group is None or c.group == group)

    def local_member(self, group: str, member_id: str) -> LocalConsumer | None:
        """The consumer this app started that is ``member_id`` of ``group``, if any."""
        if not member_id:
            return None
        for c in self._local_consumers:
            if c.group == group and c.member_id == member_id:
                return c
        return None

    def start_consumers(
        self,
        group: str,
        topics: str | Sequence[str],
        count: int,
        assignor: str,
        on_done: OnDone | None = None,
        *,
        offset_reset: str = "earliest",
        processing_delay_s: float = 0.0,
    ) -> None:
        """Start ``count`` in-process consumers (:class:`core.clients.Consumer`) in ``group``.

        Each subscribes to ``topics`` (one name or several), consumes continuously (a poll
        loop on the broker loop), spends ``processing_delay_s`` per record and
        auto-commits, so it behaves like a real consumer app; ``on_done`` gets the group's
        new count.
        """
        names = (topics,) if isinstance(topics, str) else tuple(topics)

        async def run(broker: Broker) -> int:
            if not names:
                raise KafkaError(ErrorCode.INVALID_REQUEST, "consumers need a topic to read")
            for topic in names:
                if topic not in broker.topics:
                    raise KafkaError(
                        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {topic!r} does not exist"
                    )
            thread = self._thread
            if thread is None or thread.node is None:
                raise RuntimeError("the broker is not running")
            started = self._consumers.setdefault(group, [])
            for _ in range(count):
                app = ConsumerApp(
                    broker,
                    thread.node.groups,  # the coordinator, from the composition root
                    group,
                    names,
                    client_id=f"{group}-{self._next_consumer_number(group)}",
                    assignor=assignor,
                    offset_reset=offset_reset,
                    processing_delay_s=processing_delay_s,
                )
                await app.start()
                started.append(app)
            return len(started)

        self.call(run, self._counting(group, on_done))

    def _next_consumer_number(self, group: str) -> int:
        # Per group, never reused: a restarted consumer is a new client id, as in Kafka.
        n = self._consumer_serial.get(group, 0) + 1
        self._consumer_serial[group] = n
        return n

    def stop_consumers(self, group: str, on_done: OnDone | None = None) -> None:
        """Close this app's in-process consumers in ``group`` (they leave the group).

        ``on_done`` gets 0, or :class:`ConsumersStopFailed` naming the consumers that had
        to be killed (they leave the group when their session times out).
        """

        async def run(broker: Broker) -> int:
            failed = await close_consumers(self._consumers.pop(group, []), CLOSE_TIMEOUT_S)
            if failed:
                raise ConsumersStopFailed(_killed_text(failed), 0)
            return 0

        self.call(run, self._counting(group, on_done))

    def member_action(
        self, group: str, member_id: str, action: str, on_done: OnDone | None = None
    ) -> None:
        """``stop`` (gracefully: commit, LeaveGroup), ``kill`` (abruptly: no LeaveGroup, so
        the group only notices at the session timeout), ``pause`` or ``resume`` the
        in-process consumer that is ``member_id`` of ``group``; ``on_done`` gets the
        group's count of consumers started here."""
        if action not in MEMBER_ACTIONS:
            raise ValueError(f"unknown member action {action!r}")

        async def run(broker: Broker) -> int:
            apps = self._consumers.get(group, [])
            app = next((a for a in apps if a.consumer.membership.member_id == member_id), None)
            if app is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID,
                    f"{member_id} is not a consumer started in this app",
                )
            if action in ("stop", "kill"):
                apps.remove(app)
                if not apps:
                    self._consumers.pop(group, None)
                if action == "kill":
                    app.kill()
                else:
                    failed = await close_consumers([app], CLOSE_TIMEOUT_S)
                    if failed:
                        raise ConsumersStopFailed(_killed_text(failed), len(apps))
            elif action == "pause":
                app.pause()
            else:
                app.resume()
            return len(apps)

        self.call(run, self._counting(group, on_done))

    def _counting(self, group: str, on_done: OnDone | None) -> OnDone:
        def done(result: Any, error: BaseException | None) -> None:
            if error is None and isinstance(result, int):
                self._consumer_counts[group] = result
            elif isinstance(error, ConsumersStopFailed):
                self._consumer_counts[group] = error.count
            if error is not None:
                log.error("in-process consumers of group %s: %s", group, error)
            if on_done is not None:
                on_done(result, error)

        return done


def _killed_text(client_ids: list[str]) -> str:
    return (
        f"{', '.join(client_ids)} did not leave gracefully and were killed; the group "
        "drops them when their session times out"
    )
