"""AlterConfigs (key 33), versions 0-2: replace a topic's config overrides.

Behaviour, per resource:

* Topic (resource type 2): the given configs *replace* the topic's overrides (Kafka's
  semantics for this legacy API: anything not listed returns to its default; a null value
  is left out). Unknown names or bad values: INVALID_CONFIG (40), nothing changed. Unknown
  topic: UNKNOWN_TOPIC_OR_PARTITION (3). New limits apply to the topic's logs at once
  (e.g. retention on the next check, segment size on the next roll).
* Broker (resource type 4), name "" (the cluster-wide default) or this node's id: the
  given configs *replace* that scope's dynamic broker configs (core/broker_configs.py),
  persisted, and the log ones take effect at once for topics without their own
  override. A read-only config ("Cannot update these configs dynamically"), an unknown
  one or a bad value: INVALID_REQUEST (42), as Kafka answers for broker resources;
  nothing changed. Another broker id: INVALID_REQUEST.
* Other resource types: INVALID_REQUEST. A resource named twice: INVALID_REQUEST.
* A config named twice in one resource: the last value counts, as Kafka's
  ZooKeeper-mode brokers (through 3.x) answer this legacy API (they fill a
  ``Properties``; KRaft brokers refuse it, and IncrementalAlterConfigs refuses it
  everywhere). librdkafka's own test helper relies on it: it sends back every described
  config plus the changed one, so that one comes twice.
* ``validate_only`` checks and changes nothing.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible.
"""

from __future__ import annotations

from collections.abc import Callable

from streamscope.core.api import RequestContext
from streamscope.core.api.describe_configs import alter_resources

API_KEY = 33
MIN_VERSION = 0
MAX_VERSION = 2


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    return alter_resources(ctx.broker, request, _replace_overrides, repeats_allowed=True)


def _replace_overrides(
    current: dict[str, str], configs: list[dict], effective: Callable[[str], str]
) -> dict[str, str]:
    return {c["name"]: c["value"] for c in configs if c.get("value") is not None}
