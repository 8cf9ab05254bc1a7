"""OffsetDelete (key 47), version 0: delete some of a group's committed offsets.

Behaviour (Kafka's): GROUP_ID_NOT_FOUND for an unknown group. An Empty group loses the
requested offsets. A group with members: if it is a "consumer" group, partitions of
topics some member subscribes to get GROUP_SUBSCRIBED_TO_TOPIC and the others are
deleted; any other protocol type gets NON_EMPTY_GROUP. A partition that does not exist
gets UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import partition_errors

API_KEY = 47
MIN_VERSION = 0
MAX_VERSION = 0


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    order = [
        (t["name"], [p["partition_index"] for p in t.get("partitions") or []])
        for t in request.get("topics") or []
    ]
    error, results = await ctx.groups.delete_offsets(
        request["group_id"], [(name, p) for name, parts in order for p in parts]
    )
    if error:
        return {"error_code": int(error), "throttle_time_ms": 0, "topics": []}
    return {
        "error_code": 0,
        "throttle_time_ms": 0,
        "topics": partition_errors(order, results),
    }
