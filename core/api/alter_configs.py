"""AlterConfigs (key 33), versions 0-2: replace a topic's config overrides.

Behaviour, per resource:

* Topic (resource type 2): the given configs *replace* the topic's overrides (Kafka's
  semantics for this legacy API: anything not listed returns to its default; a null value
  is left out). Unknown names or bad values: INVALID_CONFIG (40), nothing changed. Unknown
  topic: UNKNOWN_TOPIC_OR_PARTITION (3). New limits apply to the topic's logs at once
  (e.g. retention on the next check, segment size on the next roll).
* Broker (resource type 4): broker configs are static (set on the command line), so any
  change gets INVALID_REQUEST (42) ("read-only"); an empty list is accepted.
* Other resource types: INVALID_REQUEST. A resource named twice: INVALID_REQUEST.
* ``validate_only`` checks and changes nothing.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from core.api.describe_configs import (
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    check_broker_name,
    check_topic_name,
)
from core.errors import ErrorCode, KafkaError

if TYPE_CHECKING:
    from core.api import RequestContext

API_KEY = 33
MIN_VERSION = 0
MAX_VERSION = 2


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    validate_only = bool(request.get("validate_only", False))
    resources = request.get("resources") or []
    counts = Counter((r["resource_type"], r["resource_name"]) for r in resources)
    out = []
    for res in resources:
        rtype, rname = res["resource_type"], res["resource_name"]
        try:
            if counts[(rtype, rname)] > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Resource {rname} given twice")
            configs = res.get("configs") or []
            names = [c["name"] for c in configs]
            if len(set(names)) != len(names):
                raise KafkaError(ErrorCode.INVALID_REQUEST, "A config is given twice")
            if rtype == RESOURCE_TOPIC:
                check_topic_name(broker, rname)
                broker.alter_topic_configs(
                    rname, {c["name"]: c.get("value") for c in configs},
                    validate_only=validate_only,
                )
            elif rtype == RESOURCE_BROKER:
                check_broker_name(broker, rname)
                if configs:
                    raise KafkaError(
                        ErrorCode.INVALID_REQUEST,
                        "Broker configs are read-only; restart the broker with new settings.",
                    )
            else:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type {rtype}")
        except KafkaError as exc:
            out.append({"error_code": int(exc.code), "error_message": exc.message or None,
                        "resource_type": rtype, "resource_name": rname})
            continue
        out.append({"error_code": 0, "error_message": None, "resource_type": rtype,
                    "resource_name": rname})
    return {"throttle_time_ms": 0, "responses": out}
