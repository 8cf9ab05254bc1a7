"""``streamscope --screenshots DIR``: run the app with a demo workload, save one PNG per view.

Contract: the window is sized to 1280x720 (a projector; every PNG is that size). Once
the broker is listening, :class:`ScreenshotRun` saves ``first_step.png`` (the overview of
the empty broker, offering a first step), starts the app's demo workload
(:mod:`desktop.demo`), waits ``after`` seconds for charts to fill, then for each main view
(overview, topics, groups, clients, event log) shows it with something interesting
selected, lets it draw, and saves ``DIR/<view>.png`` from ``QWidget.grab()``. It then
quits the app with exit code 0 (1 if the broker never started or a PNG could not be
written). Works offscreen. It drives the window through its public methods only
(:meth:`~desktop.main_window.MainWindow.show_view`, ``select_topic``, ``select_group``,
``show_event_log``, ``event_log_fit_height``, and QWidget's ``resize`` and ``grab``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
from streamscope.desktop.main_window import EVENT_LOG_HEIGHT

if TYPE_CHECKING:
    from streamscope.desktop.app import Streamscope

log = logging.getLogger(__name__)

FIRST_STEP = "first_step"
VIEWS = (FIRST_STEP, "overview", "topics", "groups", "clients", "event_log")
WINDOW_SIZE = (1280, 720)


class ScreenshotRun(QObject):
    def __init__(self, shell: Streamscope, out_dir: Path, after: float) -> None:
        super().__init__()
        self.shell = shell
        self.out_dir = Path(out_dir)
        self.after_ms = max(0, int(after * 1000))
        self.exit_code = 1
        self.saved: list[Path] = []
        self.demo = shell.demo
        self._queue: list[str] = []

    def start(self) -> None:
        w = self.shell.window
        w.resize(*WINDOW_SIZE)
        self.shell.service.started.connect(self._on_started)
        self.shell.service.failed.connect(lambda _e: None)
        # Give up if the broker never comes up.
        QTimer.singleShot(self.after_ms + 60_000, self, self._give_up)

    def _on_started(self, _bootstrap: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # The empty broker first, as a new user sees it; then the demo fills it.
        self._queue = [FIRST_STEP]
        self._next()

    def _start_demo(self) -> None:
        self.demo.start()
        QTimer.singleShot(self.after_ms, self, self._begin)

    def _give_up(self) -> None:
        if not self.saved:
            log.error("screenshots: the app did not get going; nothing saved")
            self._finish(1)

    def _begin(self) -> None:
        self._queue = [v for v in VIEWS if v != FIRST_STEP]
        self._next()

    def _next(self) -> None:
        if not self._queue:
            self._finish(0)
            return
        view = self._queue[0]
        w = self.shell.window
        if view == FIRST_STEP:
            w.show_view("overview")
        elif view == "event_log":
            # The log tall, over a view that still fits in what is left (no scrolling).
            w.show_view("topics")
            w.show_event_log()
            QApplication.processEvents()  # lay the dock out before measuring the room left
            w.show_event_log(w.event_log_fit_height(int(WINDOW_SIZE[1] * 0.5)))
        else:
            w.show_view(view)
            self._select_interesting(view)
        self.shell.ticker.refresh_now()
        # Let layouts settle and a couple of ticks draw before grabbing.
        QTimer.singleShot(700, self, self._grab)

    def _select_interesting(self, view: str) -> None:
        w = self.shell.window
        if view == "topics":
            w.select_topic(self.demo.showcase_topic)
        elif view == "groups":
            w.select_group(self.demo.showcase_group)

    def _grab(self) -> None:
        view = self._queue.pop(0)
        w = self.shell.window
        QApplication.processEvents()
        path = self.out_dir / f"{view}.png"
        if not w.grab().save(str(path)):
            log.error("screenshots: could not write %s", path)
            self._finish(1)
            return
        self.saved.append(path)
        log.info("screenshot saved: %s", path)
        if view == "event_log":
            w.show_event_log(EVENT_LOG_HEIGHT)
        if view == FIRST_STEP:
            self._start_demo()
        else:
            self._next()

    def _finish(self, code: int) -> None:
        self.exit_code = code
        self.demo.stop()
        self.shell.quit(code)
