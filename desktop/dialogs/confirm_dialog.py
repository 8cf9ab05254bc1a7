"""Confirm a destructive command (delete a topic, delete a group) and run it.

Contract: the command runs only after the user presses the destructive button. Cancel is
the default button and has the focus, and the destructive button is never a default, so
Enter (from any field) cancels and never destroys. :class:`DeleteDialog` also asks for
the name to be typed, as Kafka GUIs do: the delete button stays disabled until the typed
text equals the name exactly, and even a forced ``accept()`` sends nothing before that.
A refusal is shown inline (the dialog stays open); success closes it. Names are data a
client chose: they are shown as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QPushButton, QWidget
from streamscope.desktop.broker_service import OnDone
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.dialogs.fields import name_field
from streamscope.desktop.layout import named, plain_label

# Window titles are one line in the title bar: longer names are cut there (shown whole below).
_TITLE_CHARS = 60


def _repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after an object-name change (``#DangerButton``)."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


class ConfirmDialog(CommandDialog):
    """Yes/no for a destructive command; ``text`` may be rich text the caller escaped."""

    def __init__(
        self,
        title: str,
        text: str,
        action_text: str,
        command: Callable[[OnDone], None],
        parent: QWidget | None = None,
    ) -> None:
        self.ok_text = action_text
        super().__init__(title, parent)
        self.setObjectName("ConfirmDialog")
        self.ok_button.setObjectName("DangerButton")
        # Enter must never destroy: the danger button is no default, not even when focused.
        self.ok_button.setDefault(False)
        self.ok_button.setAutoDefault(False)
        _repolish(self.ok_button)
        self.cancel_button: QPushButton = self.buttons.button(
            QDialogButtonBox.StandardButton.Cancel
        )
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()
        self.set_intro(text)
        self._command = command
        self.revalidate()

    def run(self) -> None:
        self._command(self.finish)


class DeleteDialog(ConfirmDialog):
    """Delete the ``kind`` (``"topic"``, ``"group"``) named ``name`` once the name is typed."""

    # Until the field exists (the base class validates while it builds), nothing is typed.
    confirm: QLineEdit | None = None

    def __init__(
        self,
        kind: str,
        name: str,
        consequences: str,
        command: Callable[[OnDone], None],
        *,
        warning: str = "",
        parent: QWidget | None = None,
    ) -> None:
        self.kind = kind
        self.target = name
        short = name if len(name) <= _TITLE_CHARS else name[: _TITLE_CHARS - 1] + "…"
        super().__init__(
            f"Delete {kind} {short}?", consequences, f"Delete {kind}", command, parent
        )
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.name_field = name_field(name)
        self.confirm = QLineEdit()
        self.confirm.setMaxLength(max(len(name), 1) + 50)
        self.form.addRow(kind.capitalize(), self.name_field)
        self.form.addRow("Type its name", self.confirm)
        self.warning = named(plain_label(warning), "ErrorLabel")
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setWordWrap(True)
        self.warning.setVisible(bool(warning))
        self.layout().insertWidget(self.layout().indexOf(self.hint), self.warning)
        self.confirm.textChanged.connect(self.revalidate)
        self.revalidate()
        # Typing is the next thing to do; Enter there still goes to Cancel (the default).
        self.confirm.setFocus()

    def validate(self) -> str | None:
        typed = self.confirm.text() if self.confirm is not None else ""
        if typed != self.target:
            # Not the name itself: a long one would widen the dialog (it is shown above).
            return f"Type the {self.kind} name exactly as shown to enable Delete."
        return None
