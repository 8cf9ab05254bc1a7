"""SCRAM (RFC 5802, RFC 7677): stored credentials and the server side of one exchange.

Contract (pure, no I/O):

* :func:`make_credential(password, mechanism)` -> :class:`ScramCredential` (salt,
  iterations >= :data:`MIN_ITERATIONS`, StoredKey, ServerKey). The password itself is
  never kept: SaltedPassword is derived, the two keys computed from it, and it is dropped.
* :func:`verify_password(credential, password)` checks a password against a credential
  (SASL/PLAIN is verified this way, against the same salted hash). It runs PBKDF2: call
  it off the event loop.
* :class:`ScramServer(mechanism, lookup)` runs one exchange: :meth:`~ScramServer.first`
  takes the client-first-message and returns the server-first-message;
  :meth:`~ScramServer.final` takes the client-final-message and returns the
  server-final-message (``v=ServerSignature``). Both raise :class:`ScramError` with a
  message safe to send to the client. An unknown user gets a made-up salt and fails only
  at the proof, as a wrong password does, so the exchange does not tell which names exist.
  Neither step runs PBKDF2 (only HMACs), so both are cheap enough for the event loop.
* The client-final nonce must be the combined nonce of server-first, or (librdkafka
  before 2.6.1) the client nonce followed by it; anything else fails.
* Channel binding is not supported (``p=`` is refused; ``y`` and ``n`` are accepted).
  Kafka's ``tokenauth`` extension (delegation tokens) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "MECHANISMS",
    "MIN_ITERATIONS",
    "ScramCredential",
    "ScramError",
    "ScramServer",
    "make_credential",
    "verify_password",
]

#: mechanism name -> hashlib digest name
MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
#: Kafka's minimum (and RFC 7677's recommendation) for SCRAM-SHA-256.
MIN_ITERATIONS = 4096
_SALT_BYTES = 16
_NONCE_BYTES = 24


class ScramError(Exception):
    """The exchange failed; the message is safe to send to the client."""


@dataclass(frozen=True, slots=True)
class ScramCredential:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _digest(mechanism: str) -> str:
    try:
        return MECHANISMS[mechanism]
    except KeyError:
        raise ValueError(f"unknown SCRAM mechanism {mechanism!r}") from None


def _hmac(digest: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, digest).digest()


def _keys(digest: str, salted: bytes) -> tuple[bytes, bytes, bytes]:
    """(ClientKey, StoredKey, ServerKey) from SaltedPassword."""
    client_key = _hmac(digest, salted, b"Client Key")
    stored_key = hashlib.new(digest, client_key).digest()
    server_key = _hmac(digest, salted, b"Server Key")
    return client_key, stored_key, server_key


def _salted_password(digest: str, password: str, salt: bytes, iterations: int) -> bytes:
    # RFC 5802 wants SASLprep'd passwords; UTF-8 as given is what Kafka's clients send.
    return hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations)


def make_credential(password: str, mechanism: str, *, salt: bytes | None = None,
                    iterations: int = MIN_ITERATIONS) -> ScramCredential:
    """A new stored credential for ``password`` (a random salt unless one is given)."""
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be at least {MIN_ITERATIONS}")
    digest = _digest(mechanism)
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    _client_key, stored_key, server_key = _keys(
        digest, _salted_password(digest, password, salt, iterations))
    return ScramCredential(salt, iterations, stored_key, server_key)


def verify_password(credential: ScramCredential, password: str, mechanism: str) -> bool:
    """Whether ``password`` derives ``credential``'s StoredKey (constant-time compare)."""
    digest = _digest(mechanism)
    salted = _salted_password(digest, password, credential.salt, credential.iterations)
    return hmac.compare_digest(_keys(digest, salted)[1], credential.stored_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unescape_name(text: str) -> str:
    # RFC 5802 5.1: "," and "=" in a saslname are sent as "=2C" and "=3D"; no other "=".
    if "=" in text.replace("=2C", "").replace("=3D", ""):
        raise ScramError("invalid user name encoding")
    return text.replace("=2C", ",").replace("=3D", "=")


def _attributes(message: str) -> list[tuple[str, str]]:
    """``a=1,b=2`` -> [("a", "1"), ("b", "2")]; the value may itself contain ``=``.

    Keys are one letter in RFC 5802; Kafka's extensions (``tokenauth=true``) are words.
    """
    out = []
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.isalpha():
            raise ScramError(f"malformed SCRAM attribute {part[:16]!r}")
        out.append((key, value))
    return out


class ScramServer:
    """The server side of one SCRAM exchange (see the module docstring).

    ``lookup(name)`` returns the user's credential for this mechanism or None. ``nonce``
    fixes the server's nonce part (tests: RFC 7677's vector); normally it is random.
    ``fake_salt_key`` seeds the made-up salt of unknown users (stable per name, so asking
    twice does not reveal that the name is unknown).
    """

    def __init__(self, mechanism: str, lookup: Callable[[str], ScramCredential | None], *,
                 nonce: str | None = None, fake_salt_key: bytes = b"") -> None:
        self.mechanism = mechanism
        self._digest = _digest(mechanism)
        self._lookup = lookup
        self._server_nonce = nonce or base64.b64encode(os.urandom(_NONCE_BYTES)).decode()
        self._fake_salt_key = fake_salt_key
        self.user: str | None = None
        self._credential: ScramCredential | None = None
        self._known = False
        self._gs2_header = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._client_nonce = ""

    def first(self, message: bytes) -> bytes:
        """client-first-message -> server-first-message."""
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("client-first-message is not UTF-8") from None
        parts = text.split(",", 2)
        if len(parts) != 3:
            raise ScramError("malformed client-first-message")
        cbind, authzid, bare = parts
        if cbind.startswith("p="):
            raise ScramError("channel binding is not supported")
        if cbind not in ("n", "y"):
            raise ScramError("malformed GS2 header")
        if authzid and not authzid.startswith("a="):
            raise ScramError("malformed GS2 header")
        attrs = _attributes(bare)
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r":
            raise ScramError("client-first-message needs n= then r=")
        for key, _value in attrs[2:]:
            if key == "tokenauth":
                raise ScramError("delegation tokens are not supported")
        name = _unescape_name(attrs[0][1])
        if authzid and _unescape_name(authzid[2:]) != name:
            raise ScramError("authorization id must match the user name")
        client_nonce = attrs[1][1]
        if not client_nonce or any(c in client_nonce for c in ", "):
            raise ScramError("invalid client nonce")
        credential = self._lookup(name)
        self._known = credential is not None
        if credential is None:
            salt = _hmac(self._digest, self._fake_salt_key, name.encode())[:_SALT_BYTES]
            credential = ScramCredential(salt, MIN_ITERATIONS, b"", b"")
        self.user = name
        self._credential = credential
        self._gs2_header = f"{cbind},{authzid},"
        self._client_first_bare = bare
        self._client_nonce = client_nonce
        self._nonce = client_nonce + self._server_nonce
        self._server_first = (
            f"r={self._nonce},s={_b64(credential.salt)},i={credential.iterations}")
        return self._server_first.encode()

    def final(self, message: bytes) -> bytes:
        """client-final-message -> server-final-message; ScramError on a wrong proof."""
        if self._credential is None:
            raise ScramError("client-final-message before client-first-message")
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("client-final-message is not UTF-8") from None
        without_proof, sep, proof_attr = text.rpartition(",p=")
        if not sep:
            raise ScramError("client-final-message has no proof")
        attrs = dict(_attributes(without_proof))
        try:
            cbind = base64.b64decode(attrs["c"], validate=True).decode()
            proof = base64.b64decode(proof_attr, validate=True)
        except (KeyError, ValueError):
            raise ScramError("malformed client-final-message") from None
        if cbind != self._gs2_header:
            raise ScramError("channel binding data does not match")
        # librdkafka before 2.6.1 (kcat on Debian 12: 2.0.2) sends the client nonce again in
        # front of the combined one (librdkafka#4895); Kafka 3.8.1 accepts that form too.
        # Either way the client must echo this exchange's fresh server nonce.
        if attrs.get("r") not in (self._nonce, self._client_nonce + self._nonce):
            raise ScramError("nonce does not match")
        auth_message = ",".join(
            (self._client_first_bare, self._server_first, without_proof)).encode()
        cred = self._credential
        signature = _hmac(self._digest, cred.stored_key, auth_message) if self._known else b""
        if not self._known or len(proof) != len(signature):
            raise ScramError("invalid credentials")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        stored = hashlib.new(self._digest, client_key).digest()
        if not hmac.compare_digest(stored, cred.stored_key):
            raise ScramError("invalid credentials")
        server_signature = _hmac(self._digest, cred.server_key, auth_message)
        return f"v={_b64(server_signature)}".encode()
