"""Widget set-up in one call: box layouts with their margins and spacing, object names.

Contract: plain Qt, no theme and no broker; shared by views and dialogs. Margins are
``(left, top, right, bottom)`` in pixels and default to none (a box nested in another
layout sits flush); spacing ``None`` keeps the style's. Object names are what the style
sheets (``resources/themes/*.qss``) select on: ``#Muted``, ``#SectionTitle`` ...
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QVBoxLayout, QWidget

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
