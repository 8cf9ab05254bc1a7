"""The Messages page's one worker thread: decoding, row-making and file writing off the GUI.

Contract: :class:`BrowseWorker` runs functions on a single background thread
(:meth:`~BrowseWorker.submit`) or waits for any ``concurrent.futures.Future``, such as a
read submitted to the broker loop (:meth:`~BrowseWorker.deliver`). Either way the caller's
``on_done(result, error)`` runs later on the GUI thread through a queued signal, never
from the worker; a cancelled future calls nothing. When the owning widget is destroyed
the pool is shut down without waiting (queued work is cancelled). Other dialogs with one
blocking job at a time (the cluster profiles' keyring and connection test) use it too.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

OnDone = Callable[[Any, BaseException | None], None]


class BrowseWorker(QObject):
    """Runs functions off the GUI thread and hands results back on it (module docstring)."""

    _arrived = Signal(object, object, object)

    def __init__(self, parent: QObject, name: str = "streamscope-browse") -> None:
        super().__init__(parent)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, name)
        self._arrived.connect(self._on_arrived)
        pool = self._pool
        # Not a method of self: the pool must be shut down after the C++ side is gone.
        self.destroyed.connect(lambda *_: pool.shutdown(wait=False, cancel_futures=True))

    def submit(self, fn: Callable[[], Any], on_done: OnDone) -> None:
        try:
            fut = self._pool.submit(fn)
        except RuntimeError as exc:  # shut down: the view is going away
            on_done(None, exc)
            return
        self.deliver(fut, on_done)

    def deliver(self, fut: concurrent.futures.Future, on_done: OnDone) -> None:
        arrived = self._arrived

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                return
            error = f.exception()
            result = None if error is not None else f.result()
            try:
                arrived.emit(on_done, result, error)
            except RuntimeError:  # the view was deleted meanwhile
                pass

        fut.add_done_callback(done)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @Slot(object, object, object)
    def _on_arrived(self, on_done: OnDone, result: Any, error: Any) -> None:
        on_done(result, error)


__all__ = ["BrowseWorker", "OnDone"]
