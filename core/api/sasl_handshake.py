"""SaslHandshake (key 17), versions 0-1: pick the SASL mechanism of this connection.

Behaviour:

* With SASL off (``BrokerConfig.sasl_mechanisms`` empty) the answer is
  ILLEGAL_SASL_STATE (34) with no mechanisms, as a Kafka PLAINTEXT listener answers.
* A mechanism that is not on gets UNSUPPORTED_SASL_MECHANISM (33) with the enabled list
  (so the client can say what to use instead); a second handshake on a connection gets
  ILLEGAL_SASL_STATE (no re-authentication). Either closes the connection after the
  answer (the server checks ``SaslSession.failed``), logged and shown as an event.
* Success: error 0 and the enabled mechanisms. After v1 the client authenticates with
  SaslAuthenticate (core/api/sasl_authenticate.py); after v0 it sends bare SASL tokens,
  which the server's gate hands to the session (core/server.py ``_handle``).

Bare tokens are framed like requests (4-byte size), so the server's frame checks apply:
a token under 8 bytes (a PLAIN message for a one-letter user with a tiny password)
closes the connection; such a client must use v1 (every current client does).

Version notes: both versions have the same fields; only what follows differs. Both are
advertised (0-1), as Kafka does: librdkafka enables its SASL handshake only when the
broker's range covers v0, and then uses v1 with SaslAuthenticate when that is offered.
"""

from __future__ import annotations

import logging

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 17
MIN_VERSION = 0
MAX_VERSION = 1

log = logging.getLogger(__name__)


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    sasl = ctx.sasl
    if sasl is None:
        return {"error_code": ErrorCode.ILLEGAL_SASL_STATE, "mechanisms": []}
    mechanism = request["mechanism"]
    error = sasl.handshake(mechanism, version)
    if error:
        conn = ctx.connection
        why = ("a second SASL handshake" if error == ErrorCode.ILLEGAL_SASL_STATE
               else f"SASL mechanism {mechanism!r} is not enabled")
        log.warning("SASL handshake from %s:%s refused: %s", conn.host, conn.port, why)
        ctx.broker.emit_event("auth", f"SASL handshake from {conn.host}:{conn.port}"
                              f" refused: {why}")
    return {"error_code": error, "mechanisms": list(sasl.mechanisms)}
