"""SASL APIs: SaslHandshake (17) and SaslAuthenticate (36).

Transcribed from Kafka's SaslHandshake/SaslAuthenticate Request/Response JSON specs
(facts only). SaslHandshake is never flexible; after a v0 handshake the client sends
bare SASL tokens (no Kafka header), after v1 it wraps them in SaslAuthenticate.
SaslAuthenticate v1 adds SessionLifetimeMs (0: no re-authentication), v2 is flexible.
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["SASL_HANDSHAKE", "SASL_AUTHENTICATE"]

SASL_HANDSHAKE = api(
    17, "SaslHandshake", versions="0-1", flexible="none",
    request=[
        f("Mechanism", "string", "0+"),
    ],
    response=[
        f("ErrorCode", "int16", "0+"),
        f("Mechanisms", "[]string", "0+"),
    ],
)

SASL_AUTHENTICATE = api(
    36, "SaslAuthenticate", versions="0-2", flexible="2+",
    request=[
        f("AuthBytes", "bytes", "0+"),
    ],
    response=[
        f("ErrorCode", "int16", "0+"),
        f("ErrorMessage", "string", "0+", nullable="0+", default=None),
        f("AuthBytes", "bytes", "0+"),
        f("SessionLifetimeMs", "int64", "1+", default=0),
    ],
)
