"""SaslAuthenticate (key 36), versions 0-2: one SASL token each way.

Behaviour:

* Needs a successful SaslHandshake v1 on the connection first; otherwise (or with SASL
  off) ILLEGAL_SASL_STATE (34) and the connection closes.
* The request's ``auth_bytes`` go to the connection's :class:`core.auth.SaslSession`;
  its reply token comes back in ``auth_bytes``. PLAIN takes one round trip, SCRAM two
  (server-first, then server-final with the server's signature).
* Wrong credentials (or a malformed token): SASL_AUTHENTICATION_FAILED (58) with an
  ``error_message`` saying so and naming the mechanism (never the password), then the
  server closes the connection (``SaslSession.failed``). Logged and shown as an event.
* ``session_lifetime_ms`` (v1+) is 0: no re-authentication is required or offered.

Version notes: v1 adds ``session_lifetime_ms``; v2 is flexible (compact bytes, tagged
fields).
"""

from __future__ import annotations

import logging

from streamscope.core.api import RequestContext
from streamscope.core.auth import AuthFailed
from streamscope.core.errors import ErrorCode

API_KEY = 36
MIN_VERSION = 0
MAX_VERSION = 2

log = logging.getLogger(__name__)


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    sasl = ctx.sasl
    conn = ctx.connection
    if sasl is None or sasl.mechanism is None or sasl.raw_tokens:
        if sasl is not None:
            sasl.failed = True
        return {"error_code": ErrorCode.ILLEGAL_SASL_STATE,
                "error_message": "SaslAuthenticate needs a SaslHandshake v1 first"}
    try:
        reply = await sasl.step(bytes(request["auth_bytes"]), conn)
    except AuthFailed as exc:
        who = f" as {sasl.claimed_user!r}" if sasl.claimed_user else ""
        log.warning("SASL authentication from %s:%s%s failed: %s", conn.host, conn.port,
                    who, exc)
        ctx.broker.emit_event("auth", f"SASL authentication from {conn.host}:{conn.port}"
                              f"{who} failed ({sasl.mechanism})")
        return {"error_code": ErrorCode.SASL_AUTHENTICATION_FAILED, "error_message": str(exc)}
    return {"error_code": 0, "auth_bytes": reply, "session_lifetime_ms": 0}
