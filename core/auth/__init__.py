"""Authentication: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), the user store, TLS.

Contract: :mod:`.scram` (pure SCRAM, RFC 5802/7677), :mod:`.users` (``UserStore``:
``<data_dir>/users.json``, salted SCRAM credentials, never a password), :mod:`.sasl`
(``Authenticator`` per server, ``SaslSession`` per connection; the server's gate lets an
unauthenticated connection send only ApiVersions and the SASL requests), :mod:`.tls`
(the listener's ``ssl.SSLContext``). Nothing here imports the broker, the server or Qt;
the GUI's users dialog calls ``UserStore`` from a worker thread.
"""

from __future__ import annotations

from .sasl import PRE_AUTH_API_KEYS, SASL_MECHANISMS, Authenticator, AuthFailed, SaslSession
from .tls import TlsError, tls_context
from .users import UserRecord, UserStore, UserStoreError

__all__ = [
    "PRE_AUTH_API_KEYS",
    "SASL_MECHANISMS",
    "AuthFailed",
    "Authenticator",
    "SaslSession",
    "TlsError",
    "UserRecord",
    "UserStore",
    "UserStoreError",
    "tls_context",
]
