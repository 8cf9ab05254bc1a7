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

from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.api.describe_configs import alter_resources

if TYPE_CHECKING:
    from streamscope.core.broker import Broker

API_KEY = 33
MIN_VERSION = 0
MAX_VERSION = 2


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    return alter_resources(ctx.broker, request, _replace_overrides)


def _replace_overrides(
    broker: Broker, topic: str, configs: list[dict], validate_only: bool
) -> None:
    broker.alter_topic_configs(
        topic, {c["name"]: c.get("value") for c in configs}, validate_only=validate_only
    )
