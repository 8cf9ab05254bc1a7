"""Where the embedded broker listens, chosen in the app, and whether clients must log in.

Contract: reads and writes two ``QSettings`` keys, :data:`LISTEN_KEY` (``HOST:PORT``, as
``--listen`` takes it and parsed by the one parser, :func:`core.cli.listen_address`) and
:data:`SASL_KEY` (the SASL mechanisms required, comma-separated; empty: none). It never
touches the running broker: the choice applies the next time the app starts
(:func:`desktop.app.make_config` reads the keys unless ``--listen`` is given), and the
dialog says so. Listening beyond this computer is explicit (issue 13): for a wildcard or
a LAN address the dialog shows who will be able to connect and whether they must log
in, and OK stays disabled until "Let other computers connect" is ticked.
"""

from __future__ import annotations

import argparse

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QBoxLayout, QCheckBox, QComboBox, QLineEdit, QSpinBox, QWidget
from streamscope.core.auth import SASL_MECHANISMS
from streamscope.core.cli import listen_address
from streamscope.core.config import DEFAULT_PORT
from streamscope.core.monitor.snapshot import is_loopback_host
from streamscope.desktop import format as fmt
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.layout import named, plain_label

LISTEN_KEY = "broker/listen"
SASL_KEY = "broker/sasl_mechanisms"
LOOPBACK, ALL, ONE = range(3)
INTERFACES = (
    ("This computer only (127.0.0.1)", "127.0.0.1"),
    ("All network interfaces (0.0.0.0)", "0.0.0.0"),
    ("One address…", ""),
)


def saved_listen(settings: QSettings) -> tuple[str, int] | None:
    """The listen address saved here, or None (unset or unreadable: the default)."""
    text = str(settings.value(LISTEN_KEY, "") or "")
    if not text:
        return None
    try:
        return listen_address(text)
    except argparse.ArgumentTypeError:
        return None


def saved_mechanisms(settings: QSettings) -> tuple[str, ...]:
    """The SASL mechanisms saved here (unknown names dropped); () for none."""
    text = str(settings.value(SASL_KEY, "") or "")
    return tuple(m for m in (p.strip() for p in text.split(",")) if m in SASL_MECHANISMS)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ListenDialog(CommandDialog):
    ok_text = "Save"

    def __init__(
        self, settings: QSettings, current: tuple[str, int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``current``: where the broker listens now (the default when nothing is saved)."""
        super().__init__("Listen address", parent)
        self.settings = settings
        self.set_intro(
            "Where the broker accepts connections, and whether clients must log in. "
            "Saved now, used the next time Streamscope starts (--listen overrides it)."
        )
        host, port = saved_listen(settings) or current or ("127.0.0.1", DEFAULT_PORT)
        self.interface = QComboBox()
        for text, _host in INTERFACES:
            self.interface.addItem(text)
        self.address = QLineEdit()
        self.address.setPlaceholderText("this computer's LAN address, e.g. 192.168.1.20")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("0 (any free port)")
        self.port.setValue(port)
        self.auth = QCheckBox("Require a user name and password (SASL)")
        self.auth.setToolTip(
            f"Clients log in with SASL {', '.join(SASL_MECHANISMS)} as a user from "
            "Broker > Users…; without it anyone who can connect gets in"
        )
        self.auth.setChecked(bool(saved_mechanisms(settings)))
        self.warning = named(plain_label(""), "ErrorLabel")
        self.warning.setWordWrap(True)
        self.confirm = QCheckBox("Let other computers connect to this broker")
        self.form.addRow("Interface", self.interface)
        self.form.addRow("Address", self.address)
        self.form.addRow("Port", self.port)
        self.form.addRow("", self.auth)
        # Under the form, full width: the warning wraps instead of being cut.
        box = self.layout()
        assert isinstance(box, QBoxLayout)
        at = box.indexOf(self.hint)
        box.insertWidget(at, self.warning)
        box.insertWidget(at + 1, self.confirm)
        self.setMinimumWidth(540)
        if host == "127.0.0.1":
            self.interface.setCurrentIndex(LOOPBACK)
        elif host == "0.0.0.0":
            self.interface.setCurrentIndex(ALL)
        else:
            self.interface.setCurrentIndex(ONE)
            self.address.setText(host)
        for signal in (self.interface.currentIndexChanged, self.address.textChanged,
                       self.port.valueChanged, self.auth.toggled, self.confirm.toggled):
            signal.connect(self.revalidate)
        self.revalidate()

    # -- the choice ----------------------------------------------------------------------

    def host(self) -> str:
        index = self.interface.currentIndex()
        return self.address.text().strip() if index == ONE else INTERFACES[index][1]

    def mechanisms(self) -> tuple[str, ...]:
        return tuple(SASL_MECHANISMS) if self.auth.isChecked() else ()

    def chosen(self) -> tuple[str, int]:
        """The address as the one parser reads it (ValueError-free only once valid)."""
        return listen_address(_address(self.host(), self.port.value()))

    def exposed(self) -> bool:
        host = self.host()
        return bool(host) and not is_loopback_host(host)

    def revalidate(self, *_: object) -> None:
        one = self.interface.currentIndex() == ONE
        self.address.setEnabled(one)
        exposed = self.exposed()
        if exposed:
            text = fmt.listener_exposure(self.host(), self.mechanisms(), False)
            if not self.mechanisms():
                text += ": they can produce, consume and delete topics."
            self.warning.setText(f"\u26a0 {text}")
        changed = self.warning.isVisibleTo(self) != exposed
        self.warning.setVisible(exposed)
        self.confirm.setVisible(exposed)
        super().revalidate()
        if changed:
            self.adjustSize()  # room for the warning (or none left over without it)

    def validate(self) -> str | None:
        if self.interface.currentIndex() == ONE and not self.host():
            return "Type the address to listen on (this computer's LAN address)."
        try:
            self.chosen()
        except argparse.ArgumentTypeError as exc:
            return str(exc)
        if self.exposed() and not self.confirm.isChecked():
            return "Tick \u201cLet other computers connect\u201d to listen beyond this computer."
        return None

    def run(self) -> None:
        host, port = self.chosen()
        self.settings.setValue(LISTEN_KEY, _address(host, port))
        self.settings.setValue(SASL_KEY, ",".join(self.mechanisms()))
        self.finish((host, port), None)
