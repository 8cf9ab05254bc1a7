"""IncrementalAlterConfigs (key 44), versions 0-1: change single topic config overrides.

Behaviour, per resource:

* Topic (resource type 2): each config carries an operation: SET (0) sets the override,
  DELETE (1) removes it (back to the default), APPEND (2) / SUBTRACT (3) add or remove items
  of a list-valued config (``cleanup.policy``); on any other config they get INVALID_REQUEST
  (42), as Kafka. Configs not named keep their overrides. Unknown names or bad values:
  INVALID_CONFIG (40); nothing changes unless the whole resource is valid. Unknown topic:
  UNKNOWN_TOPIC_OR_PARTITION (3).
* Broker (resource type 4): read-only, any change gets INVALID_REQUEST.
* Other resource types, a resource or config named twice, an unknown operation:
  INVALID_REQUEST. ``validate_only`` checks and changes nothing.

Version notes: v1 is flexible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.api.describe_configs import LIST_CONFIGS, alter_resources
from streamscope.core.errors import ErrorCode, KafkaError

if TYPE_CHECKING:
    from streamscope.core.broker import Broker

API_KEY = 44
MIN_VERSION = 0
MAX_VERSION = 1

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    return alter_resources(ctx.broker, request, _apply_operations)


def _apply_operations(
    broker: Broker, topic: str, configs: list[dict], validate_only: bool
) -> None:
    changes = _changes(broker, topic, configs)
    broker.alter_topic_configs(topic, changes, incremental=True, validate_only=validate_only)


def _changes(broker: Broker, topic: str, configs: list[dict]) -> dict[str, str | None]:
    """The requested operations as name -> new override (None: remove the override)."""
    current = None
    changes: dict[str, str | None] = {}
    for c in configs:
        name, op, value = c["name"], c["config_operation"], c.get("value")
        if op == SET:
            changes[name] = value
        elif op == DELETE:
            changes[name] = None
        elif op in (APPEND, SUBTRACT):
            if name not in LIST_CONFIGS:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST,
                    f"Config {name} is not a list; APPEND and SUBTRACT apply only to lists.",
                )
            if current is None:
                current = broker.topic_config_values(topic)
            items = [v for v in current.get(name, ("", True))[0].split(",") if v]
            given = [v.strip() for v in (value or "").split(",") if v.strip()]
            if op == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            changes[name] = ",".join(items)
        else:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown config operation {op}")
    return changes
