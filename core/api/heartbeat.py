"""Heartbeat (key 12), versions 0-4: keep a member's session alive.

Behaviour: NONE while the group is Stable or CompletingRebalance (the session timer is
re-armed); REBALANCE_IN_PROGRESS when the group is preparing a rebalance (the member
should rejoin); ILLEGAL_GENERATION for an old generation; UNKNOWN_MEMBER_ID for a
member (or group) the coordinator does not know; FENCED_INSTANCE_ID for a stale
incarnation of a static member; INVALID_GROUP_ID for an empty group id.

Version notes: v1 adds throttle time; v3 ``group_instance_id``; v4 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 12
MIN_VERSION = 0
MAX_VERSION = 4


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    error = await ctx.groups.heartbeat(
        request["group_id"],
        request["generation_id"],
        request.get("member_id") or "",
        request.get("group_instance_id") if version >= 3 else None,
    )
    return {"throttle_time_ms": 0, "error_code": int(error)}
