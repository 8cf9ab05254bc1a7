"""The frame shared by the views that administer a list (topics, consumer groups).

Contract: a toolbar of the view's actions with a filter box at its right end; a keyed
table that an empty-state hint replaces while it lists nothing; the selected row's title
and one-line summary as elided plain-text labels (names are the clients' data, never
markup); and one non-modal dialog at a time (:class:`DialogSlot`), exposed as
``self.dialog`` for tests. Subclasses build their own table, hint and details and call
:meth:`_update_empty` when the table's rows change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLineEdit, QSizePolicy, QToolBar, QWidget
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import DialogSlot, EmptyState

D = TypeVar("D", bound=QDialog)


class AdminView(QWidget):
    """Base of a list-administering view; see the module docstring."""

    model: QAbstractItemModel
    table: KeyedTableView
    empty: EmptyState

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dialogs = DialogSlot()
        # A row created or started here, selected once a snapshot lists it.
        self._pending_select: str | None = None

    def _toolbar(self, actions: Iterable[QAction], filter_hint: str) -> QToolBar:
        """The view's toolbar; sets ``self.filter``, the filter box at its right end."""
        bar = QToolBar()
        bar.setObjectName("ViewToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in actions:
            bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(filter_hint)
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(240)
        bar.addWidget(self.filter)
        return bar

    def _detail_labels(self, placeholder: str, title_mode: Qt.TextElideMode) -> None:
        """Set ``self.detail_title`` and ``self.detail_info``: elided, so no name widens
        the window (an 80-character name once made its minimum width 1,776 px)."""
        self.detail_title = ElidedLabel(placeholder, mode=title_mode)
        self.detail_title.setObjectName("SectionTitle")
        self.detail_info = ElidedLabel("", mode=Qt.TextElideMode.ElideRight)
        self.detail_info.setObjectName("Muted")

    def selected_name(self) -> str | None:
        """The selected row's key (a topic name, a group id), if any."""
        key = self.table.selected_key()
        return str(key) if key is not None else None

    def _update_empty(self) -> None:
        # The source model's rows: a filter that hides every row is not "nothing yet".
        self.empty.show_instead_of(self.table, self.model.rowCount() == 0)

    @property
    def dialog(self) -> QDialog | None:
        """The dialog this view has open, if any (tests drive it)."""
        return self._dialogs.current

    def _show(self, dialog: D) -> D:
        self._dialogs.open(dialog)
        return dialog
