"""SASL on the broker: which mechanisms are on, and one authentication per connection.

Contract:

* :meth:`Authenticator.for_config(config)` is None when ``BrokerConfig.sasl_mechanisms``
  is empty (no authentication: every request is served, as before), else an
  authenticator over ``<data_dir>/users.json`` (:class:`core.auth.users.UserStore`).
  Unknown mechanism names raise ``ValueError``. A users file that cannot be read is
  logged and treated as holding no users (nobody gets in) until it is fixed.
* :meth:`Authenticator.session` gives each connection a :class:`SaslSession`. Until
  ``session.authenticated``, the server lets through only :data:`PRE_AUTH_API_KEYS`
  (ApiVersions, SaslHandshake, SaslAuthenticate) and closes the connection on anything
  else (core/server.py ``_Connection._handle``).
* :meth:`SaslSession.handshake(mechanism, version)` -> Kafka error code: 0, or
  UNSUPPORTED_SASL_MECHANISM (33) for a mechanism that is not on, or ILLEGAL_SASL_STATE
  (34) for a second handshake (no re-authentication: session lifetime 0). A v0 handshake
  sets ``raw_tokens``: the client then sends bare size-prefixed SASL tokens (no Kafka
  header) until authenticated, as Kafka's v0 protocol does; v1 means SaslAuthenticate.
* :meth:`SaslSession.step(token, connection)` -> the server's reply token; on the last
  step ``authenticated`` becomes True and ``connection.user`` the principal. A failure
  raises :class:`AuthFailed` (message safe to show the client) and sets ``failed``: the
  server answers SASL_AUTHENTICATION_FAILED (58) with the message and closes the
  connection :data:`FAILED_AUTHENTICATION_DELAY_S` later (:meth:`SaslSession.before_close`).
  PLAIN runs PBKDF2 in a worker thread (``asyncio.to_thread``); SCRAM steps are HMACs.
* Passwords are never logged or kept: a PLAIN token is dropped once checked.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from streamscope.core.auth.scram import MECHANISMS as SCRAM_MECHANISMS
from streamscope.core.auth.scram import ScramCredential, ScramError, ScramServer
from streamscope.core.auth.users import UserStore, UserStoreError
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode
from streamscope.core.ports import ConnectionInfo
from streamscope.core.protocol.api_keys import ApiKey

log = logging.getLogger(__name__)

__all__ = ["AuthFailed", "Authenticator", "PRE_AUTH_API_KEYS", "SASL_MECHANISMS",
           "SaslSession"]

#: Every mechanism this broker can run, in the order the CLI lists them.
SASL_MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS)
#: All an unauthenticated connection may send.
PRE_AUTH_API_KEYS = frozenset({ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE,
                               ApiKey.SASL_AUTHENTICATE})

#: Kafka's connection.failed.authentication.delay.ms default (100 ms).
FAILED_AUTHENTICATION_DELAY_S = 0.1


class AuthFailed(Exception):
    """Authentication failed; the message is what the client is told."""


class Authenticator:
    """The broker's SASL settings and users (one per server)."""

    def __init__(self, mechanisms: tuple[str, ...], users: UserStore | Path) -> None:
        unknown = [m for m in mechanisms if m not in SASL_MECHANISMS]
        if unknown or not mechanisms:
            raise ValueError(f"unknown SASL mechanism(s) {', '.join(unknown) or '(none)'};"
                             f" choose from {', '.join(SASL_MECHANISMS)}")
        self.mechanisms = tuple(mechanisms)
        if isinstance(users, UserStore):
            self._users: UserStore | None = users
            self._path = users.path
        else:
            self._users = None
            self._path = users
        # Seeds the made-up SCRAM salts of unknown users (stable while the broker runs).
        self._fake_salt_key = os.urandom(32)

    @classmethod
    def for_config(cls, config: BrokerConfig) -> Authenticator | None:
        if not config.sasl_mechanisms:
            return None
        return cls(tuple(config.sasl_mechanisms), Path(config.data_dir) / "users.json")

    def session(self) -> SaslSession:
        return SaslSession(self)

    def users(self) -> UserStore | None:
        """The user store, re-read if its file changed; None while it cannot be read."""
        try:
            if self._users is None:
                self._users = UserStore(self._path)
            else:
                self._users.reload_if_changed()
        except UserStoreError as exc:
            log.error("SASL: %s; no user can authenticate until it is fixed", exc)
            return None
        return self._users

    def scram_server(self, mechanism: str) -> ScramServer:
        users = self.users()

        def lookup(name: str) -> ScramCredential | None:
            return None if users is None else users.credential(name, mechanism)

        return ScramServer(mechanism, lookup, fake_salt_key=self._fake_salt_key)


class SaslSession:
    """One connection's authentication (see the module docstring)."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._auth = authenticator
        self.mechanisms = authenticator.mechanisms
        self.mechanism: str | None = None
        self.user: str | None = None
        # The user name the client gave (for logs of a failed attempt), even if unknown.
        self.claimed_user: str | None = None
        self.authenticated = False
        self.failed = False
        self.raw_tokens = False
        self._scram: ScramServer | None = None
        self._scram_step = 0

    async def before_close(self) -> None:
        """Wait a moment before closing a refused connection, as Kafka does
        (``connection.failed.authentication.delay.ms``): the client reads the error
        before it sees the connection end, and password guessing is slowed."""
        await asyncio.sleep(FAILED_AUTHENTICATION_DELAY_S)

    def handshake(self, mechanism: str, version: int) -> int:
        if self.authenticated or self.mechanism is not None:
            self.failed = True
            return ErrorCode.ILLEGAL_SASL_STATE
        if mechanism not in self.mechanisms:
            self.failed = True
            return ErrorCode.UNSUPPORTED_SASL_MECHANISM
        self.mechanism = mechanism
        self.raw_tokens = version == 0
        if mechanism in SCRAM_MECHANISMS:
            self._scram = self._auth.scram_server(mechanism)
        return 0

    async def step(self, token: bytes, connection: ConnectionInfo) -> bytes:
        """Handle one client token; the reply token (see the module docstring)."""
        if self.authenticated or self.mechanism is None or self.failed:
            self.failed = True
            raise AuthFailed("SaslAuthenticate without a successful SaslHandshake first")
        try:
            if self.mechanism == "PLAIN":
                reply = await self._plain(token)
            else:
                reply = self._scram_next(token)
        except (AuthFailed, ScramError) as exc:
            self.failed = True
            raise AuthFailed(
                f"Authentication failed during authentication due to {exc} with SASL "
                f"mechanism {self.mechanism}") from None
        if self.authenticated:
            self.raw_tokens = False
            connection.user = self.user
            log.info("%s:%s authenticated as %r (%s)", connection.host, connection.port,
                     self.user, self.mechanism)
        return reply

    async def _plain(self, token: bytes) -> bytes:
        # RFC 4616: [authzid] NUL authcid NUL passwd
        parts = token.split(b"\0")
        if len(parts) != 3:
            raise AuthFailed("a malformed PLAIN message")
        try:
            authzid, name, password = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError:
            raise AuthFailed("a PLAIN message that is not UTF-8") from None
        self.claimed_user = name
        if not name or not password:
            raise AuthFailed("an empty user name or password")
        if authzid and authzid != name:
            raise AuthFailed("an authorization id other than the user name")
        users = self._auth.users()
        if users is None or not await asyncio.to_thread(users.verify_plain, name, password):
            raise AuthFailed("invalid credentials")
        self.user = name
        self.authenticated = True
        return b""

    def _scram_next(self, token: bytes) -> bytes:
        scram = self._scram
        assert scram is not None  # set by handshake() for SCRAM mechanisms
        self._scram_step += 1
        if self._scram_step == 1:
            reply = scram.first(token)
            self.claimed_user = scram.user
            return reply
        if self._scram_step == 2:
            reply = scram.final(token)
            self.user = scram.user
            self.authenticated = True
            return reply
        raise AuthFailed("an unexpected SCRAM message")
