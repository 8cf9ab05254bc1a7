"""The user store (core/auth/users.py) and ``streamscope users add|list|remove``:
credentials salted and hashed, never a password on disk, an atomic 0600 file, and a
reload when another process changes it."""

from __future__ import annotations

import io
import json
import os
import stat
import sys

import pytest
from streamscope.core import cli
from streamscope.core.auth import UserRecord, UserStore, UserStoreError

PASSWORD = "hunter2-but-longer"


@pytest.fixture
def store(tmp_path) -> UserStore:
    return UserStore(tmp_path / "data" / "users.json")


def test_added_user_is_listed_with_both_scram_mechanisms(store):
    store.add("alice", PASSWORD)
    assert store.list() == [UserRecord("alice", ("SCRAM-SHA-256", "SCRAM-SHA-512"))]


def test_file_holds_no_password_and_is_private(store):
    store.add("alice", PASSWORD)
    raw = store.path.read_bytes()
    assert PASSWORD.encode() not in raw
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    doc = json.loads(raw)
    cred = doc["users"]["alice"]["SCRAM-SHA-256"]
    assert set(cred) == {"salt", "iterations", "stored_key", "server_key"}
    assert cred["iterations"] >= 4096
    # each mechanism has its own random salt
    assert cred["salt"] != doc["users"]["alice"]["SCRAM-SHA-512"]["salt"]
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_plain_is_verified_against_the_salted_hash(store):
    store.add("alice", PASSWORD)
    assert store.verify_plain("alice", PASSWORD)
    assert not store.verify_plain("alice", PASSWORD + "x")
    assert not store.verify_plain("bob", PASSWORD)


def test_add_again_changes_the_password(store):
    store.add("alice", "old-password")
    store.add("alice", "new-password")
    assert store.verify_plain("alice", "new-password")
    assert not store.verify_plain("alice", "old-password")


def test_remove_reports_whether_the_user_existed(store):
    store.add("alice", PASSWORD)
    assert store.remove("alice") is True
    assert store.remove("alice") is False
    assert store.list() == []


def test_a_second_store_sees_changes_made_through_another(store):
    other = UserStore(store.path)
    assert other.list() == []
    store.add("carol", PASSWORD)
    assert other.reload_if_changed() is True
    assert [u.name for u in other.list()] == ["carol"]
    assert other.reload_if_changed() is False  # unchanged file: not re-read


@pytest.mark.parametrize("name", ["", " padded", "tab\there", "x" * 256])
def test_unusable_names_are_refused(store, name):
    with pytest.raises(ValueError):
        store.add(name, PASSWORD)


def test_empty_password_is_refused(store):
    with pytest.raises(ValueError, match="password"):
        store.add("alice", "")


def test_malformed_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(UserStoreError, match="not a valid users file"):
        UserStore(path)


def test_cli_adds_lists_and_removes_users(tmp_path, monkeypatch, capsys):
    data = str(tmp_path / "d")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["users", "add", "dave", "--password-stdin", "--data-dir", data]) == 0
    assert cli.main(["users", "list", "--data-dir", data]) == 0
    assert cli.main(["users", "remove", "dave", "--data-dir", data]) == 0
    assert cli.main(["users", "remove", "dave", "--data-dir", data]) == 1
    out, err = capsys.readouterr()
    assert "added user dave" in out
    assert "dave\tPLAIN,SCRAM-SHA-256,SCRAM-SHA-512" in out
    assert "removed user dave" in out
    assert "no user dave" in err
    assert PASSWORD not in out + err


def test_cli_add_prompts_twice_without_echo(tmp_path, monkeypatch, capsys):
    answers = iter(["first", "second"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["users", "add", "erin", "--data-dir", str(tmp_path)]) == 1
    assert "do not match" in capsys.readouterr().err
    assert UserStore(tmp_path / "users.json").list() == []


def test_broker_rejects_an_unknown_sasl_mechanism(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["broker", "--sasl-mechanisms", "PLAIN,GSSAPI"])
    assert exc.value.code == 2
    assert "unknown SASL mechanism GSSAPI" in capsys.readouterr().err


def test_broker_reports_an_unreadable_tls_certificate(tmp_path, capsys):
    code = cli.main(["broker", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path),
                     "--tls-cert", str(tmp_path / "missing.pem")])
    assert code == 1
    assert "missing.pem" in capsys.readouterr().err
