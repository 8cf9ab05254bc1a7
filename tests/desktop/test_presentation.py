"""Presentation mode on the real app (Qt offscreen) with the fan-out lesson open: F5 makes
the fonts larger and the contrast higher, hides the chrome (menu bar, status bar,
navigation, docks) and shows the lesson's caption in a banner, legible in a grab at
1280x720; the lesson keys and F5 still work with the menu bar hidden; F5 or Esc restores
exactly what was there before.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontInfo, QImage
from PySide6.QtWidgets import QApplication
from streamscope.core.lessons import find_lesson
from streamscope.desktop.presentation import CONTRAST, FONT_SCALE

FANOUT = find_lesson("fanout")
STEP_TIMEOUT = 90_000


def point_size(widget) -> float:
    return QFontInfo(widget.font()).pointSizeF()


def open_first_step(shell, qtbot) -> None:
    w = shell.window
    w.open_lesson("fanout")
    qtbot.waitUntil(lambda: shell.lessons.latest() is not None, timeout=15_000)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    focus = QApplication.focusWidget()
    if focus is not None:
        focus.clearFocus()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    wait_step(shell, qtbot, 0)


def wait_step(shell, qtbot, step: int) -> None:
    qtbot.waitUntil(
        lambda: shell.lessons.latest().step == step and not shell.lessons.busy()
        and shell.lessons.latest().status in ("done", "finished"),
        timeout=STEP_TIMEOUT,
    )


def chrome(w) -> dict[str, bool]:
    return {
        "menu bar": w.menuBar().isVisible(),
        "status bar": w.statusBar().isVisible(),
        "navigation": w.nav.isVisible(),
        "event log": w.dock.isVisible(),
        "lesson dock": w.lesson_dock.isVisible(),
        "banner": w.presentation.banner_dock.isVisible(),
    }


def layout(w) -> dict[str, object]:
    """Where the window's parts are, and how large."""
    parts = {"menu bar": w.menuBar(), "status bar": w.statusBar(), "navigation": w.nav,
             "event log": w.dock, "lesson dock": w.lesson_dock, "page": w.stack}
    return {name: part.geometry() for name, part in parts.items()}


def test_f5_presents_large_high_contrast_and_captioned_then_restores_it_all(
    app_shell, qtbot, tmp_path
):
    w = app_shell.window
    app = QApplication.instance()
    w.resize(1280, 720)
    open_first_step(app_shell, qtbot)
    w.show_event_log()
    qtbot.waitUntil(lambda: w.lesson_dock.isVisible() and w.dock.isVisible(), timeout=5000)
    before = chrome(w)
    assert before == {"menu bar": True, "status bar": True, "navigation": True,
                      "event log": True, "lesson dock": True, "banner": False}
    sheet, palette, theme = app.styleSheet(), app.palette(), app_shell.themes.theme
    page_font = point_size(w.log)
    caption_font = point_size(w.lesson_panel.caption)
    QApplication.processEvents()  # the docks laid out as shown
    laid_out = layout(w)

    w.presentation.fullscreen = False  # offscreen: keep the projector's 1280x720
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: w.presentation.active, timeout=5000)
    assert w.presentation.action.isChecked()
    assert chrome(w) == {"menu bar": False, "status bar": False, "navigation": False,
                         "event log": False, "lesson dock": False, "banner": True}
    # Large fonts, everywhere: the page's and the banner's.
    assert point_size(w.log) >= page_font * FONT_SCALE - 0.2
    banner = w.presentation.banner
    assert point_size(banner.caption) >= 18
    assert banner.caption.text() == FANOUT.steps[0].caption
    assert banner.heading.text() == f"{FANOUT.title}  \u00b7  step 1 of {len(FANOUT.steps)}"
    # High contrast: black on white, for every view (the theme they were handed).
    assert app_shell.themes.theme is CONTRAST
    assert app.palette().color(app.palette().ColorRole.WindowText) == QColor("#000000")
    assert app.palette().color(app.palette().ColorRole.Window) == QColor("#ffffff")

    # A grab at 1280x720: the page above, the caption across the bottom, uncut.
    w.resize(1280, 720)
    QApplication.processEvents()
    caption = banner.caption
    # No line of the caption cut off, once the banner is laid out at this width.
    qtbot.waitUntil(lambda: caption.height() >= caption.heightForWidth(caption.width()),
                    timeout=5000)
    path = tmp_path / "presentation.png"
    assert w.grab().save(str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1280, 720)
    top_of_banner = banner.mapTo(w, banner.rect().topLeft()).y()
    assert 360 < top_of_banner < 720 - 100  # at the bottom, tall enough for the caption
    dark = QColor(image.pixel(8, 716))
    assert dark.value() < 60  # the banner's dark band reaches the window's bottom edge

    # The lesson keys still work with the menu bar hidden; the banner follows.
    qtbot.keyClick(w, Qt.Key.Key_Right)
    wait_step(app_shell, qtbot, 1)
    qtbot.waitUntil(lambda: banner.caption.text() == FANOUT.steps[1].caption, timeout=5000)

    # F5 again: everything as it was.
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not w.presentation.active, timeout=5000)
    assert chrome(w) == before
    assert app.styleSheet() == sheet
    assert app.palette() == palette
    assert app_shell.themes.theme == theme
    assert point_size(w.log) == page_font
    assert point_size(w.lesson_panel.caption) == caption_font
    # The same docks at the same sizes, once the restored chrome is laid out.
    # The same chrome at the same places and sizes, once laid out again.
    qtbot.waitUntil(lambda: layout(w) == laid_out, timeout=5000)
    assert not w.presentation.action.isChecked()


def test_escape_leaves_presentation_mode_and_does_nothing_otherwise(app_shell, qtbot):
    w = app_shell.window
    open_first_step(app_shell, qtbot)
    w.presentation.fullscreen = False
    sheet = QApplication.instance().styleSheet()
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not w.presentation.active
    w.presentation.enter()
    assert w.presentation.active and not w.menuBar().isVisible()
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.presentation.active, timeout=5000)
    assert w.menuBar().isVisible() and w.statusBar().isVisible() and w.nav.isVisible()
    assert QApplication.instance().styleSheet() == sheet


def test_presentation_mode_is_in_the_view_menu_and_the_shortcut_list(app_shell):
    w = app_shell.window
    view_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
    assert w.presentation.action in view_menu.actions()
    shortcuts = dict(w.shortcuts())
    assert shortcuts["Presentation mode"] == "F5"
    assert shortcuts["Leave presentation mode"] == "Esc"
    assert shortcuts["Next step"] == "Right, PgDown"
    assert shortcuts["Previous step"] == "Left, PgUp"
