"""How the Messages page and the Produce dialog share out their room (issue 11 polish).

The real app at 1280x720 on a real broker, fed by a real confluent-kafka producer: in the
message table the value column gets the width and the headers column stays narrow; the
detail pane shows the key, the decoded value and every header at once (no tab to click),
headers as plain text; the filter combo has a visible label. The Produce dialog's value
editor shows ten lines at the dialog's default size and takes the height it gains.
"""

from __future__ import annotations

import json

import msgpack
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget
from streamscope.desktop.dialogs.produce_dialog import VALUE_LINES
from streamscope.desktop.models.records_model import COLUMNS, HEADERS, VALUE

from tests.desktop.helpers import create_topic
from tests.desktop.test_browser_view import ORDER, produce
from tests.desktop.test_produce_dialog import open_dialog, topic_listed

pytestmark = pytest.mark.timeout(120)

HEADERS_SENT = [("content-type", b"application/msgpack"), ("trace-id", b"<b>t-0001</b>"),
                ("source", b"checkout")]
BARE_OFFSET = 20  # the one record produced without headers, after 20 with them


def rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    """``widget``'s rectangle in ``ancestor``'s coordinates."""
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def on_screen(widget: QWidget, ancestor: QWidget) -> bool:
    """Shown, with some height, and wholly inside ``ancestor`` (not clipped by it)."""
    return (widget.isVisible() and widget.height() > 0
            and ancestor.rect().contains(rect_in(widget, ancestor)))


@pytest.fixture
def messages(app_shell, qtbot):
    """The Messages page of the real window at 1280x720 on the records of a real producer
    (20 with headers, then one without), from offset 3, selected and decoded."""
    w = app_shell.window
    w.resize(1280, 720)
    create_topic(app_shell, qtbot, "payments", partitions=1)
    produce(app_shell, [dict(topic="payments", key=b"customer-%d" % i,
                             value=msgpack.packb({**ORDER, "order": i}), headers=HEADERS_SENT)
                        for i in range(BARE_OFFSET)]
            + [dict(topic="payments", key=b"bare", value=b"no headers")])
    # On screen first: the window refreshes only the page shown (issue 11 profiling).
    w.show_view("messages")
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: "payments" in w.browser.topics(), timeout=10_000)
    w.show_record("payments", 0, 3)
    view = w.browser
    qtbot.waitUntil(lambda: view.model.rowCount() > 3 and not view.busy
                    and view.detail is not None and view.detail.record.offset == 3,
                    timeout=20_000)
    return view


def test_the_value_column_takes_the_width_and_the_headers_column_stays_narrow(messages):
    table = messages.table
    widths = {name: table.columnWidth(i) for i, name in enumerate(COLUMNS)}
    assert max(widths, key=widths.get) == "Value", widths
    assert table.columnWidth(VALUE) >= 2 * table.columnWidth(HEADERS), widths
    # The whole table fits: no horizontal scrolling to reach the value's end.
    assert table.horizontalScrollBar().maximum() == 0


def test_the_detail_pane_shows_key_value_and_every_header_at_once(messages, qtbot):
    pane = messages.value_text.parentWidget()
    boxes = (messages.key_text, messages.value_text, messages.headers_text)
    for box in boxes:
        assert on_screen(box, pane)
    key, value, headers = (rect_in(b, pane) for b in boxes)
    assert key.bottom() < value.top() and value.bottom() < headers.top()  # stacked

    assert messages.key_text.toPlainText() == "customer-3"
    assert json.loads(messages.value_text.toPlainText()) == {**ORDER, "order": 3}
    # Every header, name and value, as typed (a value that looks like markup included).
    assert messages.headers_text.toPlainText() == (
        "content-type: application/msgpack\ntrace-id: <b>t-0001</b>\nsource: checkout"
    )
    assert messages.headers_title.text() == "Headers (3)"
    # All three lines are shown: the box needs no scrolling, and the value has the room.
    assert messages.headers_text.verticalScrollBar().maximum() == 0
    assert messages.value_text.height() > messages.headers_text.height()
    line = messages.value_text.fontMetrics().lineSpacing()
    assert messages.value_text.viewport().height() >= 6 * line  # even with the event log open

    # A record without headers says so, and the box shrinks to that one line.
    three_lines = messages.headers_text.height()
    last = messages.model.rowCount() - 1
    assert messages.model.records()[last].offset == BARE_OFFSET
    messages.table.setCurrentIndex(messages.model.index(last, 0))
    qtbot.waitUntil(lambda: messages.detail is not None
                    and messages.detail.record.offset == BARE_OFFSET, timeout=10_000)
    assert messages.headers_text.toPlainText() == "(no headers)"
    assert messages.headers_title.text() == "Headers (0)"
    assert messages.headers_text.height() < three_lines


def test_the_filter_combo_has_a_label_and_the_field_says_what_it_matches(messages):
    label, combo, field = messages.filter_label, messages.filter_mode, messages.filter_edit
    assert label.isVisible() and label.text() == "Filter by" and label.buddy() is combo
    assert label.geometry().right() < combo.geometry().left() < field.geometry().left()
    hints = set()
    for mode in ("text", "key", "header"):
        messages.set_filter(mode, "")
        hints.add(field.placeholderText())
    assert len(hints) == 3
    assert "name=value" in field.placeholderText()  # the header mode's


def test_the_produce_value_editor_shows_ten_lines_and_grows_with_the_dialog(app_shell, qtbot):
    app_shell.window.show_view("topics")  # the window refreshes only the page shown
    topic_listed(app_shell, qtbot, "rides", 1)
    dialog = open_dialog(app_shell, qtbot, "rides")
    value, headers = dialog.value, dialog.headers
    line = value.fontMetrics().lineSpacing()
    margin = value.document().documentMargin()
    assert value.viewport().height() >= VALUE_LINES * line + 2 * margin
    before_value, before_headers = value.height(), headers.height()

    dialog.resize(dialog.width(), dialog.height() + 200)
    qtbot.waitUntil(lambda: value.height() > before_value, timeout=2000)
    assert value.height() >= before_value + 190  # nearly all of it goes to the value
    assert headers.height() == before_headers
    dialog.reject()
