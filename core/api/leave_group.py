"""LeaveGroup (key 13), versions 0-5: members leave; the rest rebalance.

Behaviour: each leaving member is removed at once (a waiting JoinGroup/SyncGroup of it
gets UNKNOWN_MEMBER_ID) and the group rebalances, or becomes Empty when nobody is left.
Per member: UNKNOWN_MEMBER_ID if unknown, FENCED_INSTANCE_ID for a stale static
incarnation; member id "" with a group instance id removes that static member (the admin
client's removeMembersFromConsumerGroup). An unknown group answers UNKNOWN_MEMBER_ID per
member; an empty group id is INVALID_GROUP_ID.

Version notes: v0-2 name one ``member_id`` and answer one top-level error (the member's);
v1 adds throttle time; v3 batches ``members`` (member id + group instance id) with a
per-member answer; v4 is flexible; v5 adds a per-member ``reason`` (kept in the
rebalance history).
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 13
MIN_VERSION = 0
MAX_VERSION = 5


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.groups
    if version < 3:
        result = await coordinator.leave_group(
            request["group_id"], [(request.get("member_id") or "", None)]
        )
        error = result.error
        if error == ErrorCode.NONE and result.members:
            error = result.members[0][2]
        return {"throttle_time_ms": 0, "error_code": int(error)}
    members = request.get("members") or []
    reasons = [m.get("reason") for m in members if m.get("reason")]
    result = await coordinator.leave_group(
        request["group_id"],
        [(m.get("member_id") or "", m.get("group_instance_id")) for m in members],
        reason=reasons[0] if reasons else None,
    )
    return {
        "throttle_time_ms": 0,
        "error_code": int(result.error),
        "members": [
            {"member_id": mid, "group_instance_id": iid, "error_code": int(err)}
            for mid, iid, err in result.members
        ],
    }
