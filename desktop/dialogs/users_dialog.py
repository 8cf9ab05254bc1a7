"""The broker's users, from the GUI (Broker > Users…): list, add, remove.

Contract: every call to the user store (:class:`core.auth.users.UserStore` on
``<data_dir>/users.json``: file I/O and SCRAM key derivation) runs on a worker thread
through ``run_in_worker(fn, on_done)`` (:meth:`desktop.commands.Commands.in_worker`);
answers come back on the GUI thread, and the list is reloaded after each change. The
broker re-reads the file before each authentication, so a user added here can log in at
once. Adding is validated inline before it can be submitted (a usable name, a password,
the same password twice); the password fields are cleared once sent, and a password
never reaches a label, a tooltip or the settings. Names are shown as typed (plain text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from streamscope.core.auth import UserRecord, UserStore
from streamscope.core.auth.users import check_user_name
from streamscope.desktop.broker_service import OnDone
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.views.widgets import section_title

RunInWorker = Callable[[Callable[[], Any], OnDone], None]
USERS_FILE = "users.json"


def mechanisms_text(record: UserRecord) -> str:
    return ", ".join(record.mechanisms) or "-"


class UsersDialog(QDialog):
    def __init__(
        self,
        data_dir: Path,
        run_in_worker: RunInWorker,
        mechanisms: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        """``mechanisms``: what the running broker requires (empty: no authentication)."""
        super().__init__(parent)
        self.setWindowTitle("Users")
        self.setMinimumWidth(520)
        self.store_path = Path(data_dir) / USERS_FILE
        self._run = run_in_worker
        self.busy = False
        self.users: list[UserRecord] = []
        self.loaded = False  # the list has been read at least once

        layout = vbox(self, (18, 16, 18, 14), spacing=10)
        if mechanisms:
            state = (f"The broker requires authentication ({', '.join(mechanisms)}): clients "
                     "log in as one of these users.")
        else:
            state = ("The broker requires no authentication now: these users are needed once "
                     "it does (Broker > Listen address…).")
        self.intro = named(plain_label(
            f"{state} Passwords are kept only as salted SCRAM credentials in "
            f"{self.store_path}."
        ), "DialogIntro")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(("User", "Mechanisms"))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(140)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.empty = named(plain_label("Loading users…"), "Muted")
        self.remove_button = QPushButton("Remove user")
        self.remove_button.setEnabled(False)
        row.addWidget(self.empty, 1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)

        layout.addWidget(section_title("Add a user"))
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        self.name = QLineEdit()
        self.name.setPlaceholderText("user name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Name", self.name)
        form.addRow("Password", self.password)
        form.addRow("Password again", self.repeat)
        layout.addLayout(form)
        self.hint = named(plain_label(""), "HintLabel")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.error = named(plain_label(""), "ErrorLabel")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.add_button = buttons.addButton("Add user", QDialogButtonBox.ButtonRole.ActionRole)
        self.add_button.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.add_button.clicked.connect(self.add_user)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        for edit in (self.name, self.password, self.repeat):
            edit.textChanged.connect(self.revalidate)
        self.revalidate()
        self.reload()

    # -- the store, off the GUI thread -------------------------------------------------------

    def _store(self) -> UserStore:
        return UserStore(self.store_path)

    def _start(self, fn: Callable[[], Any], then: Callable[[Any], None]) -> None:
        self.busy = True
        self._sync_buttons()

        def done(result: Any, error: BaseException | None) -> None:
            self.busy = False
            if error is not None:
                self.show_error(error_text(error))
            else:
                then(result)
            self._sync_buttons()

        self._run(fn, done)

    def reload(self) -> None:
        self._start(lambda: self._store().list(), self._show_users)

    def add_user(self) -> None:
        if not self._can_add() or self.busy:
            return
        name, password = self.name.text(), self.password.text()
        self.password.clear()  # not kept in the dialog once sent
        self.repeat.clear()
        self.error.hide()

        def added(_result: Any) -> None:
            self.name.clear()
            self.reload()

        self._start(lambda: self._store().add(name, password), added)

    def remove_selected(self) -> None:
        name = self.selected_user()
        if name is None or self.busy:
            return
        self.error.hide()
        self._start(lambda: self._store().remove(name), lambda _removed: self.reload())

    # -- display -------------------------------------------------------------------------

    def _show_users(self, users: list[UserRecord]) -> None:
        selected = self.selected_user()
        self.users = list(users)
        self.loaded = True
        self.table.setRowCount(len(users))
        for i, record in enumerate(users):
            # QTableWidgetItem text is plain: a name is shown as typed.
            self.table.setItem(i, 0, QTableWidgetItem(record.name))
            self.table.setItem(i, 1, QTableWidgetItem(mechanisms_text(record)))
            if record.name == selected:
                self.table.selectRow(i)
        self.empty.setText("No users yet." if not users else
                           f"{len(users)} user{'s' if len(users) != 1 else ''}")

    def user_names(self) -> list[str]:
        return [u.name for u in self.users]

    def selected_user(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def validate(self) -> str | None:
        """Why the user cannot be added yet, or None."""
        name = self.name.text()
        if not name:
            return "Type a user name."
        try:
            check_user_name(name)
        except ValueError as exc:
            return f"Not a usable name: {exc}."
        if not self.password.text():
            return "Type a password."
        if self.password.text() != self.repeat.text():
            return "The two passwords differ."
        if name in self.user_names():
            return f"{name} exists: adding sets a new password."
        return None

    def revalidate(self, *_: object) -> None:
        reason = self.validate()
        # A new password for an existing user is allowed; the hint says so.
        self.hint.setText(reason or "")
        self.hint.setVisible(bool(reason))
        self._sync_buttons()

    def _can_add(self) -> bool:
        reason = self.validate()
        return reason is None or reason.endswith("adding sets a new password.")

    def _sync_buttons(self) -> None:
        self.add_button.setEnabled(not self.busy and self._can_add())
        self.remove_button.setEnabled(not self.busy and self.selected_user() is not None)
        self.table.setEnabled(not self.busy or not self.loaded)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Return adds (when it can) rather than closing the dialog.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.add_user()
            return
        super().keyPressEvent(event)
