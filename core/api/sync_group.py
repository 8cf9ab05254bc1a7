"""SyncGroup (key 14), versions 0-5: the leader hands out assignments; every member
gets its own.

Behaviour: in CompletingRebalance a follower's SyncGroup waits for the leader's; the
leader's carries every member's assignment (members it leaves out get empty bytes) and
makes the group Stable. In Stable the member's current assignment comes back at once
(never REBALANCE_IN_PROGRESS for the current generation). Errors: UNKNOWN_MEMBER_ID,
ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (a rebalance began: rejoin),
FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL (v5 type/name mismatch),
INVALID_GROUP_ID.

Version notes: v1 adds throttle time; v3 ``group_instance_id``; v4 is flexible; v5
carries ``protocol_type`` / ``protocol_name`` both ways (checked when given).
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 14
MIN_VERSION = 0
MAX_VERSION = 5


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    result = await ctx.groups.sync_group(
        request["group_id"],
        request["generation_id"],
        request.get("member_id") or "",
        [(a["member_id"], a["assignment"]) for a in request.get("assignments") or []],
        group_instance_id=request.get("group_instance_id") if version >= 3 else None,
        protocol_type=request.get("protocol_type") if version >= 5 else None,
        protocol_name=request.get("protocol_name") if version >= 5 else None,
    )
    return {
        "throttle_time_ms": 0,
        "error_code": int(result.error),
        "protocol_type": result.protocol_type,
        "protocol_name": result.protocol_name,
        "assignment": result.assignment,
    }
