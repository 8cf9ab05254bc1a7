"""The Lesson figures page on the real app over a real broker (Qt offscreen): lesson 6's
race, played through the lesson service, draws writes/s, p99 latency and backlog for both
paths with its load steps marked, then a table naming every step in words; lesson 8 shows
duplicates without idempotence and none with it; every text on the page is plain.

Set STREAMSCOPE_FIG_DIR to keep the page's grabs at 1280x720 (normal and presentation).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from streamscope.core.lessons import LessonView, find_lesson
from streamscope.core.lessons.model import DbRace
from streamscope.desktop.views.lesson_figures import (
    BROKER,
    DIRECT,
    NO_LESSON,
    OTHER_LESSON,
    LessonFiguresView,
    step_verdict,
)

STEP_TIMEOUT = 120_000  # a race or a real producer's retries on a loaded 2-core machine
SHORT_STEPS = (200.0, 5000.0)


def short_database_lesson():
    """Lesson 6 with H3's short check: two load steps of 1.5 s, then the drain."""
    lesson = find_lesson("database")
    steps = []
    for step in lesson.steps:
        actions = tuple(
            dataclasses.replace(a, steps=SHORT_STEPS, step_seconds=1.5, drain_seconds=10.0)
            if isinstance(a, DbRace) else a
            for a in step.actions
        )
        steps.append(dataclasses.replace(step, actions=actions))
    return dataclasses.replace(lesson, steps=tuple(steps))


def latest(shell) -> LessonView | None:
    return shell.lessons.latest()


def open_lesson(shell, qtbot, name: str) -> None:
    shell.window.open_lesson(name)
    qtbot.waitUntil(lambda: latest(shell) is not None and latest(shell).name == name,
                    timeout=15_000)
    qtbot.waitUntil(lambda: not shell.lessons.busy(), timeout=15_000)


def run_step(shell, qtbot, step: int) -> LessonView:
    shell.lessons.next()
    qtbot.waitUntil(
        lambda: latest(shell) is not None and latest(shell).step == step
        and latest(shell).status in ("done", "finished", "failed", "error")
        and not shell.lessons.busy(),
        timeout=STEP_TIMEOUT,
    )
    view = latest(shell)
    assert view.status in ("done", "finished"), (view.status, view.error, view.results)
    return view


def finite_points(chart, which: str) -> int:
    _x, y = chart.line_data(which)
    return int(np.isfinite(y).sum())


def grab(window, qtbot, name: str) -> None:
    """The window once laid out, kept where STREAMSCOPE_FIG_DIR says (to look at)."""
    out = os.environ.get("STREAMSCOPE_FIG_DIR")
    if out:
        qtbot.wait(300)
        assert window.grab().save(str(Path(out) / f"f4_{name}.png"))


def save_grabs(shell, qtbot, name: str) -> None:
    """Grabs at 1280x720, normal and presenting, kept where STREAMSCOPE_FIG_DIR says."""
    out = os.environ.get("STREAMSCOPE_FIG_DIR")
    if not out:
        return
    w = shell.window
    w.resize(1280, 720)
    qtbot.wait(300)
    assert w.grab().save(str(Path(out) / f"f4_{name}.png"))
    w.set_presentation(True, fullscreen=False)
    w.resize(1280, 720)
    qtbot.wait(500)
    assert w.grab().save(str(Path(out) / f"f4_{name}_presentation.png"))
    w.set_presentation(False)


def test_lesson_6_race_charts_both_paths_live_and_the_table_names_every_step(
    app_shell, qtbot, monkeypatch
):
    shell = app_shell
    w = shell.window
    short = short_database_lesson()
    find = shell.lessons.find
    monkeypatch.setattr(shell.lessons, "find", lambda n: short if n == "database" else find(n))
    open_lesson(shell, qtbot, "database")
    w.show_view("figures")
    page: LessonFiguresView = w.figures
    qtbot.waitUntil(lambda: page.mode == "race", timeout=10_000)
    assert "not started" in page.race.status.text()
    grab(w, qtbot, "lesson6_ready")

    shell.lessons.next()
    charts = page.race.charts()
    # While the race runs, the charts grow from its samples, a line per path.
    qtbot.waitUntil(
        lambda: latest(shell).db_race is None
        and finite_points(page.race.writes, "direct") >= 2
        and finite_points(page.race.writes, "broker") >= 2,
        timeout=STEP_TIMEOUT,
    )
    assert page.race.table.isHidden()
    assert "Racing" in page.race.status.text()
    grab(w, qtbot, "lesson6_live")
    qtbot.waitUntil(lambda: latest(shell).db_race is not None and not shell.lessons.busy(),
                    timeout=STEP_TIMEOUT)
    w.figures.refresh()
    view = latest(shell)
    result = view.db_race
    # Every chart has both paths; the writes chart also the offered load, reaching the top.
    for chart in charts:
        assert finite_points(chart, "direct") >= 4, chart
        assert finite_points(chart, "broker") >= 4, chart
        assert chart.mark_labels() == ["200/s", "5000/s", "drain"]
    _x, offered = page.race.writes.line_data("offered")
    assert offered.max() == 5000
    _x, direct_backlog = page.race.backlog.line_data("direct")
    assert np.nanmax(direct_backlog) > 0
    # The table: a row per step, the top step by name, which path kept up in words.
    rows = page.race.table_rows()
    assert [r[0] for r in rows] == [s.label for s in result.steps]
    top = next(r for r in rows if r[0] == result.top.label)
    assert top[0] == "5000/s"
    assert top[-1] in ("only through the broker", "both", "neither", "only directly")
    assert top[-1] == step_verdict(result.top)
    assert rows[-1][-1] == "both caught up"  # the drain ends once both wrote everything
    assert top[1].startswith(f"{result.top.direct.writes_per_s:,.0f} writes/s")
    summary = page.race.summary.text()
    assert "5000/s" in summary and "direct path" in summary
    print(result.table())
    # The key names the two paths; every text on the page is plain.
    assert page.race.keys[DIRECT][1].text() == DIRECT
    assert page.race.keys[BROKER][1].text() == BROKER
    for label in page.labels():
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    save_grabs(shell, qtbot, "lesson6")


def test_lesson_8_shows_duplicates_without_idempotence_and_none_with_it(app_shell, qtbot):
    shell = app_shell
    w = shell.window
    open_lesson(shell, qtbot, "idempotence")
    w.show_view("figures")
    page: LessonFiguresView = w.figures
    qtbot.waitUntil(lambda: page.mode == "acks", timeout=10_000)
    assert "No run yet" in page.acks.status.text()

    run_step(shell, qtbot, 0)
    qtbot.waitUntil(lambda: len(page.acks.table_rows()) == 1, timeout=10_000)
    (without,) = page.acks.table_rows()
    assert without[0] == "without idempotence"
    assert int(without[4].replace(",", "")) > 0
    assert "Without idempotence" in page.acks.sentence.text()

    run_step(shell, qtbot, 1)
    qtbot.waitUntil(lambda: len(page.acks.table_rows()) == 2, timeout=10_000)
    rows = {r[0]: r for r in page.acks.table_rows()}
    assert int(rows["without idempotence"][4].replace(",", "")) > 0
    assert rows["with idempotence"][4] == "0"
    assert rows["with idempotence"][1] == "300"
    assert rows["with idempotence"][3] == "300"
    sentence = page.acks.sentence.text()
    assert "With idempotence" in sentence and "0 duplicates" in sentence
    assert page.acks.axis.names == ["without idempotence", "with idempotence"]
    for label in page.labels():
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    save_grabs(shell, qtbot, "lesson8")


def test_other_lessons_and_no_lesson_say_where_the_figures_are_in_plain_text(
    app_shell, qtbot
):
    w = app_shell.window
    w.show_view("figures")
    page: LessonFiguresView = w.figures
    assert page.message.text() == NO_LESSON
    grab(w, qtbot, "no_lesson")
    open_lesson(app_shell, qtbot, "fanout")
    qtbot.waitUntil(lambda: page.mode == "other", timeout=10_000)
    assert page.message.text() == OTHER_LESSON
    # A title that looks like markup is shown as typed.
    view = dataclasses.replace(latest(app_shell), title="<b>bold</b> & co")
    page.show_lesson(view, None)
    assert page.heading.text() == "Lesson figures: <b>bold</b> & co"
    assert page.heading.textFormat() == Qt.TextFormat.PlainText


@pytest.mark.parametrize("name", ["database", "idempotence"])
def test_opening_lesson_6_or_8_shows_the_lesson_figures_page(app_shell, qtbot, name):
    w = app_shell.window
    w.show_view("overview")
    open_lesson(app_shell, qtbot, name)
    qtbot.waitUntil(lambda: w.current_view() == "figures", timeout=10_000)
