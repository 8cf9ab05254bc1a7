"""A lesson's ``page`` and ``focus`` (per lesson and per step) in the TOML format: parsed,
validated with the file and step named, defaulted, and set in every built-in lesson
(core/lessons/model.py)."""

from __future__ import annotations

import pytest
from streamscope.core.lessons.model import PAGES, LessonError, builtin_lessons, parse_lesson

HEAD = """
name = "paged"
title = "Paged"
topics = ["t"]
"""

STEPS = """
[[steps]]
caption = "Make the group."
actions = [
  { do = "create_topic", topic = "t", partitions = 2 },
  { do = "add_app", kind = "counter", group = "g", topic = "t" },
]

[[steps]]
caption = "Watch it on the log."
page = "log"
focus = "t"
"""


def test_page_and_focus_are_read_for_the_lesson_and_for_each_step():
    lesson = parse_lesson(HEAD + 'page = "groups"\nfocus = "g"\n' + STEPS, "paged.toml")
    assert (lesson.page, lesson.focus) == ("groups", "g")
    assert [(s.page, s.focus) for s in lesson.steps] == [(None, None), ("log", "t")]


def test_without_focus_a_page_opens_on_the_lessons_topic_or_first_group():
    lesson = parse_lesson(HEAD + 'page = "groups"\n' + STEPS, "paged.toml")
    assert lesson.focus is None
    assert lesson.page_focus("groups", None) == "g"
    assert lesson.page_focus("simulation", None) == "g"
    assert lesson.page_focus("log", None) == "t"
    assert lesson.page_focus("overview", None) == ""
    assert lesson.page_focus("log", "other") == "other"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('page = "charts"\n', "page = 'charts' is not one of"),
        ('focus = "g"\n', "focus needs a page"),
        ('page = "groups"\nfocus = "nobody"\n', "focus 'nobody' is not a group of the lesson"),
        ('page = "log"\nfocus = ""\n', "focus must be a non-empty string"),
        ("page = 3\n", "page = 3 is not one of"),
    ],
)
def test_a_bad_page_or_focus_is_refused_naming_the_file(extra: str, words: str):
    with pytest.raises(LessonError) as caught:
        parse_lesson(HEAD + extra + STEPS, "paged.toml")
    assert str(caught.value).startswith("paged.toml: ")
    assert words in str(caught.value)


def test_a_bad_step_page_is_refused_naming_the_step():
    text = HEAD + STEPS.replace('page = "log"', 'page = "nowhere"')
    with pytest.raises(LessonError, match=r"paged.toml: step 2: page = 'nowhere'"):
        parse_lesson(text, "paged.toml")
    text = HEAD + STEPS.replace('page = "log"\nfocus = "t"', 'page = "groups"\nfocus = "x"')
    with pytest.raises(LessonError, match=r"step 2: focus 'x' is not a group"):
        parse_lesson(text, "paged.toml")


def test_every_built_in_lesson_names_its_page_and_the_group_lessons_their_group():
    lessons = {lesson.name: lesson for lesson in builtin_lessons()}
    assert all(lesson.page in PAGES for lesson in lessons.values())
    pages = {name: (lesson.page, lesson.page_focus(lesson.page, lesson.focus))
             for name, lesson in lessons.items()}
    assert pages["fanout"] == ("log", "deliveries")
    assert pages["scale-out"] == ("groups", "analytics")
    assert pages["crash-rebalance"] == ("groups", "map-range")
    assert pages["database"][0] == pages["idempotence"][0] == "figures"  # their charts
    # Ordering's second step is watched on the topic of records without a key.
    assert (lessons["ordering"].steps[1].page, lessons["ordering"].steps[1].focus) == (
        "log", "deliveries-unkeyed")
