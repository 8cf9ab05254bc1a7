"""JoinGroup (key 11), versions 0-7: join a group (classic protocol) and wait for the
rebalance to complete.

Behaviour (see core/groups/coordinator.py): the answer is held until every known member
has rejoined or the rebalance timeout passes; the leader alone gets the member list with
each member's metadata for the chosen protocol (chosen by vote). Errors: INVALID_GROUP_ID
(empty id), INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID,
FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR while shutting down.
``client_host`` is the connection's peer address.

Version notes: v0 has no rebalance timeout (the session timeout is used); v2 adds
throttle time; v4+: a first join with an empty member id is answered at once with
MEMBER_ID_REQUIRED and the member id to rejoin with (v0-3 join directly); v5 adds
``group_instance_id`` (static membership); v6 is flexible; v7 answers
``protocol_type`` and a nullable ``protocol_name`` ("" before v7). A static leader
rejoining a Stable group keeps the current assignment: before v9 (no
``skip_assignment``) it gets an empty member list, as Kafka answers.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 11
MIN_VERSION = 0
MAX_VERSION = 7


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    result = await ctx.groups.join_group(
        request["group_id"],
        request.get("member_id") or "",
        request.get("protocol_type") or "",
        [(p["name"], p["metadata"]) for p in request.get("protocols") or []],
        session_timeout_ms=request["session_timeout_ms"],
        rebalance_timeout_ms=request.get("rebalance_timeout_ms", -1) if version >= 1 else -1,
        group_instance_id=request.get("group_instance_id") if version >= 5 else None,
        client_id=ctx.client_id or "",
        client_host=ctx.connection.host,
        require_known_member_id=version >= 4,
    )
    members = [] if result.skip_assignment else [
        {"member_id": m.member_id, "group_instance_id": m.group_instance_id,
         "metadata": m.metadata}
        for m in result.members
    ]
    protocol_name = result.protocol_name
    if protocol_name is None and version < 7:
        protocol_name = ""
    return {
        "throttle_time_ms": 0,
        "error_code": int(result.error),
        "generation_id": result.generation_id,
        "protocol_type": result.protocol_type,
        "protocol_name": protocol_name,
        "leader": result.leader,
        "member_id": result.member_id,
        "members": members,
    }
