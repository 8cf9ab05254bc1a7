"""Confirm a destructive command (delete a topic, delete a group) and run it.

Contract: the command runs only after the user presses the destructive button; a refusal
is shown inline (the dialog stays open), success closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from desktop.broker_service import OnDone
from desktop.dialogs.base import CommandDialog


class ConfirmDialog(CommandDialog):
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
        self.ok_button.setDefault(False)
        self.set_intro(text)
        self._command = command
        self.revalidate()

    def run(self) -> None:
        self._command(self.finish)
