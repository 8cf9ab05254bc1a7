"""FindCoordinator (key 10), versions 0-4: this broker coordinates every group and
every transactional id.

Behaviour: key type 0 (group) and 1 (transaction) are answered with this broker's node
id and advertised listener (``ctx.advertised_host`` / ``ctx.advertised_port``), error 0.
Any other key type gets INVALID_REQUEST with node id -1.

Version notes: v0 has only ``key`` (a group id) and error/node/host/port; v1 adds
``key_type``, ``throttle_time_ms`` and ``error_message`` (null on success); v3 is
flexible; v4 batches: ``coordinator_keys`` in, one ``coordinators`` entry per key out
(the top-level fields are gone). Old librdkafka needs v0 inside the range.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 10
MIN_VERSION = 0
MAX_VERSION = 4

KEY_TYPES = (0, 1)  # group, transaction


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    key_type = request.get("key_type", 0) if version >= 1 else 0
    ok = key_type in KEY_TYPES
    node = ctx.broker.node_id if ok else -1
    host = ctx.advertised_host if ok else ""
    port = ctx.advertised_port if ok else -1
    error = ErrorCode.NONE if ok else ErrorCode.INVALID_REQUEST
    message = None if ok else f"Unknown coordinator key type {key_type}"
    if version >= 4:
        return {
            "throttle_time_ms": 0,
            "coordinators": [
                {"key": key, "node_id": node, "host": host, "port": port,
                 "error_code": int(error), "error_message": message}
                for key in request.get("coordinator_keys") or []
            ],
        }
    return {
        "throttle_time_ms": 0, "error_code": int(error), "error_message": message,
        "node_id": node, "host": host, "port": port,
    }
