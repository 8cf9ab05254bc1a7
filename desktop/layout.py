"""Widget set-up in one call: box layouts with their margins and spacing, object names.

Contract: plain Qt, no theme and no broker; shared by views and dialogs. Every label is
made here (:func:`plain_label`): plain text, so a name a client chose is never markup. Margins are
``(left, top, right, bottom)`` in pixels and default to none (a box nested in another
layout sits flush); spacing ``None`` keeps the style's. Object names are what the style
sheets (``resources/themes/*.qss``) select on: ``#Muted``, ``#SectionTitle`` ...
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

Margins = tuple[int, int, int, int]
FLUSH: Margins = (0, 0, 0, 0)
Q = TypeVar("Q", bound=QObject)


def named(obj: Q, name: str) -> Q:
    """``obj``, with its object name set to ``name``."""
    obj.setObjectName(name)
    return obj


def _set_up(box: QBoxLayout, margins: Margins, spacing: int | None) -> None:
    box.setContentsMargins(*margins)
    if spacing is not None:
        box.setSpacing(spacing)


def vbox(owner: QWidget, margins: Margins = FLUSH, spacing: int | None = None) -> QVBoxLayout:
    """``owner``'s layout: a column."""
    box = QVBoxLayout(owner)
    _set_up(box, margins, spacing)
    return box


def hbox(owner: QWidget, margins: Margins = FLUSH, spacing: int | None = None) -> QHBoxLayout:
    """``owner``'s layout: a row."""
    box = QHBoxLayout(owner)
    _set_up(box, margins, spacing)
    return box


# -- text ------------------------------------------------------------------------------
#
# A QLabel left at Qt's default (``AutoText``) renders its text as rich text whenever it
# merely looks like markup (``Qt::mightBeRichText``): a client id or group id of
# ``<h1 style="color:red">x</h1>`` would be drawn as a red heading. So every label in the
# app is made here: :func:`plain_label` for anything (it may carry a name a client
# chose), :func:`designed_rich_text` only for our own static HTML. The rule is checked
# by tests/desktop/test_markup.py: in the source, ``QLabel(`` and
# ``TextFormat.RichText`` appear only in this module (and the two classes it names in
# ``RICH_TEXT_OWNERS``); at run time, every label in the window is plain text unless it
# carries :data:`DESIGNED_RICH_TEXT`.

DESIGNED_RICH_TEXT = "designedRichText"  # a QLabel property: our HTML, no client data
# Classes that build rich text themselves, escaping every name they interpolate
# (html.escape): the chart legend.
RICH_TEXT_OWNERS = ("desktop/views/charts.py",)


def plain_label(text: str = "", name: str | None = None) -> QLabel:
    """A label that shows ``text`` exactly as typed (``Qt.TextFormat.PlainText``)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name is not None:
        label.setObjectName(name)
    return label


def designed_rich_text(label: QLabel, html_text: str = "") -> QLabel:
    """``label`` showing our own static HTML (help text, About): never data a client
    chose. Marked with :data:`DESIGNED_RICH_TEXT` so the markup test can tell it apart."""
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setProperty(DESIGNED_RICH_TEXT, True)
    if html_text:
        label.setText(html_text)
    return label


def plain_message_box(box: QMessageBox) -> QMessageBox:
    """``box`` with its text shown as typed: an error text may quote a name or address."""
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box
