"""The frame shared by the views that administer a list (topics, consumer groups).

Contract: a toolbar of the view's actions with a filter box at its right end; a keyed
table that an empty-state hint replaces while it lists nothing; the selected row's title
and one-line summary as elided plain-text labels (names are the clients' data, never
markup); one non-modal dialog at a time (:class:`DialogSlot`), exposed as
``self.dialog`` for tests; and ``self.commands``, through which its actions reach the
broker. Subclasses build their own table, hint and details, call
:meth:`_update_empty` when the table's rows change, keep the latest ``self.snapshot``, and
say how to find a row's snapshot in it (``S``: a topic's, a group's) and how to delete one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QSizePolicy, QToolBar, QWidget
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.confirm_dialog import DeleteDialog
from streamscope.desktop.layout import named
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import DialogSlot, EmptyState, filter_box

D = TypeVar("D", bound=QDialog)
S = TypeVar("S")


class AdminView(QWidget, Generic[S]):
    """Base of a list-administering view; see the module docstring."""

    model: QAbstractItemModel
    table: KeyedTableView
    empty: EmptyState

    def __init__(self, commands: Commands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self.snapshot: ClusterSnapshot | None = None
        self._dialogs = DialogSlot()
        # A row created or started here, selected once a snapshot lists it.
        self._pending_select: str | None = None

    def _toolbar(self, actions: Iterable[QAction], filter_hint: str) -> QToolBar:
        """The view's toolbar; sets ``self.filter``, the filter box at its right end."""
        bar = named(QToolBar(), "ViewToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in actions:
            bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.filter = filter_box(filter_hint)
        self.filter.setMaximumWidth(240)
        bar.addWidget(self.filter)
        return bar

    def _detail_labels(self, placeholder: str, title_mode: Qt.TextElideMode) -> None:
        """Set ``self.detail_title`` and ``self.detail_info``: elided, so no name widens
        the window (an 80-character name once made its minimum width 1,776 px)."""
        self.detail_title = named(ElidedLabel(placeholder, mode=title_mode), "SectionTitle")
        self.detail_info = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")

    def selected_name(self) -> str | None:
        """The selected row's key (a topic name, a group id), if any."""
        key = self.table.selected_key()
        return str(key) if key is not None else None

    def selected_snapshot(self) -> S | None:
        """The selected row's snapshot, if a row is selected and the latest snapshot has it."""
        name = self.selected_name()
        if name is None or self.snapshot is None:
            return None
        return self._find(self.snapshot, name)

    def _find(self, snap: ClusterSnapshot, name: str) -> S | None:
        """The snapshot of the row keyed ``name`` in ``snap``."""
        raise NotImplementedError

    def _delete_dialog(self, selected: S) -> DeleteDialog:
        """The dialog that deletes what ``selected`` is the snapshot of."""
        raise NotImplementedError

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

    def _show_for(self, selected: S | None, dialog: Callable[[S], D]) -> D | None:
        """Shows ``dialog(selected)``, the dialog about the selected row's snapshot; nothing
        while no row is selected."""
        return None if selected is None else self._show(dialog(selected))

    def open_delete_dialog(self) -> DeleteDialog | None:
        """Asks to delete the selected topic or group (nothing while none is selected)."""
        return self._show_for(self.selected_snapshot(), self._delete_dialog)
