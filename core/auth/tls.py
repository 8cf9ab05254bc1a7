"""TLS for the listener: a server ``ssl.SSLContext`` from certificate and key files.

Contract: :func:`tls_context(config)` is None unless ``BrokerConfig.tls_cert`` is set;
then an ``ssl.SSLContext`` (TLS 1.2 or later, the ``ssl`` module's default ciphers)
loaded with the PEM certificate chain ``tls_cert`` and its private key ``tls_key``
(the key may also sit in the certificate file). A missing or unreadable file, or a key
that does not match, raises :class:`TlsError` naming the file. Clients are not asked
for certificates (authentication is SASL's job): the listener speaks Kafka's ``SSL``
protocol, or ``SASL_SSL`` when SASL is on too.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from streamscope.core.config import BrokerConfig

__all__ = ["TlsError", "server_context", "tls_context"]


class TlsError(Exception):
    """The certificate or key cannot be used (the message names the file and why)."""


def server_context(cert: Path, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), None if key is None else str(key))
    except FileNotFoundError as exc:
        raise TlsError(f"TLS file not found: {exc.filename or cert}") from None
    except ssl.SSLError as exc:
        raise TlsError(f"cannot use TLS certificate {cert} with key {key or cert}: "
                       f"{exc.reason or exc}") from None
    except OSError as exc:
        raise TlsError(f"cannot read TLS file {exc.filename or cert}: "
                       f"{exc.strerror or exc}") from None
    return context


def tls_context(config: BrokerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None:
        return None
    return server_context(Path(config.tls_cert),
                          None if config.tls_key is None else Path(config.tls_key))
