"""``LessonPlayer``: plays a :class:`~.model.Lesson` step by step on a running Scenario.

Contract:

* Lives on the broker's loop, like the :class:`~streamscope.core.sim.scenario.Scenario`
  it drives (every method but :meth:`LessonPlayer.view` is a coroutine run there; the
  GUI reaches it through its broker service, ``streamscope lesson --check`` calls it
  directly). The player starts at step -1 ("ready": the lesson's intro is the caption).
* :meth:`next` runs the next step's actions in order: waits (``wait``) and assertions
  wait on ``clock`` (the loop's by default). The first step starts from clean state:
  ``scenario.reset(delete_topics=lesson.topics)``. Called while a step is still running,
  it first hurries that step (its remaining ``wait`` s end at once; its assertions still
  wait for their conditions), then runs the next one.
* :meth:`previous` restarts from clean state, replays the steps before the previous one
  without their waits, assertions and experiments (``db_race``, ``ack_drop``), then runs
  the previous step as :meth:`next` would. :meth:`restart` returns to clean state and step
  -1. Both cancel a running step first and stop :meth:`play`, which runs the steps that
  remain one after another until the end, a failure, or :meth:`stop_playing`.
* Speed (0.25 to 1, :meth:`set_speed`) is slow motion: the partners send ``rate x speed``
  (:meth:`Scenario.set_speed`), and waits, ``within`` s, lunch-rush windows and
  processing delays are divided by it, so a lesson shows the same things, slower. The
  database race (lesson 6) is not slowed: its point is a machine's real write limit.
* An assertion (``assert``) evaluates its check (:mod:`.checks`) every ``poll_s`` of the
  clock until it holds or ``within`` runs out; either way its :class:`CheckResult` (with
  the figures) joins the step's results. A failed assertion ends the step with status
  ``failed``; an action that raises ends it with status ``error`` and a message naming
  the step, the action and the error. Neither raises out of :meth:`next`.
* The same lesson and seed give the same keys, partitions and counts: every clean start
  (the first step, :meth:`previous`, :meth:`restart`) reseeds the scenario with the
  lesson's seed (:meth:`Scenario.reseed`, after the reset stopped its partners), so the
  city and the partners come from it; every count from a ``limit``, null-key records
  from a sticky partitioner seeded by the lesson.
* The scenario is the embedded broker's (:class:`Scenario`) or an external cluster's
  (``core.sim.external.ExternalScenario``): topics are created, counted, read back and
  written through the scenario, so a lesson runs on either. A lesson that needs the
  embedded broker (:attr:`Lesson.embedded_only` is not empty) cannot be played on an
  external scenario: the constructor raises :class:`LessonNeedsEmbedded`, naming why.
* ``ack_drop`` needs ``faults`` (the node's :class:`~streamscope.core.sim.faults.FaultInjector`)
  and the scenario's ``bootstrap()`` (the node listening), as ``transform`` does (real
  clients, :mod:`core.sim.eos`); ``db_race`` writes its SQLite
  files under ``work_dir`` (a temporary directory of the player's own by default, removed
  by :meth:`close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from streamscope.core.clients.clock import LOOP_CLOCK, Clock, sleep, wait_or_timeout
from streamscope.core.clients.partitioner import StickyPartitioner
from streamscope.core.lessons.checks import CheckContext, Figures, KillRecord, evaluate
from streamscope.core.lessons.model import (
    TIMED_ACTIONS,
    AckDrop,
    Action,
    AddApp,
    AddConsumer,
    Assert,
    Crash,
    CreateTopic,
    DbRace,
    KillConsumer,
    Lesson,
    LunchRush,
    Pause,
    ProduceNullKeys,
    RemoveConsumer,
    Resume,
    Retune,
    SetDelay,
    StartPartners,
    StopPartners,
    Transform,
    Wait,
)
from streamscope.core.sim.partners import Fleet, encode_update
from streamscope.core.sim.scenario import Scenario

if TYPE_CHECKING:
    from streamscope.core.sim.database import DbRaceResult, DbRaceSample
    from streamscope.core.sim.external import ExternalScenario
    from streamscope.core.sim.faults import AckDropResult, FaultInjector

Status = Literal["ready", "running", "checking", "done", "finished", "failed", "error"]
MIN_SPEED = 0.25
MAX_SPEED = 1.0
DB_SAMPLES = 400  # the database race's progress samples kept for a live chart


@dataclass(frozen=True, slots=True)
class CheckResult:
    step: int  # 0-based index of the step the assertion belongs to
    check: str  # the check's name, e.g. "equal_counts"
    ok: bool
    summary: str  # one line, with the figures that decide
    figures: Figures  # (name, value) pairs, in display order
    waited_s: float  # lesson clock seconds until it held (or gave up)

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.check}: {self.summary}"


@dataclass(frozen=True, slots=True)
class LessonView:
    name: str
    title: str
    step: int  # 0-based; -1 before the first step
    count: int  # steps in the lesson
    caption: str
    status: Status
    speed: float
    playing: bool
    results: tuple[CheckResult, ...]  # the assertions of the current step so far
    error: str | None  # why the step stopped, for status "error"
    db_race: DbRaceResult | None = None
    db_samples: tuple[DbRaceSample, ...] = ()
    ack_drop: tuple[AckDropResult, ...] = ()


class LessonNeedsEmbedded(RuntimeError):
    """A lesson that runs only on the embedded broker, asked to run on another cluster."""

    def __init__(self, lesson: Lesson) -> None:
        super().__init__(f"lesson {lesson.name!r} runs only on the embedded broker: "
                         + "; ".join(lesson.embedded_only))
        self.lesson = lesson


class LessonPlayer:
    def __init__(
        self,
        scenario: Scenario | ExternalScenario,
        lesson: Lesson,
        *,
        speed: float = 1.0,
        clock: Clock = LOOP_CLOCK,
        faults: FaultInjector | None = None,
        work_dir: str | Path | None = None,
        poll_s: float = 0.1,
    ) -> None:
        self.scenario = scenario
        self.lesson = lesson
        self.clock = clock
        self.faults = faults
        self.poll_s = poll_s
        self._speed = _check_speed(speed)
        self._work_dir = Path(work_dir) if work_dir is not None else None
        self._own_dir: str | None = None
        self._step = -1
        self._status: Status = "ready"
        self._results: list[CheckResult] = []
        self._error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None  # set: the running step's waits end now
        self._hurry = False
        self._playing = False
        self._clean = False  # the scenario was reset and nothing ran since
        self._delays: dict[str, float] = {}  # group -> processing delay in lesson time
        self._samples: deque[DbRaceSample] = deque(maxlen=DB_SAMPLES)
        if scenario.external and lesson.embedded_only:
            raise LessonNeedsEmbedded(lesson)
        self._ctx = CheckContext(view=scenario.view, topics=scenario, broker=scenario.broker,
                                 now=clock.time, crash_armed=self._crash_armed,
                                 last_sent=self._last_sent)

    def _last_sent(self) -> dict[str, int]:
        runner = self.scenario.runner
        return runner.fleet.last_seqs() if runner is not None else {}

    # --- commands ---------------------------------------------------------------------

    @property
    def step(self) -> int:
        return self._step

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def playing(self) -> bool:
        return self._playing

    def set_speed(self, speed: float) -> None:
        """Slow motion from now on (running partners and processing delays included)."""
        self._speed = _check_speed(speed)
        if self._step >= 0:
            self.scenario.set_speed(self._speed)
            for group, delay in self._delays.items():
                with contextlib.suppress(KeyError):
                    self.scenario.app(group).set_delay(delay / self._speed)

    async def next(self) -> LessonView:
        """Run the next step (hurrying a running one first); the view after it."""
        self._hurry_running()
        async with self._lock:
            if self._step + 1 < len(self.lesson.steps):
                if self._step < 0:
                    await self._fresh()
                await self._run(self._step + 1)
        return self.view()

    async def previous(self) -> LessonView:
        """Clean restart, earlier steps replayed without waits, then the previous step."""
        self._playing = False  # stepping back takes over from auto-advance
        await self._cancel_running()
        async with self._lock:
            target = self._step - 1
            await self._fresh()
            if target < 0:
                self._set_ready()
            else:
                self._step, self._status, self._results = target, "running", []
                for j in range(target):
                    if not await self._actions(j, replay=True):
                        return self.view()
                await self._run(target)
        return self.view()

    async def restart(self) -> LessonView:
        """Back to clean state, before the first step."""
        self._playing = False
        await self._cancel_running()
        async with self._lock:
            await self._fresh()
            self._set_ready()
        return self.view()

    async def play(self) -> LessonView:
        """Run the remaining steps one after another (until a failure or stop_playing)."""
        self._playing = True
        try:
            while self._playing and self._step + 1 < len(self.lesson.steps):
                await self.next()
                if self._status in ("failed", "error"):
                    break
        finally:
            self._playing = False
        return self.view()

    def stop_playing(self) -> None:
        """Stop auto-advancing after the step that runs now."""
        self._playing = False

    async def close(self) -> None:
        """Cancel a running step and remove the player's own files (not the scenario)."""
        self._playing = False
        await self._cancel_running()
        if self._step >= 0:
            self.scenario.set_speed(1.0)
        if self._own_dir is not None:
            await asyncio.to_thread(shutil.rmtree, self._own_dir, True)
            self._own_dir = None

    def view(self) -> LessonView:
        steps = self.lesson.steps
        caption = self.lesson.intro if self._step < 0 else steps[self._step].caption
        ack = tuple(self._ctx.ack_drop[k] for k in sorted(self._ctx.ack_drop))
        return LessonView(
            self.lesson.name, self.lesson.title, self._step, len(steps), caption,
            self._status, self._speed, self._playing, tuple(self._results), self._error,
            self._ctx.db_race, tuple(self._samples), ack,
        )

    # --- running steps ------------------------------------------------------------------

    def _set_ready(self) -> None:
        self._step, self._status, self._results, self._error = -1, "ready", [], None

    async def _fresh(self) -> None:
        if not self._clean:
            await self.scenario.reset(delete_topics=self.lesson.topics)
        self._clean = True
        # The lesson's seed is the scenario's: same lesson, same city, keys and counts.
        self.scenario.reseed(self.lesson.seed)
        self.scenario.set_speed(self._speed)
        self._ctx.kills.clear()
        self._ctx.db_race = None
        self._ctx.ack_drop.clear()
        self._ctx.transform.clear()
        self._samples.clear()
        self._delays.clear()

    async def _run(self, index: int) -> None:
        self._step, self._status, self._results, self._error = index, "running", [], None
        self._hurry = False
        task = asyncio.get_running_loop().create_task(self._play_step(index))
        self._task = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # our caller gave up: so does the step
            task.cancel()
            await asyncio.wait({task})
            raise
        finally:
            self._task = None

    async def _play_step(self, index: int) -> None:
        try:
            if await self._actions(index, replay=False):
                last = index == len(self.lesson.steps) - 1
                self._status = "finished" if last else "done"
        except asyncio.CancelledError:
            self._status = "ready"
            raise

    async def _actions(self, index: int, *, replay: bool) -> bool:
        """Run step ``index``'s actions; False once one failed (status says how)."""
        self._clean = False
        for n, action in enumerate(self.lesson.steps[index].actions, 1):
            if replay and isinstance(action, TIMED_ACTIONS):
                continue
            try:
                ok = await self._do(action, index)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lesson action that cannot run: shown, not raised
                self._status = "error"
                self._error = (f"step {index + 1}, action {n} ({action.DO}):"
                               f" {type(exc).__name__}: {exc}")
                return False
            if not ok:
                self._status = "failed"
                return False
        return True

    def _hurry_running(self) -> None:
        if self._task is not None:
            self._hurry = True
            if self._wake is not None:
                self._wake.set()

    async def _cancel_running(self) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    # --- actions ----------------------------------------------------------------------

    async def _do(self, action: Action, step: int) -> bool:  # noqa: C901 - one dispatch
        """Perform one action; False when it was an assertion that failed."""
        sc = self.scenario
        speed = self._speed
        if isinstance(action, Wait):
            await self._wait(action.seconds / speed)
        elif isinstance(action, Assert):
            return await self._assert(action, step)
        elif isinstance(action, CreateTopic):
            await sc.create_topic(action.topic, action.partitions, action.config_map() or None)
        elif isinstance(action, StartPartners):
            await sc.start_partners(
                topic=action.topic, partitions=action.partitions, partners=action.partners,
                rate=action.rate, limit=action.limit, real_client=action.real_client)
        elif isinstance(action, StopPartners):
            await sc.stop_partners()
        elif isinstance(action, Retune):
            sc.retune(rate=action.rate, partners=action.partners)
        elif isinstance(action, LunchRush):
            sc.lunch_rush(action.multiplier, action.seconds / speed)
        elif isinstance(action, AddApp):
            self._delays[action.group] = action.delay
            await sc.add_app(action.kind, action.group, topic=action.topic,
                             consumers=action.consumers, assignor=action.assignor,
                             commit=action.commit, delay_s=action.delay / speed)
        elif isinstance(action, AddConsumer):
            await sc.app(action.group).add_consumers(action.count)
        elif isinstance(action, RemoveConsumer):
            await sc.app(action.group).remove_consumer()
        elif isinstance(action, KillConsumer):
            self._kill(action)
        elif isinstance(action, Crash):
            sc.app(action.group).crash_next(action.point, action.index)
        elif isinstance(action, SetDelay):
            self._delays[action.group] = action.seconds
            sc.app(action.group).set_delay(action.seconds / speed)
        elif isinstance(action, Pause):
            sc.app(action.group).pause()
        elif isinstance(action, Resume):
            sc.app(action.group).resume()
        elif isinstance(action, ProduceNullKeys):
            await self._produce_null_keys(action)
        elif isinstance(action, DbRace):
            await self._db_race(action)
        elif isinstance(action, AckDrop):
            await self._ack_drop(action)
        elif isinstance(action, Transform):
            await self._transform(action)
        else:  # pragma: no cover - the model lists every action
            raise TypeError(f"not an action: {action!r}")
        return True

    async def _wait(self, seconds: float) -> None:
        if self._hurry or seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = self._wake = asyncio.Event()
        try:
            await wait_or_timeout(self.clock, wake, seconds)
        finally:
            self._wake = None

    async def _assert(self, action: Assert, step: int) -> bool:
        self._status = "checking"
        within = action.within / self._speed
        start = self.clock.time()
        memo: dict[str, int] = {}
        while True:
            outcome = await evaluate(action.check, self._ctx, memo)
            waited = self.clock.time() - start
            if outcome.ok or waited >= within:
                break
            await sleep(self.clock, self.poll_s)
        self._results.append(CheckResult(step, action.check.CHECK, outcome.ok, outcome.summary,
                                         outcome.figures, waited))
        self._status = "running"
        return outcome.ok

    def _kill(self, action: KillConsumer) -> None:
        app = self.scenario.app(action.group)
        before = app.view(self.scenario.wall() * 1000.0)
        owners = {tp: m.client_id for m in before.members if m.status not in ("dead", "closed")
                  for tp in m.assignment}
        client = app.kill_consumer(action.index)
        owned = tuple(sorted(tp for tp, c in owners.items() if c == client))
        self._ctx.kills[action.group] = KillRecord(client, owned, owners, self.clock.time())

    def _crash_armed(self, group: str) -> bool:
        try:
            return self.scenario.app(group).crash_armed
        except KeyError:
            return False

    async def _produce_null_keys(self, action: ProduceNullKeys) -> None:
        """``count`` updates without a key, ``batch`` per batch, as Kafka's sticky
        partitioner places them: one partition per batch, another one for the next.

        The in-process Producer's sticky partitioner draws from an unseeded generator;
        a lesson must give the same partitions every run, so the player makes the same
        choices with a generator seeded by the lesson and names the partition itself.
        """
        sc = self.scenario
        topic = action.topic
        await sc.create_topic(topic, action.partitions)
        count = await sc.partition_count(topic) or action.partitions
        seed = self.lesson.seed
        fleet = Fleet(sc.city, action.partners, seed=seed)
        sticky = StickyPartitioner(random.Random(f"{seed}:sticky:{topic}"))
        base_ms = sc.wall() * 1000.0
        sent = 0
        while sent < action.count:
            partition = sticky.partition(topic, count)
            batch = []
            for i in range(sent, min(sent + action.batch, action.count)):
                update = fleet.next_update(base_ms + i * 100.0)
                batch.append((partition, None, encode_update(update), int(update.ts)))
            await sc.produce(topic, batch, client_id="streamscope-lesson-no-keys")
            sticky.batch_sent(topic, count)
            sent += len(batch)

    def _dir(self, name: str) -> Path:
        if self._work_dir is None:
            self._own_dir = tempfile.mkdtemp(prefix="streamscope-lesson-")
            self._work_dir = Path(self._own_dir)
        path = self._work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def _db_race(self, action: DbRace) -> None:
        from streamscope.core.sim.database import run_db_race

        self._samples.clear()
        self._ctx.db_race = None
        self._ctx.db_race = await run_db_race(
            self.scenario.broker, self.scenario.groups, data_dir=self._dir("db-race"),
            steps=action.steps, step_s=action.step_seconds, drain_s=action.drain_seconds,
            partners=action.partners, seed=self.lesson.seed, on_sample=self._samples.append,
        )

    async def _transform(self, action: Transform) -> None:
        from streamscope.core.sim.eos import run_transform
        from streamscope.core.sim.external import ExternalScenario

        sc = self.scenario
        bootstrap = sc.bootstrap()
        if not bootstrap:
            raise RuntimeError("transform needs the broker listening on a port (real clients"
                               " connect to it)")
        # On an external cluster, its settings (security included) rather than an address.
        target = sc.settings if isinstance(sc, ExternalScenario) else bootstrap
        self._ctx.transform.pop(action.exactly_once, None)
        self._ctx.transform[action.exactly_once] = await run_transform(
            target, exactly_once=action.exactly_once, records=action.records,
            crash_after=action.crash_after, seed=self.lesson.seed,
        )

    async def _ack_drop(self, action: AckDrop) -> None:
        from streamscope.core.sim.faults import run_ack_drop

        bootstrap = self.scenario.bootstrap()
        if not bootstrap or self.faults is None:
            raise RuntimeError("ack_drop needs the broker listening on a port (a real client"
                               " connects to it) and its fault injector")
        self._ctx.ack_drop.pop(action.idempotent, None)
        self._ctx.ack_drop[action.idempotent] = await run_ack_drop(
            bootstrap, faults=self.faults, idempotent=action.idempotent,
            records=action.records, drops=action.drops, seed=self.lesson.seed,
        )


def _check_speed(speed: float) -> float:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}")
    return float(speed)

