"""The Lesson dock, on the real app over a real broker (Qt offscreen): opening the fan-out
lesson shows its intro and the Log page; the keyboard steps through it (Right/PageDown
forward, Left/PageUp back) and leaves a focused text field its arrow keys; Restart goes
back to a clean state; the student's snippet holds the broker's real bootstrap address
and the group chosen; the step's check results are shown in words and in colour; text
from a lesson or a client is never rendered as markup.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel
from streamscope.core.lessons import CheckResult, LessonView, find_lesson

STEP_TIMEOUT = 90_000  # one step's waits and checks on a loaded 2-core machine

FANOUT = find_lesson("fanout")


def latest(shell) -> LessonView | None:
    return shell.lessons.latest()


def open_fanout(shell, qtbot):
    w = shell.window
    w.open_lesson("fanout")
    qtbot.waitUntil(lambda: latest(shell) is not None and latest(shell).name == "fanout",
                    timeout=15_000)
    qtbot.waitUntil(lambda: not shell.lessons.busy(), timeout=15_000)
    return w.lesson_panel


def focus_window(shell, qtbot) -> None:
    w = shell.window
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    focus = QApplication.focusWidget()
    if focus is not None:
        focus.clearFocus()


def wait_step(shell, qtbot, step: int, statuses=("done", "finished")) -> LessonView:
    qtbot.waitUntil(
        lambda: latest(shell) is not None and latest(shell).step == step
        and latest(shell).status in statuses and not shell.lessons.busy(),
        timeout=STEP_TIMEOUT,
    )
    view = latest(shell)
    assert view is not None
    return view


def test_opening_fanout_shows_its_intro_on_the_log_page_in_the_lesson_dock(app_shell, qtbot):
    w = app_shell.window
    panel = open_fanout(app_shell, qtbot)
    assert w.lesson_dock.isVisible()
    assert w.current_view() == "log"
    assert w.log.selected_topic() in (None, "deliveries")  # selected once it exists
    assert panel.title.text() == FANOUT.title
    assert panel.caption_text() == FANOUT.intro
    assert panel.step_text() == f"Introduction \u00b7 {len(FANOUT.steps)} steps"
    assert panel.chooser.currentData() == "fanout"
    assert panel.next_button.isEnabled() and not panel.previous_button.isEnabled()


def test_keys_step_forward_and_back_and_restart_returns_to_a_clean_start(app_shell, qtbot):
    w = app_shell.window
    panel = open_fanout(app_shell, qtbot)
    focus_window(app_shell, qtbot)

    qtbot.keyClick(w, Qt.Key.Key_Right)
    wait_step(app_shell, qtbot, 0)
    assert panel.step_text() == f"Step 1 of {len(FANOUT.steps)}"
    assert panel.caption_text() == FANOUT.steps[0].caption

    qtbot.keyClick(w, Qt.Key.Key_PageDown)
    wait_step(app_shell, qtbot, 1)
    assert panel.caption_text() == FANOUT.steps[1].caption
    qtbot.waitUntil(lambda: app_shell.sim.latest() is not None
                    and len(app_shell.sim.latest().apps) == 3, timeout=15_000)

    # Back one step: a clean restart with step 1 replayed; the apps of step 2 are gone.
    qtbot.keyClick(w, Qt.Key.Key_Left)
    wait_step(app_shell, qtbot, 0)
    assert panel.caption_text() == FANOUT.steps[0].caption
    qtbot.waitUntil(lambda: app_shell.sim.latest() is not None
                    and app_shell.sim.latest().apps == (), timeout=15_000)

    qtbot.keyClick(w, Qt.Key.Key_PageDown)
    wait_step(app_shell, qtbot, 1)
    qtbot.keyClick(w, Qt.Key.Key_PageUp)
    wait_step(app_shell, qtbot, 0)

    # Restart: clean state (no apps, the lesson's topic deleted), then step 1 again.
    qtbot.mouseClick(panel.restart_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: latest(app_shell).step == -1 and not app_shell.lessons.busy(),
                    timeout=STEP_TIMEOUT)
    assert panel.caption_text() == FANOUT.intro
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: app_shell.service.latest().topic("deliveries") is None,
                    timeout=10_000)
    assert app_shell.sim.latest() is None or app_shell.sim.latest().apps == ()
    # The button did not take the focus: the arrow keys still step.
    qtbot.keyClick(w, Qt.Key.Key_Right)
    wait_step(app_shell, qtbot, 0)
    assert panel.step_text() == f"Step 1 of {len(FANOUT.steps)}"


def test_arrow_keys_in_a_text_field_move_its_cursor_not_the_lesson(app_shell, qtbot):
    w = app_shell.window
    open_fanout(app_shell, qtbot)
    focus_window(app_shell, qtbot)
    w.show_event_log()
    field = w.event_log.text  # the event log's filter
    field.setText("orders")
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    field.setCursorPosition(6)
    qtbot.keyClick(field, Qt.Key.Key_Left)
    qtbot.keyClick(field, Qt.Key.Key_Left)
    assert field.cursorPosition() == 4
    qtbot.keyClick(field, Qt.Key.Key_Right)
    assert field.cursorPosition() == 5
    # The lesson did not move (nothing is running, nothing was asked for).
    assert not app_shell.lessons.busy()
    assert latest(app_shell).step == -1
    # A list takes its PageDown too; with the focus nowhere, PageDown steps the lesson.
    table = w.event_log.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5000)
    qtbot.keyClick(table, Qt.Key.Key_PageDown)
    assert not app_shell.lessons.busy() and latest(app_shell).step == -1
    table.clearFocus()
    qtbot.keyClick(w, Qt.Key.Key_PageDown)
    wait_step(app_shell, qtbot, 0)


def test_the_student_snippet_holds_the_real_bootstrap_address_and_the_group(app_shell, qtbot):
    panel = open_fanout(app_shell, qtbot)
    bootstrap = app_shell.service.bootstrap
    assert bootstrap and not bootstrap.endswith(":0")
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: bootstrap in panel.snippet_text("kcat"), timeout=5000)
    assert panel.address.text() == bootstrap
    for name in ("Console consumer", "kcat", "Python"):
        text = panel.snippet_text(name)
        assert bootstrap in text and "deliveries" in text and "student" in text, name
    # Every group of the lesson can be joined, and a group of one's own.
    groups = [panel.group.itemData(i) for i in range(panel.group.count())]
    assert groups == [*FANOUT.groups, "student"]
    panel.group.setCurrentIndex(groups.index("analytics"))
    assert "-G analytics deliveries" in panel.snippet_text("kcat")
    assert "--group analytics" in panel.snippet_text("Console consumer")
    assert '"group.id": "analytics"' in panel.snippet_text("Python")
    # The copy buttons copy what is shown.
    qtbot.mouseClick(panel.copy_address, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == bootstrap
    block = panel.snippet_blocks["kcat"]
    qtbot.mouseClick(block.copy, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == panel.snippet_text("kcat")


def test_check_results_are_shown_in_words_and_colour(app_shell, qtbot):
    panel = open_fanout(app_shell, qtbot)
    assert panel.check_rows() == []
    assert panel.no_checks.isVisibleTo(panel)
    panel.play_or_pause()  # plays the three steps; the last one checks the counts
    view = wait_step(app_shell, qtbot, 2, statuses=("finished", "failed"))
    assert view.status == "finished", view
    rows = panel.check_rows()
    assert len(rows) == 1
    outcome, text = rows[0]
    assert outcome == "pass"
    assert text.startswith("PASS  equal counts\n")
    sent = 600  # the lesson's limit: the same count every run
    assert [a.limit for a in FANOUT.steps[0].actions if a.DO == "start_partners"] == [sent]
    qtbot.waitUntil(lambda: app_shell.sim.latest().partners.sent == sent, timeout=10_000)
    assert f"all {sent} updates" in text
    for group in FANOUT.groups:
        assert f"{group} {sent}" in text
    label = panel.check_labels[0]
    assert f"updates sent: {sent}" in label.toolTip()

    def green() -> bool:
        # The style sheet's colour reaches the label when Qt polishes it, before its first
        # paint: on an event-loop turn, so wait for it rather than read it at once.
        colour = label.palette().color(QPalette.ColorRole.WindowText)
        return 90 <= colour.hsvHue() <= 170 and colour.hsvSaturation() > 100

    qtbot.waitUntil(green, timeout=5_000)
    assert not panel.no_checks.isVisibleTo(panel)


def test_lesson_and_client_text_is_never_rendered_as_markup(app_shell, qtbot):
    panel = open_fanout(app_shell, qtbot)
    markup = "<b>bold</b> &amp; <i>x</i>"
    result = CheckResult(0, "equal_counts", False, f"group {markup} 0", (("g", markup),), 1.0)
    view = LessonView("fanout", f"Title {markup}", 0, 3, f"Caption {markup}", "failed", 1.0,
                      False, (result,), f"error {markup}")
    panel.show_view(view)
    assert panel.title.text() == f"Title {markup}"
    assert panel.caption_text() == f"Caption {markup}"
    assert panel.error.text() == f"error {markup}"
    outcome, text = panel.check_rows()[0]
    assert outcome == "fail" and text == f"FAIL  equal counts\ngroup {markup} 0"
    shown = [panel.title, panel.caption, panel.step, panel.status, panel.error,
             panel.join_hint, *panel.check_labels]
    for label in shown:
        assert isinstance(label, QLabel)
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    assert "&lt;b&gt;" in panel.check_labels[0].toolTip()  # escaped, shown as typed
    banner = panel.banner()
    assert banner.caption == f"Caption {markup}"
    app_shell.window.presentation.set_caption(banner.heading, banner.caption, banner.checks)
    for label in app_shell.window.presentation.banner.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText
