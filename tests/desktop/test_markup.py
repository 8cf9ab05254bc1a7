"""Data a client chose is never rendered as markup, anywhere in the window.

Issue 13: labels used Qt's automatic rich-text detection, so a client id of
``<h1 style="color:red">...</h1>`` drew as a large red heading. Here a real client joins
the real app with markup in its client id and its group id; then every label in the main
window (views, docks, status bar), every tooltip, every table cell's tooltip, the event
log and the dialogs about that group are checked: none renders the markup. The source
rule that keeps it so (labels are made by ``layout.plain_label``; rich text only through
``layout.designed_rich_text`` or the escaping chart legend) is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from PySide6 import QtGui
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLineEdit, QMessageBox, QWidget
from streamscope.desktop import layout
from streamscope.desktop.views.charts import ChartLegend
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import KeyedTableView

from tests.desktop.helpers import create_topic

MARKUP = '<h1 style="color:red">pwned</h1>'
CLIENT_ID = MARKUP
GROUP_ID = MARKUP + "-group"
DESKTOP = Path(layout.__file__).resolve().parent


def renders_rich(label: QLabel) -> bool:
    """Whether Qt draws this label's text as rich text."""
    fmt = label.textFormat()
    if fmt == Qt.TextFormat.RichText:
        return True
    return fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(label.text())


def shown_text(rich: str) -> str:
    """What a rich-text string (a tooltip, a rich label) displays."""
    doc = QTextDocument()
    doc.setHtml(rich)
    return doc.toPlainText()


def markup_shown_as_typed(rich: str) -> bool:
    """A rich string that displays our marker displays the whole markup literally."""
    shown = shown_text(rich)
    return "pwned" not in shown or MARKUP in shown


def label_problems(root: QWidget) -> list[str]:
    problems = []
    for label in root.findChildren(QLabel):
        if not renders_rich(label):
            continue
        designed = bool(label.property(layout.DESIGNED_RICH_TEXT))
        if not (designed or isinstance(label, ChartLegend)):
            problems.append(f"{label.objectName() or type(label).__name__}: rich text "
                            f"{label.text()[:60]!r}")
        elif not markup_shown_as_typed(label.text()):
            problems.append(f"{label.objectName()}: markup rendered in {label.text()[:60]!r}")
    return problems


def tooltip_problems(root: QWidget) -> list[str]:
    problems = []
    for widget in [root, *root.findChildren(QWidget)]:
        tip = widget.toolTip()
        if "pwned" in tip and not markup_shown_as_typed(tip):
            problems.append(f"{type(widget).__name__} tooltip {tip[:60]!r}")
    for view in root.findChildren(QAbstractItemView):
        model = view.model()
        if model is None:
            continue
        for row in range(min(model.rowCount(QModelIndex()), 200)):
            # Cells up to the first invalid column (list models hide columnCount).
            for col in range(40):
                index = model.index(row, col)
                if not index.isValid():
                    break
                # A keyed table asks its model for a tooltip when one is shown.
                tip = (view.cell_tooltip(index) if isinstance(view, KeyedTableView)
                       else index.data(Qt.ItemDataRole.ToolTipRole))
                if isinstance(tip, str) and "pwned" in tip and not markup_shown_as_typed(tip):
                    problems.append(f"{type(model).__name__}[{row},{col}] tooltip {tip[:60]!r}")
    return problems


def texts_shown(root: QWidget) -> str:
    """Every label's and elided label's text, to check the names are shown at all."""
    parts = [label.text() for label in root.findChildren(QLabel)]
    parts += [label.text() for label in root.findChildren(ElidedLabel)]
    return "\n".join(parts)


# -- the source rule ---------------------------------------------------------------------


def _sources() -> list[tuple[str, str]]:
    return [
        (p.relative_to(DESKTOP.parent).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted(DESKTOP.rglob("*.py"))
    ]


def test_labels_are_made_plain_and_rich_text_only_where_designed():
    owners = {"desktop/layout.py", *layout.RICH_TEXT_OWNERS}
    labels = [name for name, text in _sources()
              if "QLabel(" in text and name != "desktop/layout.py"]
    rich = [name for name, text in _sources()
            if "TextFormat.RichText" in text and name not in owners]
    assert labels == [], "make labels with layout.plain_label"
    assert rich == [], "rich text only through layout.designed_rich_text"
    # HTML documents: only the help text (static, the version escaped).
    html_docs = [name for name, text in _sources() if "setHtml(" in text]
    assert html_docs == ["desktop/dialogs/help_dialog.py"]
    # A message box shows its text as typed, except the About box (static HTML, version).
    boxes = []
    for name, text in _sources():
        for line in text.splitlines():
            if re.search(r"\bQMessageBox\(", line) and "plain_message_box(" not in line:
                boxes.append((name, line.strip()))
    assert boxes == [("desktop/main_window.py", "box = QMessageBox(self)")]


def test_plain_message_box_shows_markup_as_typed(qtbot):
    box = layout.plain_message_box(QMessageBox())
    qtbot.addWidget(box)
    box.setText(MARKUP)
    assert box.textFormat() == Qt.TextFormat.PlainText


def test_plain_label_shows_markup_as_typed_where_a_default_label_would_not(qtbot):
    label = layout.plain_label(MARKUP)
    default = QLabel(MARKUP)  # what every view used before: Qt's automatic detection
    qtbot.addWidget(label)
    qtbot.addWidget(default)
    assert not renders_rich(label)
    assert renders_rich(default)


# -- the real app, a real client with markup in its ids -------------------------------------


@pytest.fixture
def markup_client(app_shell, qtbot):
    """A producer and a group consumer whose client id and group id are markup."""
    shell = app_shell
    bootstrap = shell.ticker.snapshot.broker.bootstrap
    create_topic(shell, qtbot, "orders", 2)
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": CLIENT_ID})
    producer.produce("orders", key=MARKUP.encode(), value=MARKUP.encode(),
                     headers=[(MARKUP, MARKUP.encode())])
    producer.flush(15)
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": CLIENT_ID, "group.id": GROUP_ID,
        "auto.offset.reset": "earliest", "enable.auto.commit": True,
        "auto.commit.interval.ms": 100,
    })
    consumer.subscribe(["orders"])

    def joined() -> bool:
        consumer.poll(0.05)
        snap = shell.ticker.snapshot
        group = snap.group(GROUP_ID) if snap is not None else None
        return group is not None and bool(group.members)

    try:
        qtbot.waitUntil(joined, timeout=30_000)
        yield shell, consumer
    finally:
        consumer.close()


def visit_everything(shell, qtbot) -> None:
    """Show every view with the latest snapshot, the markup group and client selected."""
    window = shell.window
    window.resize(1280, 720)
    window.show()
    shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: any(r[1].startswith("Member") for r in window.event_log.row_texts())
                    or len(window.event_log.row_texts()) > 3, timeout=10_000)
    for key in window.views:
        window.show_view(key)  # brings the view up to date from the latest snapshot
    assert window.select_group(GROUP_ID)
    window.show_view("clients")
    clients = window.clients
    qtbot.waitUntil(lambda: clients.model.rowCount() > 0, timeout=5000)
    conn = next(c for c in shell.ticker.snapshot.connections if c.client_id == CLIENT_ID)
    assert clients.table.select_key(conn.conn_id)


def test_no_label_tooltip_or_dialog_renders_a_client_or_group_id_as_markup(
    markup_client, qtbot
):
    shell, _consumer = markup_client
    visit_everything(shell, qtbot)
    window = shell.window
    # The message browser on the record whose key, value and header are markup.
    window.browse_messages("orders")
    browser = window.browser
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=10_000)
    browser.table.setCurrentIndex(browser.model.index(0, 0))
    qtbot.waitUntil(lambda: browser.key_text.toPlainText() == MARKUP, timeout=5000)
    assert browser.value_text.toPlainText() == MARKUP
    assert MARKUP in browser.headers_text.toPlainText()
    window.show_view("clients")
    shown = texts_shown(window)
    assert CLIENT_ID in shown, "the client id is shown (as typed)"
    assert GROUP_ID in shown, "the group id is shown (as typed)"
    assert label_problems(window) == []
    assert tooltip_problems(window) == []
    # The event log names the group as typed, row text and tooltip.
    rows = window.event_log.row_texts()
    assert any(GROUP_ID in text for _kind, text in rows)

    # A dialog about the group (delete: it names the group) shows it as typed.
    window.show_view("groups")
    dialog = window.groups.open_delete_dialog()
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert label_problems(dialog) == []
    assert tooltip_problems(dialog) == []
    edits = [w.text() for w in dialog.findChildren(QLineEdit)]
    assert GROUP_ID in texts_shown(dialog) + "\n".join(edits)
    dialog.reject()


