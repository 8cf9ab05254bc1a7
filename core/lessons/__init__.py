"""Lessons: scripted, checkable walks through the simulation (headless).

``model`` reads and validates the lesson files (TOML in ``streamscope.resources/lessons``),
``checks`` holds the assertion kinds, ``player`` plays a lesson on a running
:class:`~streamscope.core.sim.scenario.Scenario` (next, previous, restart, play, speed),
``cli`` is ``streamscope lesson NAME --check`` and ``streamscope lesson --list``.
"""

from streamscope.core.lessons.model import (
    Lesson,
    LessonError,
    LessonNotFound,
    builtin_lessons,
    find_lesson,
    load_lesson,
    parse_lesson,
)
from streamscope.core.lessons.player import (
    CheckResult,
    LessonNeedsEmbedded,
    LessonPlayer,
    LessonView,
)

__all__ = [
    "CheckResult",
    "Lesson",
    "LessonError",
    "LessonNeedsEmbedded",
    "LessonNotFound",
    "LessonPlayer",
    "LessonView",
    "builtin_lessons",
    "find_lesson",
    "load_lesson",
    "parse_lesson",
]
