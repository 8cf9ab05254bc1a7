"""DeleteGroups (key 42), versions 0-2: delete groups and their committed offsets.

Behaviour, per group: NON_EMPTY_GROUP while it has members; GROUP_ID_NOT_FOUND for a
group the broker does not know (including the empty group id, as Kafka answers);
otherwise the group and its committed offsets are deleted (durably) and error 0.

Version notes: v1 is the same as v0; v2 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 42
MIN_VERSION = 0
MAX_VERSION = 2


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    names = list(request.get("groups_names") or [])
    results = await ctx.groups.delete_groups(names)
    return {
        "throttle_time_ms": 0,
        "results": [{"group_id": g, "error_code": int(results[g])} for g in names],
    }
