"""Connection profiles (issue 15): stored without passwords, passwords in a real keyring
backend (an in-memory ``keyring.backend.KeyringBackend`` set with ``keyring.set_keyring``)
or asked for at connect time when there is none, validation inline, and "Test connection"
against the embedded broker's SASL and TLS listeners and a closed port."""

from __future__ import annotations

import socket
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import QSettings
from streamscope.core.auth import UserStore
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread
from streamscope.desktop.dialogs.profiles_dialog import ProfilesDialog
from streamscope.desktop.profiles import (
    KEYRING_SERVICE,
    PasswordVault,
    Profile,
    ProfileStore,
    keyring_usable,
    profile_problem,
)

from tests.certs import make_certs

SHOTS = Path("/tmp/streamscope-gui-shots")


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps passwords in a dict (for tests)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.passwords:
            raise PasswordDeleteError("no such password")
        del self.passwords[(service, username)]


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sasl_broker(tmp_path):
    data = tmp_path / "sasl-data"
    UserStore(data / "users.json").add("alice", "right password")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("SCRAM-SHA-256",))).start()
    yield bt
    bt.stop()


def fill(dialog: ProfilesDialog, *, name: str, bootstrap: str, protocol: str = "PLAINTEXT",
         mechanism: str = "PLAIN", username: str = "", password: str = "",
         ca_file: str = "") -> None:
    dialog.new_profile()
    dialog.name.setText(name)
    dialog.bootstrap.setText(bootstrap)
    dialog.protocol.setCurrentText(protocol)
    dialog.mechanism.setCurrentText(mechanism)
    dialog.username.setText(username)
    dialog.password.setText(password)
    dialog.ca_file.setText(ca_file)


def open_dialog(qtbot, settings: QSettings, vault: PasswordVault) -> ProfilesDialog:
    dialog = ProfilesDialog(ProfileStore(settings), vault, test_timeout_s=8.0)
    qtbot.addWidget(dialog)
    dialog.resize(820, 520)
    dialog.show()
    return dialog


def test_keyring_usable_tells_a_real_backend_from_the_fail_backend(memory_keyring):
    assert keyring_usable()
    keyring.set_keyring(fail.Keyring())
    assert not keyring_usable()


def test_profile_problems_are_the_settings_own_words(tmp_path):
    ok = Profile("prod", "k1:9092,k2:9092")
    assert profile_problem(ok) is None
    assert profile_problem(Profile("", "k:1")) == "the profile needs a name"
    assert profile_problem(Profile("x", "k1")) == "'k1' is not HOST:PORT"
    assert profile_problem(Profile("x", "k:1", "SASL_SSL", "PLAIN", None)) == (
        "SASL_SSL needs a username and a password")
    assert profile_problem(Profile("x", "k:1", "SASL_PLAINTEXT", None, "u")) == (
        "SASL_PLAINTEXT needs a SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
    assert profile_problem(Profile("x", "k:1", "SSL", ca_file=str(tmp_path / "no.pem"))) == (
        f"the CA file {tmp_path / 'no.pem'} does not exist")
    assert profile_problem(ok, taken={"prod"}) == "a profile named 'prod' exists already"


def test_saved_profile_keeps_its_password_in_the_keyring_not_the_settings(
        qtbot, settings, memory_keyring):
    dialog = open_dialog(qtbot, settings, PasswordVault())
    fill(dialog, name="prod", bootstrap="kafka1:9093", protocol="SASL_SSL",
         mechanism="SCRAM-SHA-512", username="alice")
    # Invalid until there is a username; the reason is shown inline.
    dialog.username.clear()
    assert dialog.problem.isVisible()
    assert dialog.problem.text() == "SASL_SSL needs a username and a password"
    assert not dialog.save_button.isEnabled()
    dialog.username.setText("alice")
    dialog.password.setText("hunter2 secret")
    assert dialog.save_button.isEnabled()
    assert "system keyring" in dialog.keyring_note.text()
    SHOTS.mkdir(exist_ok=True)
    dialog.grab().save(str(SHOTS / "profiles_dialog.png"))
    dialog.save()
    qtbot.waitUntil(lambda: dialog.saves_done == 1, timeout=5000)
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "prod"): "hunter2 secret"}
    settings.sync()
    text = Path(settings.fileName()).read_text()
    assert "kafka1:9093" in text and "SCRAM-SHA-512" in text
    assert "hunter2" not in text
    assert ProfileStore(settings).find("prod") == Profile(
        "prod", "kafka1:9093", "SASL_SSL", "SCRAM-SHA-512", "alice", None, 2.0)
    # Renamed without typing the password again: the keyring's entry moves with it.
    assert dialog.list.currentItem().text() == "prod"
    dialog.name.setText("production")
    assert "(empty: keep it)" in dialog.password.placeholderText()
    dialog.save()
    qtbot.waitUntil(lambda: dialog.saves_done == 2, timeout=5000)
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "production"): "hunter2 secret"}
    assert [p.name for p in ProfileStore(settings).profiles()] == ["production"]
    # Deleting the profile takes its password out of the keyring too.
    changed = []
    dialog.profiles_changed.connect(lambda: changed.append(1))
    dialog.delete_profile()
    qtbot.waitUntil(lambda: bool(changed), timeout=5000)
    assert memory_keyring.passwords == {}
    assert ProfileStore(settings).profiles() == []


def test_without_a_keyring_the_dialog_says_the_password_is_asked_for(
        qtbot, settings, no_keyring):
    dialog = open_dialog(qtbot, settings, PasswordVault())
    fill(dialog, name="lab", bootstrap="lab:9092", protocol="SASL_PLAINTEXT",
         username="bob", password="pw")
    assert "asked for when you connect" in dialog.keyring_note.text()
    dialog.save()
    qtbot.waitUntil(lambda: dialog.saves_done == 1, timeout=5000)
    assert "pw" not in Path(settings.fileName()).read_text().replace("PLAINTEXT", "")
    assert dialog.vault.get("lab") == "pw"  # this session only
    assert PasswordVault().get("lab") is None  # a new session has nothing


def test_test_connection_reports_brokers_topics_and_clear_errors(
        qtbot, settings, memory_keyring, sasl_broker):
    dialog = open_dialog(qtbot, settings, PasswordVault())

    def tested(**form: str) -> str:
        fill(dialog, name="t", **form)
        done = dialog.tests_done
        dialog.test()
        qtbot.waitUntil(lambda: dialog.tests_done == done + 1, timeout=15_000)
        return dialog.test_result.text()

    sasl = dict(bootstrap=sasl_broker.bootstrap, protocol="SASL_PLAINTEXT",
                mechanism="SCRAM-SHA-256", username="alice")
    assert tested(**sasl, password="right password") == "Connected: 1 broker, 0 topics"
    wrong = tested(**sasl, password="wrong password")
    assert wrong.startswith("authentication failed"), wrong
    assert dialog.test_result.objectName() == "ErrorLabel"
    dialog.grab().save(str(SHOTS / "profiles_dialog_auth_failed.png"))
    address = f"127.0.0.1:{closed_port()}"
    unreachable = tested(bootstrap=address)
    assert unreachable.startswith(f"cannot reach {address}"), unreachable


def test_test_connection_tells_a_tls_failure(qtbot, settings, memory_keyring, tmp_path):
    make_certs(tmp_path)
    data = tmp_path / "data"
    UserStore(data / "users.json").add("alice", "pw")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("PLAIN",),
                                   tls_cert=tmp_path / "server.pem",
                                   tls_key=tmp_path / "server.key")).start()
    try:
        dialog = open_dialog(qtbot, settings, PasswordVault())

        def tested(ca: str) -> str:
            fill(dialog, name="tls", bootstrap=bt.bootstrap, protocol="SASL_SSL",
                 mechanism="PLAIN", username="alice", password="pw",
                 ca_file=str(tmp_path / ca))
            done = dialog.tests_done
            dialog.test()
            qtbot.waitUntil(lambda: dialog.tests_done == done + 1, timeout=15_000)
            return dialog.test_result.text()

        assert tested("ca.pem") == "Connected: 1 broker, 0 topics"
        failed = tested("other.pem")
        assert failed.startswith("TLS handshake failed"), failed
    finally:
        bt.stop()
