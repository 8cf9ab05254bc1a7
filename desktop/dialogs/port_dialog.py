"""The listener's port is taken: say so, and offer another port instead of failing silently.

Contract: shown when the broker could not bind ``host:port``. ``choice`` after ``finished``
is the port to retry with (the next free one found, or 0 for "any free port"), or ``None``
when the user chose to quit.
"""

from __future__ import annotations

import contextlib
import socket

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QWidget
from streamscope.desktop.layout import plain_label, vbox


def next_free_port(host: str, start: int, tries: int = 50) -> int | None:
    """The first port from ``start`` that can be bound on ``host`` right now."""
    for port in range(start, min(start + tries, 65536)):
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    return None


class PortDialog(QDialog):
    def __init__(self, host: str, port: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Port in use")
        self.setMinimumWidth(460)
        self.choice: int | None = None
        self.suggested = next_free_port(host, port + 1)
        layout = vbox(self, (18, 16, 18, 14))
        text = plain_label(
            f"{host}:{port} is already in use.\n\nAnother Kafka broker (or another "
            "Streamscope) is probably listening there. Streamscope can listen on a different "
            "port instead; clients then connect to that address."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        buttons = QDialogButtonBox()
        self.use_next: QPushButton | None = None
        if self.suggested is not None:
            self.use_next = buttons.addButton(
                f"Use port {self.suggested}", QDialogButtonBox.ButtonRole.AcceptRole
            )
            self.use_next.clicked.connect(lambda: self._choose(self.suggested))
            self.use_next.setDefault(True)
        self.use_any = buttons.addButton("Any free port", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_any.clicked.connect(lambda: self._choose(0))
        self.quit_button = buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.quit_button.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def _choose(self, port: int | None) -> None:
        self.choice = port
        self.accept()
