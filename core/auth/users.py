"""The broker's users: SCRAM credentials in ``<data_dir>/users.json``, never a password.

Contract:

* ``UserStore(path)``: ``list() -> list[UserRecord]`` (sorted by name), ``add(name,
  password)`` (a new user, or a new password for an existing one), ``remove(name) ->
  bool``, ``verify_plain(name, password) -> bool`` (SASL/PLAIN, checked against the
  SCRAM-SHA-256 salted hash), ``credential(name, mechanism) -> ScramCredential | None``
  (SCRAM lookups), ``reload_if_changed()``.
* Each user holds one credential per SCRAM mechanism (:data:`core.auth.scram.MECHANISMS`):
  a random salt, iterations (>= 4096), StoredKey and ServerKey. The password is hashed
  and dropped; it is never written, logged or kept in memory.
* The file is written atomically (a temporary file in the same directory, fsynced,
  then renamed over ``users.json``; the directory fsynced) with mode 0600. Read-modify-
  write is serialized across processes by a lock on ``users.json.lock`` (:mod:`filelock`,
  on every platform), so the CLI and the GUI can add users while the broker runs.
* The broker calls :meth:`UserStore.reload_if_changed` before each authentication: one
  ``stat`` (size, mtime, inode); the file is re-read only when that changed, so users
  added from the GUI or ``streamscope users add`` work without a restart.
* A missing file is an empty store. An unreadable or malformed one raises
  :class:`UserStoreError` from the constructor and :meth:`reload_if_changed` (the broker
  then logs it and keeps the users it had, or none: nobody gets in on a broken file).
* ``add``/``remove``/``verify_plain`` run PBKDF2 or file I/O: callers on an event loop or
  the GUI thread run them in a worker thread.

File format (JSON, bytes in base64)::

    {"version": 1, "users": {"alice": {"SCRAM-SHA-256": {"salt": "...", "iterations": 4096,
                                          "stored_key": "...", "server_key": "..."},
                                       "SCRAM-SHA-512": {...}}}}
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from streamscope.core.auth.scram import (
    MECHANISMS,
    MIN_ITERATIONS,
    ScramCredential,
    make_credential,
    verify_password,
)

__all__ = ["FILE_NAME", "UserRecord", "UserStore", "UserStoreError", "check_user_name"]

FILE_NAME = "users.json"
MAX_NAME_CHARS = 255
#: The mechanism whose salted hash SASL/PLAIN passwords are checked against.
PLAIN_CHECKED_WITH = "SCRAM-SHA-256"


class UserStoreError(Exception):
    """users.json cannot be read or written (the message says why)."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    mechanisms: tuple[str, ...]


def check_user_name(name: str) -> str:
    """``name`` if it is a usable user name, else ValueError saying why."""
    if not name:
        raise ValueError("a user name cannot be empty")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a user name has at most {MAX_NAME_CHARS} characters")
    if name != name.strip():
        raise ValueError("a user name cannot start or end with a space")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError("a user name cannot contain control characters")
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _credential_to_json(cred: ScramCredential) -> dict:
    return {"salt": _b64(cred.salt), "iterations": cred.iterations,
            "stored_key": _b64(cred.stored_key), "server_key": _b64(cred.server_key)}


def _credential_from_json(obj: object) -> ScramCredential:
    if not isinstance(obj, dict):
        raise ValueError("a credential must be an object")
    iterations = obj["iterations"]
    if not isinstance(iterations, int) or iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be an integer >= {MIN_ITERATIONS}")
    return ScramCredential(
        base64.b64decode(obj["salt"], validate=True), iterations,
        base64.b64decode(obj["stored_key"], validate=True),
        base64.b64decode(obj["server_key"], validate=True))


def _parse(data: bytes) -> dict[str, dict[str, ScramCredential]]:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("version") != 1 or \
            not isinstance(doc.get("users"), dict):
        raise ValueError("not a version 1 users file")
    users: dict[str, dict[str, ScramCredential]] = {}
    for name, creds in doc["users"].items():
        if not isinstance(creds, dict):
            raise ValueError(f"user {name!r}: credentials must be an object")
        users[name] = {mech: _credential_from_json(c) for mech, c in creds.items()
                       if mech in MECHANISMS}
    return users


class UserStore:
    """The users of one broker, backed by ``path`` (normally ``<data_dir>/users.json``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._mutex = threading.Lock()  # the GUI's worker threads and the broker's
        self._users: dict[str, dict[str, ScramCredential]] = {}
        self._signature: tuple[int, int, int] | None = None
        self.reload_if_changed()

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> UserStore:
        return cls(Path(data_dir) / FILE_NAME)

    # --- reading ---------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UserStoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self) -> dict[str, dict[str, ScramCredential]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise UserStoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            return _parse(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise UserStoreError(f"{self.path} is not a valid users file: {exc}") from None

    def reload_if_changed(self) -> bool:
        """Re-read the file if its size, mtime or inode changed; whether it was re-read."""
        signature = self._stat()
        with self._mutex:
            if signature == self._signature:
                return False
            users = self._read() if signature is not None else {}
            self._users, self._signature = users, signature
        return True

    def list(self) -> list[UserRecord]:
        with self._mutex:
            return [UserRecord(name, tuple(sorted(creds)))
                    for name, creds in sorted(self._users.items())]

    def __contains__(self, name: object) -> bool:
        with self._mutex:
            return name in self._users

    def credential(self, name: str, mechanism: str) -> ScramCredential | None:
        with self._mutex:
            return self._users.get(name, {}).get(mechanism)

    def verify_plain(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (PBKDF2: not on an event loop)."""
        cred = self.credential(name, PLAIN_CHECKED_WITH)
        if cred is None:
            return False
        return verify_password(cred, password, PLAIN_CHECKED_WITH)

    # --- writing ---------------------------------------------------------------------------

    def add(self, name: str, password: str) -> None:
        """Add ``name`` (or set a new password): one credential per SCRAM mechanism."""
        check_user_name(name)
        if not password:
            raise ValueError("a password cannot be empty")
        creds = {mech: make_credential(password, mech) for mech in MECHANISMS}
        with self._locked():
            users = self._read()
            users[name] = creds
            self._write(users)

    def remove(self, name: str) -> bool:
        """Remove ``name``; False if there was no such user."""
        with self._locked():
            users = self._read()
            if users.pop(name, None) is None:
                return False
            self._write(users)
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.path.with_name(self.path.name + ".lock"), mode=0o600,
                      thread_local=False):
            yield
        self.reload_if_changed()

    def _write(self, users: dict[str, dict[str, ScramCredential]]) -> None:
        doc = {"version": 1, "users": {
            name: {mech: _credential_to_json(c) for mech, c in sorted(creds.items())}
            for name, creds in sorted(users.items())}}
        data = json.dumps(doc, indent=1).encode() + b"\n"
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if hasattr(os, "fchmod"):  # even if a stale tmp file had other bits
                    os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise UserStoreError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        with contextlib.suppress(OSError):  # make the rename durable (not on Windows)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
