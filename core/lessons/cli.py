"""``streamscope lesson``: run a lesson headless and check its assertions, or list lessons.

Usage::

    streamscope lesson NAME --check [--data-dir DIR] [--speed X]
    streamscope lesson NAME --check --bootstrap HOST:PORT [security options] [--speed X]
    streamscope lesson --list

Contract:

* ``--check`` starts an embedded :class:`~streamscope.core.node.Node` listening on
  127.0.0.1, port 0 (so a real client can reach it: lesson 8's producer, real-client
  partners), in a temporary data dir unless ``--data-dir`` names one, builds a
  :class:`~streamscope.core.sim.scenario.Scenario` with the lesson's seed and plays every
  step with its waits (:class:`~.player.LessonPlayer`, at ``--speed``, default 1).
  On stdout: each step's caption, then each assertion's result (PASS/FAIL, a summary
  and its figures), then one closing line. Everything it started is closed at the end.
* ``--bootstrap HOST:PORT`` (with ``streamscope inspect``'s security options) plays the
  lesson on that cluster instead, through real clients
  (:class:`~streamscope.core.sim.external.ExternalScenario`): no embedded broker is
  started. A lesson that needs the embedded broker (``Lesson.embedded_only``) prints one
  ``streamscope: ...`` line saying why and exits 2. ``--list`` marks those lessons.
  The lesson's topics and groups are deleted from the cluster at the end.
* Exit 0 when every assertion held; 1 on a failed assertion (the lesson stops there) or
  an action that could not run; 2 for an unknown lesson name, a lesson file that is not
  valid (one ``streamscope: ...`` line naming the file, step and action) or bad arguments.
* ``NAME`` is a built-in lesson's name (``--list`` shows them) or a path to a ``.toml``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from streamscope.core.config import BrokerConfig
from streamscope.core.lessons.model import (
    Lesson,
    LessonError,
    LessonNotFound,
    builtin_lessons,
    find_lesson,
)
from streamscope.core.lessons.player import MAX_SPEED, MIN_SPEED, CheckResult, LessonPlayer
from streamscope.core.node import Node
from streamscope.core.runtime import new_event_loop
from streamscope.core.sim.scenario import Scenario

if TYPE_CHECKING:
    from streamscope.core.monitor.external import ExternalSettings
    from streamscope.core.sim.external import ExternalScenario


def _speed(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_SPEED <= x <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"must be between {MIN_SPEED} and {MAX_SPEED}")
    return x


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streamscope lesson",
        description="Run a lesson headless on an embedded broker and check its assertions.",
    )
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="a lesson's name (see --list) or a lesson file (.toml)")
    p.add_argument("--check", action="store_true",
                   help="play every step and check its assertions (exit 1 if one fails)")
    p.add_argument("--list", action="store_true", help="list the lessons and exit")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="the broker's data dir (default: a temporary one)")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help=f"slow motion, {MIN_SPEED} to {MAX_SPEED} (default 1)")
    p.add_argument("--bootstrap", metavar="HOST:PORT",
                   help="play on this Kafka-compatible cluster through real clients"
                        " instead of an embedded broker")
    from streamscope.core.monitor.security_options import add_security_options

    add_security_options(p)
    return p


def main(argv: Sequence[str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    p = parser()
    args = p.parse_args(list(argv))
    if args.list:
        try:
            lessons = builtin_lessons()
        except LessonError as exc:
            print(f"streamscope: {exc}", file=sys.stderr)
            return 2
        for lesson in lessons:
            only = "  [embedded broker only]" if lesson.embedded_only else ""
            print(f"{lesson.name:<22} {lesson.title} ({len(lesson.steps)} steps){only}",
                  file=out)
        return 0
    if not args.name or not args.check:
        p.error("give a lesson NAME with --check (or --list)")
    try:
        lesson = find_lesson(args.name)
    except (LessonNotFound, LessonError) as exc:
        print(f"streamscope: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    if args.bootstrap is not None:
        from streamscope.core.monitor.security_options import settings_from_args

        if lesson.embedded_only:
            print(f"streamscope: lesson {lesson.name} runs only on the embedded broker: "
                  + "; ".join(lesson.embedded_only), file=sys.stderr)
            return 2
        settings = settings_from_args(p, args, args.bootstrap)
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(check_lesson_external(lesson, settings, speed=args.speed,
                                                    out=out))
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        if args.data_dir is not None:
            return runner.run(check_lesson(lesson, args.data_dir, speed=args.speed, out=out))
        with tempfile.TemporaryDirectory(prefix="streamscope-lesson-") as tmp:
            return runner.run(check_lesson(lesson, Path(tmp), speed=args.speed, out=out))


async def check_lesson(lesson: Lesson, data_dir: Path, *, speed: float = 1.0,
                       out: TextIO = sys.stdout) -> int:
    """Play ``lesson`` on a fresh node in ``data_dir``; 0 if every assertion held, else 1."""
    node = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir))
    await node.start()
    try:
        scenario = Scenario(node.broker, node.groups, seed=lesson.seed,
                            bootstrap=lambda: node.bootstrap)
        player = LessonPlayer(scenario, lesson, speed=speed, faults=node.faults)
        return await _play(lesson, scenario, player, f"broker at {node.bootstrap}", speed, out)
    finally:
        await node.close()


async def check_lesson_external(lesson: Lesson, settings: ExternalSettings, *,
                                speed: float = 1.0, out: TextIO = sys.stdout) -> int:
    """Play ``lesson`` on the cluster ``settings`` reaches, through real clients; 0 if
    every assertion held, else 1. Raises ``LessonNeedsEmbedded`` for a lesson that needs
    the embedded broker."""
    from streamscope.core.sim.external import ExternalScenario

    scenario = ExternalScenario(settings, seed=lesson.seed)
    try:
        player = LessonPlayer(scenario, lesson, speed=speed)
        return await _play(lesson, scenario, player, f"cluster at {settings.bootstrap}",
                           speed, out)
    finally:
        await scenario.close()


async def _play(lesson: Lesson, scenario: Scenario | ExternalScenario, player: LessonPlayer,
                where: str, speed: float, out: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.monotonic()
    passed = 0
    try:
        say(f"lesson {lesson.name}: {lesson.title}")
        say(f"  seed {lesson.seed}, speed {speed:g}, {where}")
        count = len(lesson.steps)
        for i, step in enumerate(lesson.steps):
            say()
            say(f"step {i + 1}/{count}")
            say(textwrap.fill(step.caption, width=88, initial_indent="  ",
                              subsequent_indent="  "))
            view = await player.next()
            for result in view.results:
                _print_result(say, result)
                passed += result.ok
            if view.status == "error":
                say(f"  ERROR {view.error}")
                say(f"\nlesson {lesson.name}: stopped by an error at step {i + 1}")
                return 1
            if view.status == "failed":
                say(f"\nlesson {lesson.name}: an assertion failed at step {i + 1}")
                return 1
    finally:
        await player.close()
        await scenario.reset(delete_topics=lesson.topics)
    say(f"\nlesson {lesson.name}: {passed} assertion{'' if passed == 1 else 's'} passed"
        f" in {time.monotonic() - started:.1f} s")
    return 0


def _print_result(say, result: CheckResult) -> None:  # noqa: ANN001
    say(f"  {result.line()}  [{result.waited_s:.1f} s]")
    for name, value in result.figures:
        say(f"      {name}: {value}")
