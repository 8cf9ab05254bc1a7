"""Help for the Log and Messages pages (issue 11): F1 on either page opens the help at its
section, and the sections explain what those pages draw in Kafka's terms.

On the real app over a real broker (Qt offscreen), as the existing F1 test does; the
section contents are checked on the dialog itself.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from streamscope.desktop.dialogs.help_dialog import SECTIONS, HelpDialog
from streamscope.desktop.main_window import VIEW_KEYS


def top_line(dialog: HelpDialog) -> str:
    """The text of the line at the top of the help page's visible area."""
    browser = dialog.browser
    cursor = browser.cursorForPosition(QPoint(4, 4))
    return cursor.block().text().strip()


def section_text(anchor: str) -> str:
    return next(text for key, _title, text in SECTIONS if key == anchor)


def test_every_page_of_the_main_window_has_a_help_section():
    anchors = [key for key, _title, _text in SECTIONS]
    assert len(anchors) == len(set(anchors))
    for key in VIEW_KEYS:
        assert key in anchors, key


@pytest.mark.parametrize(
    ("anchor", "terms"),
    [
        (
            "log",
            (
                "lane", "log start offset", "segment", "high watermark", "tokens",
                "key", "committed offset", "lag", "read position", "Fetch",
                "read, not committed", "deliver", "again", "Follow tail", "Whole log",
                "zoom", "messages per second",
            ),
        ),
        (
            "messages",
            (
                "seek", "earliest", "offset", "ListOffsets", "Next page", "decoded",
                "msgpack", "JSON", "hex", "headers", "Live tail", "filter", "header",
                "Export", "JSON Lines", "CSV", "base64", "DeleteRecords",
            ),
        ),
    ],
)
def test_log_and_messages_sections_explain_their_page_in_kafka_terms(qtbot, anchor, terms):
    dialog = HelpDialog([("Help", "F1")], "1.2.3")
    qtbot.addWidget(dialog)
    text = dialog.text()
    title = next(t for key, t, _ in SECTIONS if key == anchor)
    assert title in text
    body = section_text(anchor)
    for term in terms:
        assert term in body, term
    # The rendered page carries the section (markup resolved, nothing escaped twice).
    assert "read, not committed" in text and "JSON Lines" in text


def test_f1_on_the_log_and_messages_pages_opens_help_at_their_section(app_shell, qtbot):
    w = app_shell.window
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    positions = {}
    for page, title in (("log", "Log"), ("messages", "Messages"), ("overview", "Overview")):
        w.show_view(page)
        assert w.current_view() == page
        if w.help_dialog is not None:
            w.help_dialog.close()
            w.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
        qtbot.keyClick(w, Qt.Key.Key_F1)
        qtbot.waitUntil(
            lambda: w.help_dialog is not None and w.help_dialog.isVisible(), timeout=5000
        )
        dialog = w.help_dialog
        qtbot.waitUntil(lambda d=dialog, t=title: top_line(d) == t, timeout=5000)
        positions[page] = dialog.browser.verticalScrollBar().value()
    # Each page's section is its own place on the help page, in the navigation's order.
    assert positions["overview"] < positions["log"] < positions["messages"]
    w.help_dialog.close()
