"""Which page a lesson shows, on the real app over a real broker (Qt offscreen): the
lesson file's ``page`` and ``focus`` decide it (scale-out: the Groups page with its group
selected as soon as the step makes it), and a step with its own page asks for it once,
when it starts, however often the step's view changes after (lesson_panel, main_window).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from streamscope.core.lessons import LessonView, find_lesson
from streamscope.desktop.views.lesson_panel import guess_page, lesson_page, step_page

STEP_TIMEOUT = 90_000  # one step's waits and checks on a loaded 2-core machine


def latest(shell) -> LessonView | None:
    return shell.lessons.latest()


def open_lesson(shell, qtbot, name: str) -> None:
    w = shell.window
    w.open_lesson(name)
    qtbot.waitUntil(lambda: latest(shell) is not None and latest(shell).name == name,
                    timeout=15_000)
    qtbot.waitUntil(lambda: not shell.lessons.busy(), timeout=15_000)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    focus = QApplication.focusWidget()
    if focus is not None:
        focus.clearFocus()


def step_forward(shell, qtbot, step: int) -> LessonView:
    qtbot.keyClick(shell.window, Qt.Key.Key_Right)
    qtbot.waitUntil(
        lambda: latest(shell).step == step and not shell.lessons.busy()
        and latest(shell).status in ("done", "finished"),
        timeout=STEP_TIMEOUT,
    )
    return latest(shell)


def test_the_files_page_wins_over_the_guess_which_stays_the_fallback():
    crash = find_lesson("crash-rebalance")
    assert lesson_page(crash) == ("groups", "map-range")
    ordering = find_lesson("ordering")
    assert lesson_page(ordering) == ("log", "deliveries")
    assert step_page(ordering, 0) is None
    assert step_page(ordering, 1) == ("log", "deliveries-unkeyed")
    assert step_page(ordering, 5) is None
    # A file without a page: guessed from its actions, as before (delivery guarantees
    # crashes and pauses but adds no consumer: the log of its topic).
    bare = find_lesson("delivery-guarantees")
    assert lesson_page(bare) == ("simulation", "commit-after")
    assert guess_page(bare) == ("log", "deliveries")
    assert guess_page(find_lesson("database")) == ("figures", "")


def test_scale_out_opens_on_groups_and_selects_its_group_once_the_step_makes_it(
    app_shell, qtbot
):
    w = app_shell.window
    open_lesson(app_shell, qtbot, "scale-out")
    assert w.current_view() == "groups"
    assert w.groups.table.selected_key() is None  # no group yet
    view = step_forward(app_shell, qtbot, 0)
    assert view.status == "done", view.error
    qtbot.waitUntil(lambda: w.groups.table.selected_key() == "analytics", timeout=15_000)
    assert w.current_view() == "groups"


def test_a_step_with_its_own_page_asks_for_it_once_when_it_starts(app_shell, qtbot):
    w = app_shell.window
    panel = w.lesson_panel
    asked: list[tuple[str, str]] = []
    open_lesson(app_shell, qtbot, "ordering")
    assert w.current_view() == "log"
    panel.show_page_requested.connect(lambda page, name: asked.append((page, name)))
    step_forward(app_shell, qtbot, 0)
    assert asked == []  # the first step has no page of its own: the page stays
    w.show_view("overview")
    view = step_forward(app_shell, qtbot, 1)
    assert view.status == "finished", view.error
    # Running, then its check, then finished: one request, at the start.
    assert asked == [("log", "deliveries-unkeyed")]
    assert w.current_view() == "log"
    qtbot.waitUntil(lambda: w.log.selected_topic() == "deliveries-unkeyed", timeout=15_000)
