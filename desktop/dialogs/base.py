"""The shared shape of every command dialog: a form, an inline error line, OK/Cancel.

Contract: a subclass builds its fields into ``self.form``, implements :meth:`validate`
(returns the reason the input is unusable, or ``None``) and :meth:`run` (starts exactly
one command and passes it ``self.finish`` as the callback). Validation runs live; OK is
enabled only for valid input. Pressing OK never closes the dialog by itself: it closes
when the broker says yes; a refusal (``CODE_NAME: message``) is shown inline and the
dialog stays open with the input intact. Dialogs are opened with ``open()``, never
``exec()`` (the GUI loop also runs asyncio through qasync).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPushButton,
    QWidget,
)
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import named, plain_label, vbox


class CommandDialog(QDialog):
    ok_text = "OK"

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(440)
        self.result_value: Any = None
        self.busy = False
        layout = vbox(self, (18, 16, 18, 14), spacing=10)
        self.intro = named(plain_label(""), "DialogIntro")
        self.intro.setWordWrap(True)
        self.intro.hide()
        layout.addWidget(self.intro)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        layout.addLayout(self.form)
        self.hint = named(plain_label(""), "HintLabel")
        self.hint.setWordWrap(True)
        self.hint.hide()
        layout.addWidget(self.hint)
        self.error = named(plain_label(""), "ErrorLabel")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.ok_text)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def set_intro(self, text: str) -> None:
        self.intro.setText(text)
        self.intro.setVisible(bool(text))

    # -- to implement --------------------------------------------------------------------

    def validate(self) -> str | None:
        return None

    def run(self) -> None:
        raise NotImplementedError

    # -- flow ----------------------------------------------------------------------------

    def revalidate(self, *_: object) -> None:
        """Connect every field's change signal here."""
        reason = self.validate()
        self.hint.setText(reason or "")
        self.hint.setVisible(bool(reason))
        self.ok_button.setEnabled(reason is None and not self.busy)
        if self.error.isVisible():
            self.error.hide()  # the input changed: the old refusal no longer applies

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def accept(self) -> None:
        if self.busy:
            return
        reason = self.validate()
        if reason is not None:
            self.show_error(reason)
            return
        self.busy = True
        self.ok_button.setEnabled(False)
        self.error.hide()
        try:
            self.run()
        except Exception as exc:  # a command that could not even be sent
            self.finish(None, exc)

    def finish(self, result: Any, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self.show_error(error_text(error))
            self.ok_button.setEnabled(self.validate() is None)
            return
        self.result_value = result
        super().accept()
