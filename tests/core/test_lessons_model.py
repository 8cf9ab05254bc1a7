"""Lesson files: the shipped lessons parse, and a bad file is refused with a message that
names the file, the step and the action (core/lessons/model.py, ``streamscope lesson``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamscope.core import cli
from streamscope.core.lessons.model import (
    ACTIONS,
    CHECKS,
    AddApp,
    Assert,
    DeliveryCheck,
    LessonError,
    LessonNotFound,
    StartPartners,
    Wait,
    builtin_lessons,
    find_lesson,
    parse_lesson,
)

NAMES = ["fanout", "scale-out", "crash-rebalance", "lag", "ordering", "database",
         "delivery-guarantees", "idempotence", "compaction", "exactly-once"]

HEAD = 'name = "tiny"\ntitle = "Tiny"\nseed = 3\ntopics = ["t"]\n'


def lesson_with(actions: str, caption: str = "Watch this.") -> str:
    return f'{HEAD}[[steps]]\ncaption = "{caption}"\nactions = [\n{actions}\n]\n'


def refused(text: str) -> str:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, "lessons/99-tiny.toml")
    message = str(info.value)
    assert message.startswith("lessons/99-tiny.toml")
    return message


def test_the_lessons_ship_in_order_and_parse():
    lessons = builtin_lessons()
    assert [lesson.name for lesson in lessons] == NAMES
    for lesson in lessons:
        assert lesson.steps and all(step.caption for step in lesson.steps)
        asserts = [a for s in lesson.steps for a in s.actions if isinstance(a, Assert)]
        assert asserts, f"{lesson.name} checks nothing"
        for a in (a for s in lesson.steps for a in s.actions):
            if isinstance(a, StartPartners):
                assert a.limit is not None, f"{lesson.name}: counts need a limit"


def test_a_valid_file_becomes_typed_frozen_actions_with_defaults():
    lesson = parse_lesson(lesson_with(
        '{ do = "start_partners", rate = 10, limit = 50 },\n'
        '{ do = "add_app", kind = "counter", group = "g", commit = "before", delay = 0 },\n'
        '{ do = "wait", seconds = 1 },\n'
        '{ do = "assert", check = "delivery", group = "g", lost = ">0", within = 5 },'))
    start, app, wait, check = lesson.steps[0].actions
    assert start == StartPartners(rate=10.0, limit=50)
    assert isinstance(start.rate, float) and start.topic == "deliveries"
    assert app == AddApp(kind="counter", group="g", commit="before", delay=0.0)
    assert wait == Wait(1.0)
    assert check == Assert(DeliveryCheck(group="g", lost=">0"), within=5.0)
    assert lesson.groups == ("g",) and lesson.topic == "deliveries"
    assert lesson.intro == "Tiny"  # no intro: the title
    with pytest.raises(AttributeError):
        start.rate = 5.0  # type: ignore[misc]


def test_an_unknown_action_is_named_with_its_step_and_position():
    message = refused(lesson_with('{ do = "wait", seconds = 1 },\n{ do = "explode" },'))
    assert "step 1, action 2" in message and "'explode'" in message
    assert "create_topic" in message  # the actions there are


def test_an_unknown_argument_is_refused_not_ignored():
    message = refused(lesson_with('{ do = "wait", seconds = 1, minutes = 2 },'))
    assert "step 1, action 1 (wait)" in message and "'minutes'" in message


@pytest.mark.parametrize(("action", "words"), [
    ('{ do = "start_partners", rate = "fast" }', "rate must be a number"),
    ('{ do = "start_partners", rate = 0 }', "rate must be above 0"),
    ('{ do = "create_topic", topic = "t", partitions = 0 }', "partitions must be at least 1"),
    ('{ do = "create_topic", topic = "t", partitions = 2.5 }', "partitions must be an integer"),
    ('{ do = "start_partners", real_client = "yes" }', "real_client must be true or false"),
    ('{ do = "add_app", kind = "map" }', "missing 'group'"),
    ('{ do = "add_app", kind = "radio", group = "g" }', "kind = 'radio' is not one of"),
    ('{ do = "add_app", kind = "map", group = "g", commit = "sometimes" }', "commit ="),
    ('{ do = "wait", seconds = -1 }', "seconds must be at least 0"),
    ('{ do = "wait", seconds = nan }', "seconds must be a finite number"),
    ('{ do = "wait" }', "missing 'seconds'"),
])
def test_a_bad_argument_is_refused_with_what_is_wrong(action: str, words: str):
    message = refused(lesson_with(action))
    assert "step 1, action 1" in message and words in message


ADD_G = '{ do = "add_app", kind = "map", group = "g" },\n'


@pytest.mark.parametrize(("actions", "says"), [
    ('{ do = "assert", check = "vibes" },', ("unknown check 'vibes'", "equal_counts")),
    (ADD_G + '{ do = "assert", check = "lag_above", group = "g" },',
     ("step 1, action 2 (assert), check lag_above: missing 'min'",)),
    ('{ do = "assert", check = "db_race", within = 0 },', ("within must be above 0",)),
    (ADD_G + '{ do = "assert", check = "equal_counts", groups = ["g"] },',
     ("groups needs at least 2 items",)),
])
def test_an_assert_needs_a_known_check_and_its_arguments(actions, says):
    message = refused(lesson_with(actions))
    assert all(part in message for part in says), message


@pytest.mark.parametrize(("actions", "says"), [
    ('{ do = "kill_consumer", group = "ghost" },',
     ("step 1, action 1 (kill_consumer)", "'ghost'")),
    ('{ do = "assert", check = "lag_zero", group = "ghost" },',
     ("'ghost' is used before an add_app",)),
    (ADD_G + ADD_G, ("added twice",)),
])
def test_a_group_must_be_made_by_add_app_before_anything_names_it(actions, says):
    message = refused(lesson_with(actions))
    assert all(part in message for part in says), message


def test_the_lesson_itself_must_be_complete():
    assert "not valid TOML" in refused("name = ")
    assert "missing 'title'" in refused('name = "tiny"\n[[steps]]\ncaption = "x"\n')
    assert "at least one [[steps]]" in refused(HEAD)
    assert "step 1: the caption is empty" in refused(lesson_with("", caption=" "))
    assert "unknown key 'colour'" in refused(HEAD + 'colour = "red"\n[[steps]]\ncaption = "x"\n')
    assert "name 'Tiny Lesson'" in refused(HEAD.replace('"tiny"', '"Tiny Lesson"')
                                           + '[[steps]]\ncaption = "x"\n')


def test_every_action_and_check_is_registered_under_its_own_name():
    assert set(ACTIONS) >= {
        "create_topic", "start_partners", "stop_partners", "retune", "lunch_rush", "add_app",
        "add_consumer", "remove_consumer", "kill_consumer", "crash", "set_delay", "pause",
        "resume", "wait", "assert", "db_race", "ack_drop", "produce_null_keys"}
    assert set(CHECKS) >= {"equal_counts", "idle_consumers", "reassigned", "lag_zero",
                           "lag_above", "delivery", "db_race", "ack_drop", "ordered"}


def test_find_lesson_names_the_lessons_there_are(tmp_path: Path):
    assert find_lesson("lag").title.startswith("Lag")
    with pytest.raises(LessonNotFound) as info:
        find_lesson("nosuch")
    assert "fanout" in str(info.value)
    path = tmp_path / "mine.toml"
    path.write_text(lesson_with('{ do = "wait", seconds = 0 },'))
    assert find_lesson(str(path)).name == "tiny"


def test_the_command_exits_2_for_an_unknown_lesson_or_a_bad_file(tmp_path: Path, capsys):
    assert cli.main(["lesson", "nosuch", "--check"]) == 2
    err = capsys.readouterr().err
    assert "no lesson called 'nosuch'" in err and "fanout" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(lesson_with('{ do = "wait", seconds = 1 },\n{ do = "crash", group = "g" },'))
    assert cli.main(["lesson", str(bad), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: step 1, action 2 (crash)" in err


def test_the_command_lists_the_lessons_with_their_titles(capsys):
    assert cli.main(["lesson", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == NAMES
    assert "Fan-out" in out[0]


def test_a_lesson_says_why_it_needs_the_embedded_broker_from_its_actions_and_checks():
    runs_anywhere = parse_lesson(lesson_with(
        '{ do = "start_partners", rate = 10, limit = 50 },\n'
        '{ do = "add_app", kind = "counter", group = "g" },\n'
        '{ do = "pause", group = "g" },\n'
        '{ do = "assert", check = "ordered", topic = "t" },'))
    assert runs_anywhere.embedded_only == ()
    needs = parse_lesson(lesson_with(
        '{ do = "add_app", kind = "counter", group = "g" },\n'
        '{ do = "kill_consumer", group = "g" },\n'
        '{ do = "kill_consumer", group = "g" },\n'
        '{ do = "assert", check = "compacted", topic = "t" },'))
    # One line per reason, each once, in the order met.
    assert len(needs.embedded_only) == 2
    assert "no LeaveGroup" in needs.embedded_only[0]
    assert "log segments" in needs.embedded_only[1]
    by_name = {lesson.name: lesson.embedded_only for lesson in builtin_lessons()}
    assert [name for name in NAMES if by_name[name]] == [
        "crash-rebalance", "database", "delivery-guarantees", "idempotence", "compaction"]
