"""``SimService``: the GUI's handle on the one running simulation, off the GUI thread.

Contract:

* Owns the :class:`~streamscope.core.sim.scenario.Scenario` of the embedded broker: it is
  built on the broker's loop, for the node the :class:`~desktop.broker_service.BrokerService`
  runs (its broker and group coordinator), the first time anything needs it. A broker that
  restarts (a new thread, another port) gets a new scenario; the old one went with its
  loop. ``bootstrap()`` of the scenario is the address that broker listens on, so the
  partners' real-client mode connects to the broker that is running now.
* Views: :meth:`request_view` (called on every tick of the GUI's ticker) asks the broker
  loop for ``scenario.view()``; at most one request is in flight, so a slow GUI never
  queues work on the broker. :meth:`latest` returns the newest frozen
  :class:`~streamscope.core.sim.scenario.ScenarioView` (None before the first).
* Commands (start, stop and retune the partners, lunch rush, add and remove apps, add,
  remove, kill and crash consumers, processing delay, pause and resume) run on the broker
  loop and deliver ``on_done(result, error)`` on the GUI thread, like
  :meth:`BrokerService.call`; none blocks the GUI thread. After each, a fresh view is
  requested so the page shows the effect at once. :meth:`call` and :meth:`submit` run any
  ``fn(scenario)`` there (the lesson player uses them).
* Target (:meth:`set_target`, GUI thread, never blocks): ``None`` (the default) is the
  embedded broker, as above. An :class:`~streamscope.core.monitor.external.ExternalSettings`
  makes every later command, view and lesson run on an
  :class:`~streamscope.core.sim.external.ExternalScenario` against that cluster: real
  confluent-kafka clients with the settings' security (SSL, SASL), on their own threads
  and an event loop of their own (:class:`~streamscope.core.sim.external.ExternalSimThread`),
  never on the embedded broker's loop; the embedded broker need not run. Switching first
  stops what ran on the old target (switch hooks, :meth:`add_switch_hook`, run there
  first: the lesson player closes; then the partners stop and every app leaves its
  group), in the background: commands given after the switch wait until that is done,
  then run on the new target. ``target_changed(settings)`` is emitted at once,
  ``on_done(None, error)`` when the old target is stopped. The same settings again is a
  no-op. :meth:`latest` is None until the new target's first view.
* :meth:`close` (app shutdown, GUI thread, before the broker stops): stops the partners
  and closes every app (their consumers leave their groups) while the broker (or the
  external cluster) still answers, waiting at most ``timeout`` seconds. Idempotent; later
  commands fail with "the simulation is closed".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.consumers import AppKind, CommitMode, CrashPoint
from streamscope.core.sim.external import ExternalScenario, ExternalSimThread
from streamscope.core.sim.scenario import Scenario, ScenarioView
from streamscope.desktop.broker_service import BrokerService
from streamscope.desktop.ticker import Ticker

log = logging.getLogger(__name__)

OnDone = Callable[[Any, BaseException | None], None]
AnyScenario = Scenario | ExternalScenario
# Run on the old target's loop, with its scenario, before a switch stops it.
SwitchHook = Callable[[AnyScenario], Any]
# Default seed of the GUI's city (lessons pass their own through the scenario).
SEED = 1
# How long closing the simulation at shutdown may take before the broker stops anyway.
CLOSE_TIMEOUT_S = 20.0


class SimClosed(RuntimeError):
    """The simulation was closed (the app is quitting)."""


class SimService(QObject):
    target_changed = Signal(object)  # ExternalSettings | None: where the simulation runs now
    _deliver = Signal(object, object, object)  # (on_done, result, error): to the GUI thread

    def __init__(
        self,
        service: BrokerService,
        ticker: Ticker | None = None,
        *,
        seed: int = SEED,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.seed = seed
        # Touched on the broker thread only: the scenario and the thread it belongs to.
        self._scenario: Scenario | None = None
        self._owner: BrokerThread | None = None
        self._latest: ScenarioView | None = None  # one reference assignment: atomic
        self._pending = False
        self._closed = False
        # The external target (GUI thread writes; other threads only compare identity).
        self._settings: ExternalSettings | None = None
        self._ext: ExternalSimThread | None = None
        self._gate: concurrent.futures.Future | None = None  # the old target's stop
        self._hooks: list[SwitchHook] = []
        self._deliver.connect(self._on_deliver)
        service.stopped.connect(self._forget)
        if ticker is not None:
            ticker.tick.connect(lambda *_: self.request_view())

    # -- the scenario on the broker loop -------------------------------------------------

    def _thread(self) -> BrokerThread | None:
        # The one place reading the service's broker thread: the scenario needs the node
        # (broker and group coordinator), which the service does not hand out otherwise.
        thread = self.service._thread  # noqa: SLF001 - see above
        if not self.service.running or thread is None or thread.loop is None:
            return None
        return thread

    def _scenario_of(self, thread: BrokerThread) -> Scenario:
        """The scenario of ``thread``'s node, built on first use (broker thread only)."""
        if self._scenario is None or self._owner is not thread:
            node = thread.node
            if node is None:
                raise RuntimeError("the broker is not running")
            server = thread.server

            def bootstrap() -> str | None:
                return server.bootstrap if server is not None else None

            self._scenario = Scenario(node.broker, node.groups, seed=self.seed,
                                      bootstrap=bootstrap)
            self._owner = thread
        return self._scenario

    @Slot()
    def _forget(self) -> None:
        # The broker stopped (its thread is joined): its scenario and views went with it.
        self._scenario = None
        self._owner = None
        if self._ext is None:  # an external target's simulation does not need the broker
            self._latest = None
            self._pending = False

    # -- the target ------------------------------------------------------------------------

    @property
    def target(self) -> ExternalSettings | None:
        """Where the simulation runs: None for the embedded broker, else a cluster."""
        return self._settings

    def add_switch_hook(self, hook: SwitchHook) -> None:
        """Run ``hook(old_scenario)`` on the old target's loop before a switch stops it."""
        self._hooks.append(hook)

    def set_target(self, settings: ExternalSettings | None,
                   on_done: OnDone | None = None) -> None:
        """Run the simulation (and lessons) on ``settings``' cluster, or on the embedded
        broker for None (module contract). Never blocks the GUI thread."""
        if self._closed:
            raise SimClosed("the simulation is closed")
        if settings == self._settings:
            if on_done is not None:
                on_done(None, None)
            return
        stopped = self._stop_current(self._gate)
        self._settings = settings
        self._latest = None
        self._pending = False
        self._ext = None
        if settings is not None:
            ext = ExternalSimThread(settings, seed=self.seed)
            ext.start()
            self._ext = ext
        self._gate = stopped
        stopped.add_done_callback(
            lambda f: self._deliver.emit(on_done, None, f.exception()))
        self.target_changed.emit(settings)

    def _stop_current(self, before: concurrent.futures.Future | None
                      ) -> concurrent.futures.Future:
        """Stop what runs on the current target, after ``before`` (an earlier switch's
        stop); a future done when it is stopped. Never blocks."""
        hooks = list(self._hooks)
        ext = self._ext
        if ext is not None:
            done: concurrent.futures.Future = concurrent.futures.Future()

            def stop_ext() -> None:
                try:
                    if before is not None:
                        concurrent.futures.wait([before])
                    try:
                        ext.submit(lambda sc: _run_hooks(hooks, sc)).result(CLOSE_TIMEOUT_S)
                    finally:
                        ext.stop(CLOSE_TIMEOUT_S)
                    done.set_result(None)
                except BaseException as exc:  # noqa: BLE001 - handed to on_done
                    done.set_exception(exc)

            threading.Thread(target=stop_ext, name="sim-switch", daemon=True).start()
            return done
        thread = self._thread()
        scenario = self._scenario
        if thread is None or scenario is None or self._owner is not thread:
            done = concurrent.futures.Future()
            if before is None:
                done.set_result(None)
            else:
                before.add_done_callback(lambda f: done.set_result(None))
            return done

        async def stop_embedded() -> None:
            if before is not None:
                await asyncio.wrap_future(before)
            await _run_hooks(hooks, scenario)
            await _close_scenario(scenario)

        return asyncio.run_coroutine_threadsafe(stop_embedded(), thread.loop)  # type: ignore[arg-type]

    # -- views -----------------------------------------------------------------------------

    def latest(self) -> ScenarioView | None:
        """The newest view of the simulation (None before the broker runs)."""
        return self._latest

    def request_view(self) -> None:
        """Ask the target's loop for a fresh view; never blocks, at most one in flight."""
        if self._pending or self._closed:
            return
        ext = self._ext
        if ext is not None:
            self._pending = True
            try:
                ext.call_soon(lambda: self._build_ext_view(ext))
            except RuntimeError:  # its loop closed: a switch is under way
                self._pending = False
            return
        thread = self._thread()
        if thread is None:
            return
        self._pending = True
        try:
            thread.loop.call_soon_threadsafe(self._build_view, thread)  # type: ignore[union-attr]
        except RuntimeError:  # the loop closed under us: the broker is stopping
            self._pending = False

    def _build_view(self, thread: BrokerThread) -> None:
        try:
            if thread.node is not None and not self._closed and self._ext is None:
                self._latest = self._scenario_of(thread).view()
        except Exception:
            log.exception("building the simulation view failed")
        finally:
            self._pending = False

    def _build_ext_view(self, ext: ExternalSimThread) -> None:
        try:
            if ext is self._ext and not self._closed:
                self._latest = ext.scenario.view()
        except Exception:
            log.exception("building the simulation view failed")
        finally:
            self._pending = False

    # -- running functions of the scenario ------------------------------------------------

    def submit(self, fn: Callable[[AnyScenario], Any]) -> concurrent.futures.Future:
        """Run ``fn(scenario)`` on the target's loop (awaited if it returns an awaitable):
        the broker loop with the embedded scenario, or the external target's loop with its
        ``ExternalScenario``; after the last switch's stop of the old target."""
        gate = self._gate
        ext = self._ext
        if ext is not None and not self._closed:
            async def run_ext(scenario: ExternalScenario) -> Any:
                if gate is not None and not gate.done():
                    await asyncio.wrap_future(gate)
                result = fn(scenario)
                if inspect.isawaitable(result):
                    result = await result
                return result

            return ext.submit(run_ext)
        thread = self._thread()
        if self._closed or thread is None:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            fut.set_exception(
                SimClosed("the simulation is closed") if self._closed
                else RuntimeError("the broker is not running")
            )
            return fut

        async def run() -> Any:
            if gate is not None and not gate.done():
                await asyncio.wrap_future(gate)
            result = fn(self._scenario_of(thread))
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), thread.loop)  # type: ignore[arg-type]

    def call(self, fn: Callable[[AnyScenario], Any], on_done: OnDone | None = None) -> None:
        """:meth:`submit`, then ``on_done(result, error)`` on the GUI thread."""
        fut = self.submit(fn)

        def done(f: concurrent.futures.Future) -> None:
            error = f.exception()
            self._deliver.emit(on_done, None if error is not None else f.result(), error)

        fut.add_done_callback(done)

    @Slot(object, object, object)
    def _on_deliver(self, on_done: OnDone | None, result: Any, error: Any) -> None:
        self.request_view()
        if on_done is not None:
            on_done(result, error)
        elif error is not None:
            log.error("simulation command failed: %s", error)

    # -- partners ----------------------------------------------------------------------------

    def start_partners(
        self,
        *,
        topic: str,
        partitions: int,
        partners: int,
        rate: float,
        real_client: bool = False,
        limit: int | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Start the delivery partners (the topic is created with ``partitions`` if missing)."""
        self.call(
            lambda s: s.start_partners(topic=topic, partitions=partitions, partners=partners,
                                       rate=rate, limit=limit, real_client=real_client),
            on_done,
        )

    def stop_partners(self, on_done: OnDone | None = None) -> None:
        self.call(lambda s: s.stop_partners(), on_done)

    def retune(
        self, *, rate: float | None = None, partners: int | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Change the running partners' total rate (updates/s) and/or their number."""
        self.call(lambda s: s.retune(rate=rate, partners=partners), on_done)

    def lunch_rush(self, multiplier: float, seconds: float, on_done: OnDone | None = None) -> None:
        """Multiply the partners' rate by ``multiplier`` for the next ``seconds``."""
        self.call(lambda s: s.lunch_rush(multiplier, seconds), on_done)

    # -- apps ----------------------------------------------------------------------------------

    def add_app(
        self,
        kind: AppKind,
        group: str,
        *,
        topic: str,
        consumers: int = 1,
        assignor: str = "range",
        commit: CommitMode = "after",
        delay_s: float = 0.0,
        on_done: OnDone | None = None,
    ) -> None:
        """Start an app: its own consumer group ``group`` of ``consumers`` consumers."""

        async def run(s: AnyScenario) -> str:
            await s.add_app(kind, group, topic=topic, consumers=consumers, assignor=assignor,
                            commit=commit, delay_s=delay_s)
            return group

        self.call(run, on_done)

    def remove_app(self, group: str, on_done: OnDone | None = None) -> None:
        """Close an app: its consumers leave the group (its committed offsets stay)."""
        self.call(lambda s: s.remove_app(group), on_done)

    def add_consumer(self, group: str, on_done: OnDone | None = None) -> None:
        self.call(lambda s: s.app(group).add_consumers(1), on_done)

    def remove_consumer(self, group: str, on_done: OnDone | None = None) -> None:
        """The app's newest consumer leaves gracefully (LeaveGroup: an immediate rebalance)."""
        self.call(lambda s: s.app(group).remove_consumer(), on_done)

    def kill_consumer(
        self, group: str, index: int | None = None, on_done: OnDone | None = None
    ) -> None:
        """Kill a consumer abruptly (no commit, no LeaveGroup); ``on_done`` gets its client id.
        ``index``: its place in the app's members (default: one owning partitions)."""
        self.call(lambda s: s.app(group).kill_consumer(index), on_done)

    def crash(
        self, group: str, point: CrashPoint, index: int | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Make a consumer crash on its next batch, ``before_commit`` or ``after_commit``."""
        self.call(lambda s: s.app(group).crash_next(point, index), on_done)

    def set_delay(self, group: str, seconds: float, on_done: OnDone | None = None) -> None:
        """Processing delay per record for every consumer of the app."""
        self.call(lambda s: s.app(group).set_delay(seconds), on_done)

    def pause(self, group: str, on_done: OnDone | None = None) -> None:
        self.call(lambda s: s.app(group).pause(), on_done)

    def resume(self, group: str, on_done: OnDone | None = None) -> None:
        self.call(lambda s: s.app(group).resume(), on_done)

    def reset(self, delete_topics: Sequence[str] = (), on_done: OnDone | None = None) -> None:
        """Stop everything and forget the apps' committed offsets (a clean restart)."""
        self.call(lambda s: s.reset(delete_topics=tuple(delete_topics)), on_done)

    # -- shutdown ----------------------------------------------------------------------------

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the partners and close every app while the broker still answers (blocks up
        to ``timeout``: app shutdown only). Idempotent."""
        if self._closed:
            return
        thread = self._thread()
        self._closed = True
        ext, self._ext = self._ext, None
        if ext is not None:
            try:
                ext.submit(lambda sc: _run_hooks(list(self._hooks), sc)).result(timeout)
            except Exception:  # noqa: BLE001 - the app quits anyway
                log.exception("closing the lesson on the external cluster failed")
            ext.stop(timeout)
        if thread is None:
            self._latest = None
            return

        async def close_on_loop() -> None:
            # Nothing to close unless this broker's scenario was ever built.
            if self._scenario is not None and self._owner is thread:
                await _close_scenario(self._scenario)

        fut = asyncio.run_coroutine_threadsafe(close_on_loop(), thread.loop)  # type: ignore[arg-type]
        try:
            fut.result(timeout)
        except Exception:  # noqa: BLE001 - the app quits anyway
            log.exception("closing the simulation failed")
        self._latest = None


async def _run_hooks(hooks: Sequence[SwitchHook], scenario: AnyScenario) -> None:
    for hook in hooks:
        try:
            result = hook(scenario)
            if inspect.isawaitable(result):
                await result
        except Exception:  # one failing hook must not keep the switch back
            log.exception("a simulation switch hook failed")


async def _close_scenario(scenario: AnyScenario) -> None:
    """Partners stopped, then each app closed (its members leave their group)."""
    await scenario.stop_partners()
    for app in scenario.view().apps:
        await scenario.remove_app(app.group)
