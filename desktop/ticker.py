"""The GUI's clock: pulls one snapshot per tick and fans it out to the views.

Contract: a fast timer (about 10 Hz) takes the service's latest snapshot, feeds it to the
:class:`~desktop.history.MonitorHistory`, asks the service for the next one and emits
``tick(snapshot, history)`` for charts; a slow timer (2 Hz by default) emits
``slow_tick(snapshot, history)`` for tables and text, which read better when they change
less often. One emission per tick whatever the message rate; nothing is emitted before the
first snapshot exists. :meth:`refresh_now` re-emits ``slow_tick`` (after a command).

Staleness: the ticker notes when (by its ``clock``, injectable for tests) each new snapshot
arrived. :meth:`snapshot_age` says how old the newest one is while the service claims to
be running; :meth:`is_stale` is true once that exceeds the service's ``stale_after_s``
(``STALE_AFTER_S`` for the embedded broker), meaning the source stopped answering and what
the views show is no longer live.

Source: :meth:`set_source` switches what the ticker pulls from (the embedded
:class:`~desktop.broker_service.BrokerService` or an
:class:`~desktop.external_service.ExternalService`, issue 15): the current snapshot and
the history are dropped, so no chart mixes two clusters.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop.broker_service import BrokerService
from streamscope.desktop.history import TICK_HZ, MonitorHistory

# Snapshots normally arrive every tick (100 ms); a GC pause or a burst of work can delay a
# few. Two seconds without one means the broker loop is not answering.
STALE_AFTER_S = 2.0


class Ticker(QObject):
    tick = Signal(object, object)  # (ClusterSnapshot, MonitorHistory)
    slow_tick = Signal(object, object)

    def __init__(
        self,
        service: BrokerService,
        history: MonitorHistory | None = None,
        *,
        fast_ms: int = 1000 // TICK_HZ,
        slow_ms: int = 500,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.history = history or MonitorHistory()
        self.snapshot: ClusterSnapshot | None = None
        self.clock = clock
        self._received_at: float | None = None  # clock() when self.snapshot arrived
        self._fast = QTimer(self)
        self._fast.setInterval(fast_ms)
        self._fast.timeout.connect(self._on_fast)
        self._slow = QTimer(self)
        self._slow.setInterval(slow_ms)
        self._slow.timeout.connect(self._on_slow)
        service.command_done.connect(self._after_command)

    def set_source(self, service) -> None:
        """Pull from ``service`` from now on (same surface as BrokerService); the history
        starts afresh and nothing is emitted until its first snapshot."""
        try:
            self.service.command_done.disconnect(self._after_command)
        except (RuntimeError, TypeError):
            pass
        self.service = service
        service.command_done.connect(self._after_command)
        self.snapshot = None
        self._received_at = None
        self.history = MonitorHistory(self.history.hz)

    def start(self) -> None:
        self._fast.start()
        self._slow.start()

    def stop(self) -> None:
        self._fast.stop()
        self._slow.stop()

    def _on_fast(self) -> None:
        snap = self.service.latest()
        self.service.request_snapshot()
        if snap is None or snap is self.snapshot:
            return
        self.snapshot = snap
        self._received_at = self.clock()
        self.history.update(snap)
        self.tick.emit(snap, self.history)

    def _on_slow(self) -> None:
        if self.snapshot is not None:
            self.slow_tick.emit(self.snapshot, self.history)

    def snapshot_age(self) -> float | None:
        """Seconds since the newest snapshot arrived; None unless the broker should be answering.

        A service that is starting, stopping or stopped is not expected to send snapshots,
        so it is never "not responding".
        """
        if self._received_at is None or not self.service.running:
            return None
        return max(0.0, self.clock() - self._received_at)

    def is_stale(self) -> bool:
        age = self.snapshot_age()
        return age is not None and age >= getattr(self.service, "stale_after_s", STALE_AFTER_S)

    def refresh_now(self) -> None:
        """Take whatever is newest and update tables now (not waiting for the slow tick)."""
        self._on_fast()
        self._on_slow()

    def _after_command(self) -> None:
        # The command's effect is in the next snapshot, one broker-thread hop away.
        QTimer.singleShot(60, self, self.refresh_now)
