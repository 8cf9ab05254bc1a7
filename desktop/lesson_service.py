"""``LessonService``: the GUI's handle on the lesson being played, off the GUI thread.

Contract:

* Plays one :class:`~streamscope.core.lessons.Lesson` at a time with a
  :class:`~streamscope.core.lessons.LessonPlayer` that lives on the simulation's loop and
  drives the scenario the :class:`~desktop.sim_service.SimService` owns (the embedded
  broker's :class:`~streamscope.core.sim.scenario.Scenario` on the broker's loop, or an
  external cluster's ``ExternalScenario`` on its own loop; every call reaches it through
  ``SimService.submit``). The player is touched on that loop only; the GUI reads what it
  publishes.
* Views: :meth:`request_view` (on every tick of the GUI's ticker) asks the broker loop for
  ``player.view()``, at most one request in flight; :meth:`latest` is the newest frozen
  :class:`~streamscope.core.lessons.LessonView` (None while no lesson is open), and
  ``view_changed(view)`` is emitted on the GUI thread when a new one differs from the last.
* Commands (:meth:`open`, :meth:`next`, :meth:`previous`, :meth:`restart`, :meth:`play`,
  :meth:`pause`, :meth:`set_speed`) run on the broker loop and deliver
  ``on_done(result, error)`` on the GUI thread, like ``BrokerService.call``; none blocks
  the GUI thread. :meth:`next`, :meth:`previous` and :meth:`play` finish when their steps
  do (waits and assertions included), so their ``on_done`` may come seconds later;
  meanwhile :meth:`busy` is true and the published view says which step runs.
* Opening a lesson closes the previous player (its running step is cancelled), reseeds
  the scenario with the lesson's seed (:meth:`Scenario.reseed`; when partners still run,
  the player does it at its first step, after stopping them: same lesson, same keys,
  partitions and counts) and
  starts at step -1, "ready", showing the lesson's intro; the scenario is reset to clean
  state when the first step runs (the player's own rule).
* Target (:meth:`set_target`, GUI thread, never blocks): None is the embedded broker;
  an :class:`~streamscope.core.monitor.external.ExternalSettings` plays lessons on that
  cluster through real clients. It switches the :class:`SimService` too (the player
  drives its scenario; the same settings again is a no-op there), and before the old
  target is stopped the player on it is closed (a switch hook). A lesson that needs the
  embedded broker (:attr:`Lesson.embedded_only`) cannot run on a cluster:
  :meth:`unavailable_reason` says why in one line (None when it can run), :meth:`open`
  refuses it with :class:`LessonUnavailable`, and a switch that makes the open lesson
  unavailable closes it (:attr:`lesson` None). An open lesson that can run on the new
  target is opened again there, at its intro. ``target_changed(settings)`` is emitted
  after a switch (the panel marks the lessons that cannot run).
* :meth:`close` (app shutdown, before the simulation closes): the player cancels its step
  and removes its files, waiting at most ``timeout`` seconds. Idempotent.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from streamscope.core.lessons import Lesson, LessonPlayer, LessonView, builtin_lessons
from streamscope.core.lessons.player import MAX_SPEED, MIN_SPEED
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.sim.faults import FaultInjector
from streamscope.desktop.sim_service import AnyScenario, SimService
from streamscope.desktop.ticker import Ticker

log = logging.getLogger(__name__)

OnDone = Callable[[Any, BaseException | None], None]
SPEEDS = (1.0, 0.5, 0.25)  # what the panel offers: real time, half, quarter
CLOSE_TIMEOUT_S = 10.0
assert all(MIN_SPEED <= s <= MAX_SPEED for s in SPEEDS)


class NoLesson(RuntimeError):
    """A command for the player while no lesson is open."""


class LessonUnavailable(RuntimeError):
    """A lesson that cannot run on the simulation's target (the message says why)."""


class LessonService(QObject):
    view_changed = Signal(object)  # LessonView
    opened = Signal(object)  # the Lesson just opened
    target_changed = Signal(object)  # ExternalSettings | None, after a switch
    busy_changed = Signal(bool)
    _deliver = Signal(object, object, object)  # (on_done, result, error): to the GUI thread
    _view_ready = Signal(object)  # LessonView, from the broker thread

    def __init__(
        self, sim: SimService, ticker: Ticker | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.sim = sim
        self.lesson: Lesson | None = None  # GUI thread: the lesson open now
        self._lessons: tuple[Lesson, ...] | None = None
        self._player: LessonPlayer | None = None  # broker thread only
        self._latest: LessonView | None = None
        self._pending = False
        self._running = 0  # commands in flight (GUI thread)
        self._closed = False
        self._deliver.connect(self._on_deliver)
        self._view_ready.connect(self._on_view)
        sim.service.stopped.connect(self._forget)
        sim.add_switch_hook(self._close_player)
        sim.target_changed.connect(self._target_changed)
        if ticker is not None:
            ticker.tick.connect(lambda *_: self.request_view())

    # -- lessons --------------------------------------------------------------------------

    def lessons(self) -> tuple[Lesson, ...]:
        """The built-in lessons, in order (read once: small package files)."""
        if self._lessons is None:
            self._lessons = builtin_lessons()
        return self._lessons

    def find(self, name: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons() if lesson.name == name), None)

    def unavailable_reason(self, lesson: Lesson) -> str | None:
        """Why ``lesson`` cannot run on the current target (one line), None if it can."""
        if self.sim.target is None or not lesson.embedded_only:
            return None
        return "Runs only on the embedded broker: " + "; ".join(lesson.embedded_only) + "."

    # -- the target -----------------------------------------------------------------------

    @property
    def target(self) -> ExternalSettings | None:
        return self.sim.target

    def set_target(self, settings: ExternalSettings | None,
                   on_done: OnDone | None = None) -> None:
        """Play lessons (and run the simulation) on ``settings``' cluster, or on the
        embedded broker for None (module contract)."""
        self.sim.set_target(settings, on_done)

    async def _close_player(self, _scenario: AnyScenario) -> None:
        # A switch hook, on the old target's loop: the player there stops first.
        player, self._player = self._player, None
        if player is not None:
            await player.close()

    @Slot(object)
    def _target_changed(self, settings: ExternalSettings | None) -> None:
        self._pending = False
        lesson = self.lesson
        if lesson is not None:
            if self.unavailable_reason(lesson) is None:
                self.open(lesson.name)  # runs after the old target stopped
            else:
                self.lesson = None
                self._latest = None
        self.target_changed.emit(settings)

    # -- views --------------------------------------------------------------------------

    def latest(self) -> LessonView | None:
        return self._latest

    def busy(self) -> bool:
        """A command (a step, a replay, a restart) is still running on the broker loop."""
        return self._running > 0

    def request_view(self) -> None:
        """Ask the broker loop for the player's view; never blocks, one in flight."""
        if self._pending or self._closed or self.lesson is None:
            return
        self._pending = True

        def build(_scenario: AnyScenario) -> LessonView | None:
            player = self._player
            return player.view() if player is not None else None

        fut = self.sim.submit(build)

        def done(f: concurrent.futures.Future) -> None:
            self._pending = False
            if f.cancelled() or f.exception() is not None:
                return
            view = f.result()
            if view is not None:
                self._view_ready.emit(view)  # queued to the GUI thread

        fut.add_done_callback(done)

    @Slot(object)
    def _on_view(self, view: LessonView) -> None:
        if self.lesson is None or view.name != self.lesson.name:
            return  # a view of the lesson open before
        if view != self._latest:
            self._latest = view
            self.view_changed.emit(view)

    @Slot()
    def _forget(self) -> None:
        # The broker stopped (its thread joined): the player went with its loop (unless it
        # plays on an external cluster, which does not need the broker).
        if self.sim.target is None:
            self._player = None
            self._pending = False

    # -- commands -----------------------------------------------------------------------

    def open(self, name: str, on_done: OnDone | None = None) -> None:
        """Open lesson ``name`` at its intro (step -1); ``on_done`` gets its first view."""
        lesson = self.find(name)
        if lesson is None:
            known = ", ".join(lesson.name for lesson in self.lessons())
            raise KeyError(f"no lesson called {name!r} (lessons: {known})")
        reason = self.unavailable_reason(lesson)
        if reason is not None:
            raise LessonUnavailable(f"{lesson.title}: {reason}")
        faults = self._faults()

        async def run(scenario: AnyScenario) -> LessonView:
            old = self._player
            self._player = None
            if old is not None:
                await old.close()
            if not scenario.partners_running:  # else the player reseeds at its first step
                scenario.reseed(lesson.seed)
            speed = old.speed if old is not None else 1.0
            player = LessonPlayer(scenario, lesson, speed=speed, faults=faults)
            self._player = player
            return player.view()

        self.lesson = lesson
        self._latest = None
        self.opened.emit(lesson)
        self._command(run, on_done)

    def next(self, on_done: OnDone | None = None) -> None:
        """Run the next step (hurrying a running one); done when that step is."""
        self._player_command(lambda p: p.next(), on_done)

    def previous(self, on_done: OnDone | None = None) -> None:
        """Back one step: a clean restart, earlier steps replayed without waits."""
        self._player_command(lambda p: p.previous(), on_done)

    def restart(self, on_done: OnDone | None = None) -> None:
        """Back to clean state, before the first step."""
        self._player_command(lambda p: p.restart(), on_done)

    def play(self, on_done: OnDone | None = None) -> None:
        """Auto-advance through the remaining steps; done at the end, a failure or pause."""
        self._player_command(lambda p: p.play(), on_done)

    def pause(self, on_done: OnDone | None = None) -> None:
        """Stop auto-advancing once the step running now is done."""
        self._player_command(lambda p: p.stop_playing(), on_done)

    def set_speed(self, speed: float, on_done: OnDone | None = None) -> None:
        """Slow motion: 1, 0.5 or 0.25 of real time (partners, waits, delays)."""
        self._player_command(lambda p: p.set_speed(speed), on_done)

    def _player_command(self, fn: Callable[[LessonPlayer], Any], on_done: OnDone | None) -> None:
        def run(_scenario: AnyScenario) -> Any:
            player = self._player
            if player is None:
                raise NoLesson("no lesson is open")
            return fn(player)

        self._command(run, on_done)

    def _command(self, fn: Callable[[AnyScenario], Any], on_done: OnDone | None) -> None:
        if self._closed:
            if on_done is not None:
                on_done(None, RuntimeError("the lessons are closed"))
            return
        self._running += 1
        if self._running == 1:
            self.busy_changed.emit(True)
        fut = self.sim.submit(fn)

        def done(f: concurrent.futures.Future) -> None:
            error = f.exception() if not f.cancelled() else RuntimeError("cancelled")
            self._deliver.emit(on_done, None if error is not None else f.result(), error)

        fut.add_done_callback(done)

    @Slot(object, object, object)
    def _on_deliver(self, on_done: OnDone | None, result: Any, error: Any) -> None:
        self._running = max(0, self._running - 1)
        if self._running == 0:
            self.busy_changed.emit(False)
        if isinstance(result, LessonView):
            self._on_view(result)
        self.request_view()
        if on_done is not None:
            on_done(result, error)
        elif error is not None:
            log.error("lesson command failed: %s", error)

    # -- shutdown -----------------------------------------------------------------------

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Cancel the running step and remove the player's files (blocks up to ``timeout``:
        app shutdown only). Idempotent."""
        if self._closed:
            return
        self._closed = True

        async def close_player(_scenario: AnyScenario) -> None:
            player, self._player = self._player, None
            if player is not None:
                await player.close()

        fut = self.sim.submit(close_player)
        try:
            fut.result(timeout)
        except Exception as exc:  # noqa: BLE001 - the app quits anyway
            if self.lesson is not None:  # nothing to close without a lesson
                log.warning("closing the lesson player: %s", exc)

    # -- the node's parts a lesson needs ---------------------------------------------------

    def _faults(self) -> FaultInjector | None:
        """The node's fault injector (lesson 8 drops acknowledgements with it); None on
        an external cluster."""
        if self.sim.target is not None:
            return None
        thread = self.sim.service._thread  # noqa: SLF001 - the node is only reachable here
        node = thread.node if thread is not None else None
        return node.faults if node is not None else None

