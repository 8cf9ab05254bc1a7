"""Users from the GUI (Broker > Users…): list, add with inline validation, remove.

The dialog calls the real user store (``core.auth.users.UserStore`` on the app's data
dir) on a worker thread. A user added here is stored as SCRAM credentials, never as the
password, and can log in to the broker at once: a real confluent-kafka producer
authenticates with SASL/SCRAM-SHA-256 against the app's broker with the new password,
and the Clients view shows the user it authenticated as.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from confluent_kafka import Producer
from PySide6.QtCore import Qt
from streamscope.core.auth import UserStore

from tests.desktop.conftest import running_shell
from tests.desktop.helpers import create_topic

NAME = "<b>alice</b>"  # a name with markup in it is shown as typed
PASSWORD = "correct horse battery staple"


def open_users(shell, qtbot):
    dialog = shell.window.open_users_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    qtbot.waitUntil(lambda: dialog.loaded, timeout=10_000)
    return dialog


def type_user(dialog, name: str, password: str, repeat: str) -> None:
    dialog.name.setText(name)
    dialog.password.setText(password)
    dialog.repeat.setText(repeat)


@pytest.fixture
def sasl_shell(qapp, qtbot, settings, broker_config):
    config = replace(broker_config, sasl_mechanisms=("SCRAM-SHA-256",))
    yield from running_shell(qapp, qtbot, settings, config)


def test_a_user_is_added_after_inline_validation_logs_in_and_is_removed(sasl_shell, qtbot):
    shell = sasl_shell
    shell.window.resize(1280, 720)
    shell.window.show()
    dialog = open_users(shell, qtbot)
    assert dialog.user_names() == []
    assert "No users yet" in dialog.empty.text()
    assert "requires authentication (SCRAM-SHA-256)" in dialog.intro.text()

    # Validated inline before it can be submitted.
    assert not dialog.add_button.isEnabled()
    type_user(dialog, NAME, PASSWORD, "something else")
    assert dialog.hint.text() == "The two passwords differ."
    assert not dialog.add_button.isEnabled()
    type_user(dialog, " padded", PASSWORD, PASSWORD)
    assert "cannot start or end with a space" in dialog.hint.text()
    assert not dialog.add_button.isEnabled()
    type_user(dialog, NAME, "", "")
    assert dialog.hint.text() == "Type a password."
    type_user(dialog, NAME, PASSWORD, PASSWORD)
    assert dialog.hint.text() == ""
    assert dialog.add_button.isEnabled()

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.password.text() == "" and dialog.repeat.text() == ""  # not kept
    qtbot.waitUntil(lambda: dialog.user_names() == [NAME], timeout=15_000)
    assert dialog.table.item(0, 0).text() == NAME  # plain item text, as typed
    assert "SCRAM-SHA-256" in dialog.table.item(0, 1).text()

    # Stored as SCRAM credentials: the password verifies and is nowhere in the file.
    store_file = shell.commands.data_dir / "users.json"
    assert PASSWORD not in store_file.read_text()
    assert UserStore(store_file).verify_plain(NAME, PASSWORD)


    # The user can log in at once: a real producer authenticates with SCRAM-SHA-256.
    create_topic(shell, qtbot, "orders", 1)
    producer = Producer({
        "bootstrap.servers": shell.ticker.snapshot.broker.bootstrap,
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": NAME, "sasl.password": PASSWORD, "message.timeout.ms": 15_000,
    })
    delivered: list = []
    producer.produce("orders", b"v", on_delivery=lambda err, _m: delivered.append(err))
    qtbot.waitUntil(lambda: producer.poll(0.1) >= 0 and bool(delivered), timeout=20_000)
    assert delivered == [None]
    # The Clients view shows who the connection authenticated as, as typed.
    window = shell.window
    window.show_view("clients")
    model = window.clients.model

    def user_shown() -> bool:
        shell.ticker.refresh_now()
        return any(model.index(r, model.USER).data() == NAME for r in range(model.rowCount()))

    qtbot.waitUntil(user_shown, timeout=10_000)
    assert not window.clients.table.isColumnHidden(model.USER)
    # On loopback the status bar warns of nothing, and the overview says users log in.
    assert "anyone" not in window.status_listener.text()
    assert not window.overview.exposure.isVisibleTo(window.overview)
    assert "SASL SCRAM-SHA-256" in window.overview.broker_detail.text()
    producer.flush(5)

    # An existing name may be given a new password; the hint says so, Add stays on.
    type_user(dialog, NAME, "new", "new")
    assert "adding sets a new password" in dialog.hint.text()
    assert dialog.add_button.isEnabled()
    dialog.name.clear()

    dialog.table.selectRow(0)
    assert dialog.remove_button.isEnabled()
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.loaded and dialog.user_names() == [], timeout=15_000)
    assert UserStore(store_file).list() == []
    dialog.close()




def test_the_user_column_shows_only_where_there_are_users(qtbot):
    import dataclasses

    from streamscope.desktop.history import MonitorHistory
    from streamscope.desktop.theme import resolve
    from streamscope.desktop.views.clients_view import ClientsView

    from tests.desktop import snapshots as S

    view = ClientsView(resolve("light"))
    qtbot.addWidget(view)
    column = view.model.USER
    plain = S.snapshot(connections=[S.connection(1), S.connection(2)])
    view.on_slow_tick(plain, MonitorHistory())
    assert view.table.isColumnHidden(column)  # no SASL: a column of dashes is hidden
    logged_in = dataclasses.replace(S.connection(3), user="alice")
    view.on_slow_tick(S.snapshot(connections=[S.connection(1), logged_in]), MonitorHistory())
    assert not view.table.isColumnHidden(column)
    sasl = dataclasses.replace(plain, broker=dataclasses.replace(
        plain.broker, sasl_mechanisms=("SCRAM-SHA-256",)))
    view.on_slow_tick(sasl, MonitorHistory())
    assert not view.table.isColumnHidden(column)  # users are asked for: shown, "-" as yet
