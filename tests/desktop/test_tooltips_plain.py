"""Tooltips show a name a client chose as typed, never as markup.

QToolTip renders any string that merely looks like markup as rich text, so a group id or
client id such as ``<b>x</b>`` would be drawn bold (or worse: an ``<img>``). Every
tooltip that can carry such a name goes through ``format.plain_tooltip``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from streamscope.desktop import format as fmt
from streamscope.desktop.models.events_model import EventsModel
from streamscope.desktop.views.elided import ElidedLabel

from tests.desktop.snapshots import event, snapshot

HOSTILE = "<b>bold</b><img src='x'>&amp;"


def shown_text(tooltip: str) -> str:
    """What a rich-text tooltip displays: the text Qt's document makes of it."""
    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText()


def test_plain_tooltip_displays_markup_as_typed_with_line_breaks():
    assert shown_text(fmt.plain_tooltip(HOSTILE + "\nline two")) == HOSTILE + "\nline two"


def test_an_event_tooltip_shows_a_group_id_as_typed(qtbot):
    model = EventsModel()
    message = f"Offsets of group {HOSTILE} reset"
    model.update(snapshot(events=[event(1, "offsets_reset", message)]))
    tip = model.index(0, EventsModel.MESSAGE).data(Qt.ItemDataRole.ToolTipRole)
    assert shown_text(tip) == message


def test_an_elided_label_tooltip_shows_its_text_as_typed(qtbot):
    label = ElidedLabel()
    qtbot.addWidget(label)
    label.setFixedWidth(40)
    label.setText(HOSTILE * 3)
    label.show()
    qtbot.waitUntil(label.is_elided)
    assert shown_text(label.toolTip()) == HOSTILE * 3
