"""Saved connection profiles for external clusters (issue 15), and where their passwords go.

Contract:

* :class:`Profile` is one saved cluster: a name, bootstrap servers, security protocol,
  SASL mechanism, username, CA file and the poll interval, never a password.
  :meth:`Profile.external_settings` makes the
  :class:`~core.monitor.external.ExternalSettings` a connection uses (with the password
  given); :func:`profile_problem` says what is wrong with a profile in
  ExternalSettings' own words (its ``ValueError`` text), or None.
* :class:`ProfileStore` keeps the profiles in the ``QSettings`` it is given, under
  ``clusters/`` (one group per profile), without any password: ``profiles()``,
  ``save()``, ``delete()``, ``find()``.
* :class:`PasswordVault` keeps passwords in the system keyring through the ``keyring``
  library when a usable backend exists (:func:`keyring_usable`: not keyring's fail or
  null backend), under the service name :data:`KEYRING_SERVICE` and the profile's name;
  otherwise only in memory for the session (so the app asks at connect time). Keyring
  calls may block (D-Bus): callers run :meth:`PasswordVault.get` / ``set`` / ``delete``
  off the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from streamscope.core.monitor.external import ExternalSettings

KEYRING_SERVICE = "streamscope"
DEFAULT_INTERVAL_S = 2.0
MIN_INTERVAL_S = 0.5
_GROUP = "clusters"


@dataclass(frozen=True)
class Profile:
    name: str
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    ca_file: str | None = None
    interval_s: float = DEFAULT_INTERVAL_S

    @property
    def needs_password(self) -> bool:
        return self.security_protocol.upper().startswith("SASL_")

    def external_settings(self, password: str | None = None) -> ExternalSettings:
        """The connection (raises ExternalSettings' ``ValueError`` on a bad combination)."""
        return ExternalSettings(
            bootstrap=self.bootstrap.strip(),
            security_protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism if self.needs_password else None,
            username=self.username if self.needs_password else None,
            password=password if self.needs_password else None,
            ca_file=self.ca_file or None,
        )


def profile_problem(profile: Profile, password: str | None = "", *,
                    taken: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """What is wrong with ``profile`` (one line), or None. ``password`` "" stands for one
    that will be given (the keyring or a prompt); ``taken``: names other profiles use."""
    name = profile.name.strip()
    if not name:
        return "the profile needs a name"
    if name == "Embedded":
        return "\"Embedded\" is the built-in broker's name; choose another"
    if name in taken:
        return f"a profile named {name!r} exists already"
    if profile.interval_s < MIN_INTERVAL_S:
        return f"the poll interval must be at least {MIN_INTERVAL_S:g} s"
    for part in profile.bootstrap.split(","):
        host, sep, port = part.strip().rpartition(":")
        if part.strip() and (not sep or not host or not port.isdigit()
                             or not 0 < int(port) < 65536):
            return f"{part.strip()!r} is not HOST:PORT"
    if profile.ca_file and profile.security_protocol.upper().endswith("SSL"):
        from pathlib import Path

        if not Path(profile.ca_file).is_file():
            return f"the CA file {profile.ca_file} does not exist"
    try:
        profile.external_settings(password)
    except ValueError as exc:
        return str(exc)
    return None


class ProfileStore:
    """The saved profiles, in ``settings`` under ``clusters/`` (never a password)."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def profiles(self) -> list[Profile]:
        s = self.settings
        s.beginGroup(_GROUP)
        try:
            names = s.childGroups()
            out = []
            for key in names:
                s.beginGroup(key)
                try:
                    out.append(Profile(
                        name=str(s.value("name", key)),
                        bootstrap=str(s.value("bootstrap", "")),
                        security_protocol=str(s.value("security_protocol", "PLAINTEXT")),
                        sasl_mechanism=_opt(s.value("sasl_mechanism")),
                        username=_opt(s.value("username")),
                        ca_file=_opt(s.value("ca_file")),
                        interval_s=_float(s.value("interval_s"), DEFAULT_INTERVAL_S),
                    ))
                finally:
                    s.endGroup()
            return sorted(out, key=lambda p: p.name.lower())
        finally:
            s.endGroup()

    def find(self, name: str) -> Profile | None:
        return next((p for p in self.profiles() if p.name == name), None)

    def save(self, profile: Profile, old_name: str | None = None) -> None:
        """Add ``profile`` or replace the one named ``old_name`` (a rename)."""
        if old_name is not None and old_name != profile.name:
            self.delete(old_name)
        s = self.settings
        s.beginGroup(f"{_GROUP}/{_key(profile.name)}")
        s.remove("")
        s.setValue("name", profile.name)
        s.setValue("bootstrap", profile.bootstrap)
        s.setValue("security_protocol", profile.security_protocol)
        s.setValue("sasl_mechanism", profile.sasl_mechanism or "")
        s.setValue("username", profile.username or "")
        s.setValue("ca_file", profile.ca_file or "")
        s.setValue("interval_s", float(profile.interval_s))
        s.endGroup()
        s.sync()

    def delete(self, name: str) -> None:
        self.settings.remove(f"{_GROUP}/{_key(name)}")
        self.settings.sync()


def _key(name: str) -> str:
    # A settings group name: no slashes (they nest groups); the real name is a value.
    return "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02X}" for c in name)


def _opt(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _float(value: object, default: float) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def keyring_usable() -> bool:
    """A keyring backend that stores passwords (not keyring's fail or null backend)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - any broken keyring set-up means "none"
        return False
    names = {type(backend).__module__, type(backend).__name__}
    if isinstance(backend, fail.Keyring) or "keyring.backends.null" in names:
        return False
    try:
        from keyring.backends import chainer

        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            return False
    except ImportError:
        pass
    return True


class PasswordVault:
    """Profile passwords: the system keyring when usable, else memory for this session."""

    def __init__(self, use_keyring: bool | None = None) -> None:
        self._use_keyring = use_keyring
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def persistent(self) -> bool:
        """Passwords outlive the session (a usable keyring)."""
        if self._use_keyring is None:
            self._use_keyring = keyring_usable()
        return self._use_keyring

    def get(self, name: str) -> str | None:
        with self._lock:
            if name in self._memory:
                return self._memory[name]
        if self.persistent:
            import keyring

            return keyring.get_password(KEYRING_SERVICE, name)
        return None

    def set(self, name: str, password: str) -> None:
        """Keep ``password`` for profile ``name``: in the keyring if usable, and in memory."""
        with self._lock:
            self._memory[name] = password
        if self.persistent:
            import keyring

            keyring.set_password(KEYRING_SERVICE, name, password)

    def delete(self, name: str) -> None:
        with self._lock:
            self._memory.pop(name, None)
        if self.persistent:
            import keyring
            from keyring.errors import PasswordDeleteError

            try:
                keyring.delete_password(KEYRING_SERVICE, name)
            except PasswordDeleteError:
                pass

    def remember(self, name: str, password: str) -> None:
        """In memory only (a password asked for at connect time, no keyring)."""
        with self._lock:
            self._memory[name] = password


__all__ = ["KEYRING_SERVICE", "PasswordVault", "Profile", "ProfileStore", "keyring_usable",
           "profile_problem"]
