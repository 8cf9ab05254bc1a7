"""``streamscope lesson``: run a lesson headless and check its assertions, or list lessons.

Usage::

    streamscope lesson NAME --check [--data-dir DIR] [--speed X]
    streamscope lesson --list

Contract:

* ``--check`` starts an embedded :class:`~streamscope.core.node.Node` listening on
  127.0.0.1, port 0 (so a real client can reach it: lesson 8's producer, real-client
  partners), in a temporary data dir unless ``--data-dir`` names one, builds a
  :class:`~streamscope.core.sim.scenario.Scenario` with the lesson's seed and plays every
  step with its waits (:class:`~.player.LessonPlayer`, at ``--speed``, default 1).
  On stdout: each step's caption, then each assertion's result (PASS/FAIL, a summary
  and its figures), then one closing line. Everything it started is closed at the end.
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
from typing import TextIO

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
            print(f"{lesson.name:<22} {lesson.title} ({len(lesson.steps)} steps)", file=out)
        return 0
    if not args.name or not args.check:
        p.error("give a lesson NAME with --check (or --list)")
    try:
        lesson = find_lesson(args.name)
    except (LessonNotFound, LessonError) as exc:
        print(f"streamscope: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        if args.data_dir is not None:
            return runner.run(check_lesson(lesson, args.data_dir, speed=args.speed, out=out))
        with tempfile.TemporaryDirectory(prefix="streamscope-lesson-") as tmp:
            return runner.run(check_lesson(lesson, Path(tmp), speed=args.speed, out=out))


async def check_lesson(lesson: Lesson, data_dir: Path, *, speed: float = 1.0,
                       out: TextIO = sys.stdout) -> int:
    """Play ``lesson`` on a fresh node in ``data_dir``; 0 if every assertion held, else 1."""
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    node = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir))
    await node.start()
    started = time.monotonic()
    passed = 0
    try:
        scenario = Scenario(node.broker, node.groups, seed=lesson.seed,
                            bootstrap=lambda: node.bootstrap)
        player = LessonPlayer(scenario, lesson, speed=speed, faults=node.faults)
        try:
            say(f"lesson {lesson.name}: {lesson.title}")
            say(f"  seed {lesson.seed}, speed {speed:g}, broker at {node.bootstrap}")
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
    finally:
        await node.close()
    say(f"\nlesson {lesson.name}: {passed} assertion{'' if passed == 1 else 's'} passed"
        f" in {time.monotonic() - started:.1f} s")
    return 0


def _print_result(say, result: CheckResult) -> None:  # noqa: ANN001
    say(f"  {result.line()}  [{result.waited_s:.1f} s]")
    for name, value in result.figures:
        say(f"      {name}: {value}")
