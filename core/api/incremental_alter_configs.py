"""IncrementalAlterConfigs (key 44), versions 0-1: change single topic config overrides.

Behaviour, per resource:

* Topic (resource type 2): each config carries an operation: SET (0) sets the override,
  DELETE (1) removes it (back to the default), APPEND (2) / SUBTRACT (3) add or remove items
  of a list-valued config (``cleanup.policy``, the throttled-replica lists); on any other config they get INVALID_REQUEST
  (42), as Kafka. Configs not named keep their overrides. Unknown names or bad values:
  INVALID_CONFIG (40); nothing changes unless the whole resource is valid. Unknown topic:
  UNKNOWN_TOPIC_OR_PARTITION (3).
* Broker (resource type 4), name "" (cluster-wide default) or this node's id: the same
  operations on that scope's dynamic broker configs (core/broker_configs.py), persisted;
  the log ones take effect at once for topics without their own override. Read-only or
  unknown configs and bad values: INVALID_REQUEST (Kafka's code for broker resources).
* Other resource types, a resource or config named twice, an unknown operation:
  INVALID_REQUEST. ``validate_only`` checks and changes nothing.

Version notes: v1 is flexible.
"""

from __future__ import annotations

from collections.abc import Callable

from streamscope.core.api import RequestContext
from streamscope.core.api.describe_configs import alter_resources
from streamscope.core.broker_configs import DYNAMIC_BROKER_CONFIGS
from streamscope.core.configdefs import LIST, TOPIC_CONFIGS
from streamscope.core.errors import ErrorCode, KafkaError

API_KEY = 44
MIN_VERSION = 0
MAX_VERSION = 1

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    return alter_resources(ctx.broker, request, _apply_operations)


def _apply_operations(
    current: dict[str, str], configs: list[dict], effective: Callable[[str], str]
) -> dict[str, str]:
    """The resource's overrides after the requested operations."""
    new = dict(current)
    for c in configs:
        name, op, value = c["name"], c["config_operation"], c.get("value")
        if op == SET:
            if value is None:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Null value not supported for: {name}")
            new[name] = value
        elif op == DELETE:
            new.pop(name, None)
        elif op in (APPEND, SUBTRACT):
            if not _is_list(name):
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST,
                    f"Config {name} is not a list; APPEND and SUBTRACT apply only to lists.",
                )
            base = new[name] if name in new else effective(name)
            items = [v.strip() for v in base.split(",") if v.strip()]
            given = [v.strip() for v in (value or "").split(",") if v.strip()]
            if op == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            new[name] = ",".join(items)
        else:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown config operation {op}")
    return new


def _is_list(name: str) -> bool:
    d = TOPIC_CONFIGS.get(name) or DYNAMIC_BROKER_CONFIGS.get(name)
    return d is not None and d.type == LIST
