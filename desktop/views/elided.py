"""A one-line label that elides its text instead of widening the window.

Contract: :class:`ElidedLabel` shows plain text (never markup: it may hold names a client
chose or a path), elided in the middle or at the end to the width it is given, with the
full text as its tooltip whenever something is cut. Its minimum width is small and does
not depend on the text, so a long path or name can never raise the main window's minimum
size; its size hint is still the full text, so layouts give it room when they have it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QSizePolicy, QWidget
from streamscope.desktop import format as fmt


class ElidedLabel(QFrame):
    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        *,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
        min_chars: int = 8,
    ) -> None:
        super().__init__(parent)
        self._text = text
        self._mode = mode
        self._min_chars = min_chars
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._sync_tooltip()

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, a drop-in
        if text == self._text:
            return
        self._text = text
        self.updateGeometry()
        self._sync_tooltip()
        self.update()

    def elided_text(self) -> str:
        """What is painted at the current width."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self._text, self._mode, max(0, width))

    def is_elided(self) -> bool:
        return self.elided_text() != self._text

    def _sync_tooltip(self) -> None:
        self.setToolTip(fmt.plain_tooltip(self._text) if self.is_elided() else "")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        m = self.contentsMargins()
        fm = self.fontMetrics()
        return QSize(
            fm.horizontalAdvance(self._text) + m.left() + m.right() + 2,
            fm.height() + m.top() + m.bottom(),
        )

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        m = self.contentsMargins()
        fm = self.fontMetrics()
        return QSize(
            fm.averageCharWidth() * self._min_chars + m.left() + m.right(),
            fm.height() + m.top() + m.bottom(),
        )

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._sync_tooltip()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            self.elided_text(),
        )
