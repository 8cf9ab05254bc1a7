"""Listening beyond this machine is visible, and refused connections are counted.

Issue 13: a broker bound to 0.0.0.0 was silently reachable by anyone on the network. The
app, listening on 0.0.0.0:0 here, says so across the top of the overview and in the status
bar, with whether clients must authenticate (on 127.0.0.1 it says nothing of the kind:
tests/desktop/test_users_dialog.py). Broker > Listen address… makes binding beyond
loopback explicit. Connections refused over a limit are counted in the overview and the
Clients view, with the broker's reason as a plain tooltip.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from streamscope.desktop.app import make_config, parse_args
from streamscope.desktop.dialogs.listen_dialog import (
    ALL,
    LISTEN_KEY,
    ONE,
    SASL_KEY,
    ListenDialog,
    saved_listen,
)

from tests.desktop.conftest import running_shell

ALL_INTERFACES = "Listening on all interfaces: anyone on the network can connect"


def shown_text(tooltip: str) -> str:
    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText()


@pytest.fixture
def wildcard_shell(qapp, qtbot, settings, broker_config):
    """The app listening on 0.0.0.0:0, at most two connections per client address."""
    config = replace(broker_config, host="0.0.0.0", max_connections_per_ip=2)
    yield from running_shell(qapp, qtbot, settings, config)


def test_listening_on_all_interfaces_is_shown_and_refused_connections_counted(
    wildcard_shell, qtbot, tmp_path
):
    shell = wildcard_shell
    window = shell.window
    window.resize(1280, 720)
    window.show()
    window.show_view("overview")
    shell.ticker.refresh_now()
    overview = window.overview
    qtbot.waitUntil(lambda: overview.exposure.isVisible(), timeout=5000)
    assert ALL_INTERFACES in overview.exposure.text()
    assert "no authentication" in overview.exposure.text()
    assert "Broker > Listen address" in overview.exposure.text()
    status = window.status_listener
    qtbot.waitUntil(lambda: ALL_INTERFACES in status.text(), timeout=5000)
    assert "no authentication" in status.text()
    # The warning takes the data dir's room in the status bar and reads whole at 1280 px.
    qtbot.waitUntil(lambda: not window.status_data.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: not status.is_elided(), timeout=5000)
    rates = window.status_rates
    qtbot.waitUntil(lambda: status.geometry().right() < rates.geometry().left(), timeout=5000)
    window.grab().save(str(tmp_path / "listen-warning.png"))

    # Connections over the per-address limit are refused, counted, and explained.
    port = shell.ticker.snapshot.broker.port
    with contextlib.ExitStack() as stack:
        for _ in range(3):  # two are let in, the third is over the per-address limit
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))

        def refused() -> int:
            shell.ticker.refresh_now()
            return shell.ticker.snapshot.counters.connections_refused

        qtbot.waitUntil(lambda: refused() >= 1, timeout=10_000)
        card = overview.cards["clients"]
        qtbot.waitUntil(lambda: "refused 1" in card.detail.text(), timeout=5000)
        assert "Refused a connection from 127.0.0.1" in shown_text(card.toolTip())
        window.show_view("clients")
        clients = window.clients
        qtbot.waitUntil(lambda: "refused 1" in clients.summary.text(), timeout=5000)
        tip = shown_text(clients.summary.toolTip())
        assert "1 connection refused since start" in tip
        assert "Refused a connection from 127.0.0.1" in tip


def test_the_listen_dialog_makes_binding_beyond_loopback_explicit(settings, qtbot):
    port = 19092
    dialog = ListenDialog(settings, ("127.0.0.1", port))
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert dialog.host() == "127.0.0.1" and dialog.port.value() == port
    assert dialog.ok_button.isEnabled() and not dialog.warning.isVisible()

    dialog.interface.setCurrentIndex(ALL)
    assert dialog.warning.isVisible()
    assert ALL_INTERFACES + " · no authentication" in dialog.warning.text()
    assert not dialog.ok_button.isEnabled()
    assert "Let other computers connect" in dialog.hint.text()
    dialog.confirm.setChecked(True)
    dialog.auth.setChecked(True)
    assert "authentication on (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)" in dialog.warning.text()
    assert dialog.ok_button.isEnabled()

    dialog.interface.setCurrentIndex(ONE)
    assert dialog.hint.text().startswith("Type the address")
    assert not dialog.ok_button.isEnabled()
    dialog.address.setText("192.168.1.20")
    assert "Listening on 192.168.1.20: anyone who can reach" in dialog.warning.text()
    dialog.interface.setCurrentIndex(ALL)

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
    assert settings.value(LISTEN_KEY) == f"0.0.0.0:{port}"
    assert settings.value(SASL_KEY) == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    # The next start listens there and requires users; --listen still wins.
    config = make_config(parse_args([]), settings=settings)
    assert (config.host, config.port) == ("0.0.0.0", port)
    assert config.sasl_mechanisms == ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
    config = make_config(parse_args(["--listen", ":9999"]), settings=settings)
    assert (config.host, config.port) == ("127.0.0.1", 9999)
    assert saved_listen(settings) == ("0.0.0.0", port)
