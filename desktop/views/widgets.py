"""Small shared widgets: stat cards, section headers, a copyable code block, empty states.

Contract: presentation only; no broker access, no timers. Object names match selectors in
``resources/themes/*.qss`` (``#StatCard``, ``#StatValue``, ``#SectionTitle`` ...).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPainter
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QWidget,
)
from streamscope.core.monitor import PartitionSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.theme import LIGHT, Theme, icon
from streamscope.desktop.views.charts import mono_font


class StatCard(QFrame):
    """A number with a caption (``Topics 12``)."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatCard")
        layout = vbox(self, (14, 10, 14, 10), spacing=2)
        self.caption = named(plain_label(caption.upper()), "StatCaption")
        self.value = named(plain_label("-"), "StatValue")
        self.detail = named(plain_label(""), "StatDetail")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set(self, value: str, detail: str = "") -> None:
        if self.value.text() != value:
            self.value.setText(value)
        if self.detail.text() != detail:
            self.detail.setText(detail)


def section_title(text: str) -> QLabel:
    return named(plain_label(text), "SectionTitle")


def filter_box(hint: str) -> QLineEdit:
    """A line edit to filter a list by, with a clear button."""
    box = QLineEdit()
    box.setPlaceholderText(hint)
    box.setClearButtonEnabled(True)
    return box


def text_toggle(text: str) -> QToolButton:
    """A checkable tool button showing only its text (a mode switch, an on/off filter)."""
    button = QToolButton()
    button.setText(text)
    button.setCheckable(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


def copy_button(text_source, tooltip: str = "Copy") -> QToolButton:
    """A tool button copying ``text_source()`` to the clipboard, briefly saying so."""
    button = QToolButton()
    button.setIcon(icon("copy"))
    button.setText("Copy")
    button.setToolTip(tooltip)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setAutoRaise(True)

    def copy() -> None:
        QGuiApplication.clipboard().setText(text_source())
        button.setText("Copied")
        QTimer.singleShot(1200, button, lambda: button.setText("Copy"))

    button.clicked.connect(copy)
    return button


class CodeBlock(QWidget):
    """Read-only monospaced text with a copy button in its corner."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = vbox(self, spacing=0)
        self.edit = named(QPlainTextEdit(), "CodeBlock")
        self.edit.setReadOnly(True)
        self.edit.setFont(mono_font())
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.edit.setPlainText(text)
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.copy = copy_button(self.edit.toPlainText, "Copy this snippet")
        bar.addWidget(self.copy)
        layout.addWidget(self.edit)
        layout.addLayout(bar)

    def set_text(self, text: str) -> None:
        if self.edit.toPlainText() != text:
            self.edit.setPlainText(text)


class Dot(QWidget):
    """A small filled circle: listener state in the status bar and overview."""

    def __init__(self, color: str = "#888888", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = QColor(color)
        self.setFixedSize(12, 12)

    def set_color(self, color: str) -> None:
        c = QColor(color)
        if c != self._color:
            self._color = c
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._color)
        p.drawEllipse(2, 2, 8, 8)


class ThemedCanvas(QWidget):
    """A widget that paints itself in ``self._theme`` and repaints when it changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()


class EmptyState(QLabel):
    """A muted, centred hint shown where a table or panel has nothing yet."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("EmptyState")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)

    def show_instead_of(self, table: QWidget, empty: bool) -> None:
        """Show this hint in place of ``table`` while there is nothing to list."""
        self.setVisible(empty)
        table.setVisible(not empty)


class StorageBanner(QLabel):
    """A red line naming partitions whose disk writes fail or that are offline, with the
    reasons (plain text: a reason may quote a path); hidden while every partition is ok."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("ErrorLabel")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hide()

    def show_problems(self, partitions: Sequence[PartitionSnapshot], with_topic: bool) -> None:
        """``partitions`` with a storage problem; ``with_topic`` names their topics too."""
        lines = []
        for p in partitions:
            if p.storage_problem is None:
                continue
            where = f"{p.topic}-{p.index}" if with_topic else f"Partition {p.index}"
            lines.append(f"{where} {p.storage_problem}")
        if not lines:
            self.setVisible(False)
            self.setToolTip("")
            return
        first = lines[0] if len(lines) == 1 else f"{lines[0]} (and {len(lines) - 1} more)"
        if all(p.storage_problem.startswith("unavailable")  # type: ignore[union-attr]
               for p in partitions if p.storage_problem is not None):
            # An external cluster's partition without a live leader, not a disk.
            text = (f"\u26a0 No leader: {first}. Producing to it and reading from it wait "
                    "until the cluster elects a leader; other partitions serve.")
        else:
            text = (f"\u26a0 Storage failing: {first}. Its producers and consumers get "
                    "KAFKA_STORAGE_ERROR until the disk recovers; other partitions serve.")
        if text != self.text():
            self.setText(text)
            self.setToolTip(fmt.plain_tooltip("\n".join(lines)))
        self.setVisible(True)


def table_over_details(
    table: QWidget, empty: QWidget, details: QWidget, stretch: tuple[int, int],
    sizes: tuple[int, int] | None = None,
) -> QSplitter:
    """A vertical splitter: the list (or its empty-state hint) above, details below.

    Without ``sizes`` the splitter shares its height by the stretch factors alone."""
    split = QSplitter(Qt.Orientation.Vertical)
    top = QWidget()
    tl = vbox(top)
    tl.addWidget(table, 1)
    tl.addWidget(empty, 1)
    split.addWidget(top)
    split.addWidget(details)
    split.setStretchFactor(0, stretch[0])
    split.setStretchFactor(1, stretch[1])
    if sizes is not None:
        split.setSizes(list(sizes))
    return split


class DialogSlot:
    """The one non-modal dialog a view has open: opening another closes it first.

    Dialogs are shown with ``open()`` (never ``exec()``, which would nest an event loop
    inside qasync) and deleted when they finish.
    """

    def __init__(self) -> None:
        self.current: QDialog | None = None

    def open(self, dialog: QDialog) -> None:
        if self.current is not None:
            self.current.close()
        self.current = dialog

        def finished(_result: int) -> None:
            if self.current is dialog:
                self.current = None
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()

