"""``ExternalService``: an external Kafka-compatible cluster as the views' snapshot source (issue 15).

Contract:

* The surface the :class:`~desktop.ticker.Ticker` and the views use of
  :class:`~desktop.broker_service.BrokerService`: :meth:`latest`, :meth:`request_snapshot`,
  ``running``, ``state``, ``bootstrap``, ``command_done``, plus ``name`` (the profile's),
  ``last_error`` (the newest poll's :class:`~core.monitor.external.ExternalError` reason,
  "" after a good poll) and ``stale_after_s`` (the ticker's "not responding" threshold,
  scaled to the poll interval).
* Polling runs on its own thread (``streamscope-external-poll``), never the GUI thread:
  :class:`core.monitor.external_poller.ExternalPoller`, every ``interval_s`` (settable
  while running). :meth:`set_focus` passes the topics and groups on screen to the poller.
  :meth:`poll_now` wakes the thread for an early refresh (after a command). A failed poll
  keeps the last snapshot and sets ``last_error``; ``changed`` is emitted (GUI thread)
  whenever the state or the error changes. :meth:`stop` ends the thread (joins it for at
  most ``wait_s``; 0: do not wait, the thread ends after the poll in flight, see
  ``finished``).
* Commands: :meth:`admin_call` runs ``fn(admin)`` with one
  :class:`core.monitor.external_admin.ExternalAdmin` on a worker thread
  (``streamscope-external-admin``) and delivers ``on_done(result, error)`` on the GUI
  thread, then emits ``command_done`` and polls at once; :meth:`run_blocking` runs any
  blocking ``fn()`` on another worker (reads for the Messages page) and delivers the same
  way without ``command_done``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from streamscope.core.monitor import ClusterSnapshot
from streamscope.core.monitor.external import ExternalError, ExternalSettings
from streamscope.core.monitor.external_poller import ExternalPoller

log = logging.getLogger(__name__)

OnDone = Callable[[Any, BaseException | None], None]
TIMEOUT_S = 10.0


def make_poller(settings: ExternalSettings, interval_s: float, timeout_s: float
                ) -> ExternalPoller:
    """The poller the service's thread drives (the core's ExternalPoller)."""
    return ExternalPoller(settings, interval_s=interval_s, timeout_s=timeout_s)


class ExternalService(QObject):
    command_done = Signal()
    changed = Signal()  # state or last_error changed
    _arrived = Signal(object, object)  # (snapshot or None, error text or None)
    _deliver = Signal(object, object, object, bool)  # (on_done, result, error, command)

    def __init__(self, name: str, settings: ExternalSettings, *, interval_s: float = 2.0,
                 timeout_s: float = TIMEOUT_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.settings = settings
        self.timeout_s = timeout_s
        self._interval_s = interval_s
        self._latest: ClusterSnapshot | None = None
        self._state = "stopped"  # stopped -> connecting -> running (-> stopped)
        self.last_error = ""
        self.polls = 0  # polls finished (tests wait on it)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._poller: Any = None
        self._focus: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._admin: Any = None
        self._inflight = 0  # commands and reads submitted, not finished
        self._inflight_lock = threading.Lock()
        self._admin_pool = concurrent.futures.ThreadPoolExecutor(1, "streamscope-external-admin")
        self._read_pool = concurrent.futures.ThreadPoolExecutor(1, "streamscope-external-read")
        self._arrived.connect(self._on_arrived)
        self._deliver.connect(self._on_deliver)

    # -- the BrokerService surface ------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        """Polling a cluster that answered at least once (stale checks apply then)."""
        return self._state == "running"

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self._interval_s = max(0.1, float(value))
        poller = self._poller
        if poller is not None and hasattr(poller, "interval_s"):
            poller.interval_s = self._interval_s
        self._wake.set()

    @property
    def stale_after_s(self) -> float:
        # Two missed polls, and a poll may take up to the timeout before failing.
        return 2 * self._interval_s + 2.0

    def latest(self) -> ClusterSnapshot | None:
        return self._latest

    def request_snapshot(self) -> None:
        """The ticker asks each tick; the poll thread keeps its own interval."""

    # -- polling -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._state = "connecting"
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="streamscope-external-poll",
                                        daemon=True)
        self._thread.start()
        self.changed.emit()

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop polling and release the clients; idempotent."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(wait_s)
        wait = wait_s > 0
        self._admin_pool.shutdown(wait=wait, cancel_futures=True)
        self._read_pool.shutdown(wait=wait, cancel_futures=True)
        if wait:
            admin, self._admin = self._admin, None
            if admin is not None:
                admin.close()
        if self._state != "stopped":
            self._state = "stopped"
            self.changed.emit()

    @property
    def finished(self) -> bool:
        """Stopped, its poll thread ended and no command or read is running."""
        return (self._stopping.is_set() and self._inflight == 0
                and (self._thread is None or not self._thread.is_alive()))

    def set_focus(self, topics: Iterable[str] = (), groups: Iterable[str] = ()) -> None:
        focus = (tuple(topics), tuple(groups))
        if focus == self._focus:
            return
        self._focus = focus
        poller = self._poller
        if poller is not None:
            poller.set_focus(*focus)

    def poll_now(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        try:
            poller = make_poller(self.settings, self._interval_s, self.timeout_s)
            self._poller = poller
            poller.set_focus(*self._focus)
        except Exception as exc:  # noqa: BLE001 - reported as the poll's error
            self._emit(None, getattr(exc, "reason", None) or str(exc))
            return
        try:
            while not self._stopping.is_set():
                began = time.monotonic()
                try:
                    snap = poller.poll()
                except ExternalError as exc:
                    self._emit(None, exc.reason)
                except Exception as exc:  # noqa: BLE001 - never let the thread die silently
                    log.exception("polling %s failed", self.settings.bootstrap)
                    self._emit(None, str(exc) or type(exc).__name__)
                else:
                    self._emit(snap, None)
                wait = max(0.05, self._interval_s - (time.monotonic() - began))
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            self._poller = None
            poller.close()

    def _emit(self, snap: ClusterSnapshot | None, error: str | None) -> None:
        try:
            self._arrived.emit(snap, error)
        except RuntimeError:  # the service was deleted meanwhile
            pass

    @Slot(object, object)
    def _on_arrived(self, snap: ClusterSnapshot | None, error: str | None) -> None:
        self.polls += 1
        if self._stopping.is_set():
            return
        before = (self._state, self.last_error)
        if snap is not None:
            self._latest = snap
            self._state = "running"
            self.last_error = ""
        else:
            self.last_error = error or "the cluster did not answer"
        if (self._state, self.last_error) != before:
            self.changed.emit()

    # -- commands and reads --------------------------------------------------------------

    def admin(self) -> Any:
        """The service's ExternalAdmin (worker thread only), made on first use."""
        if self._admin is None:
            from streamscope.core.monitor.external_admin import ExternalAdmin

            self._admin = ExternalAdmin(self.settings, timeout_s=self.timeout_s)
        return self._admin

    def admin_call(self, fn: Callable[[Any], Any], on_done: OnDone | None = None) -> None:
        """``fn(admin)`` on the admin worker; ``on_done`` on the GUI thread, then
        ``command_done``."""
        self._submit(self._admin_pool, lambda: fn(self.admin()), on_done, True)

    def run_blocking(self, fn: Callable[[], Any], on_done: OnDone) -> None:
        """``fn()`` on the read worker; ``on_done`` on the GUI thread."""
        self._submit(self._read_pool, fn, on_done, False)

    def _submit(self, pool: concurrent.futures.ThreadPoolExecutor, fn: Callable[[], Any],
                on_done: OnDone | None, command: bool) -> None:
        def counted() -> Any:
            try:
                return fn()
            finally:
                with self._inflight_lock:
                    self._inflight -= 1

        with self._inflight_lock:
            self._inflight += 1
        try:
            fut = pool.submit(counted)
        except RuntimeError as exc:
            with self._inflight_lock:
                self._inflight -= 1  # stopped: the cluster was switched away from
            if on_done is not None:
                on_done(None, ExternalError(f"not connected to {self.name} any more ({exc})"))
            return
        deliver = self._deliver

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():  # never ran (cancelled at stop): not in flight any more
                with self._inflight_lock:
                    self._inflight -= 1
                return
            error = f.exception()
            try:
                deliver.emit(on_done, None if error is not None else f.result(), error, command)
            except RuntimeError:
                pass

        fut.add_done_callback(done)

    @Slot(object, object, object, bool)
    def _on_deliver(self, on_done: OnDone | None, result: Any, error: Any, command: bool) -> None:
        if on_done is not None:
            on_done(result, error)
        if command:
            self.command_done.emit()
            self.poll_now()


__all__ = ["ExternalService", "make_poller"]
