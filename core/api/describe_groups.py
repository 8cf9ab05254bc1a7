"""DescribeGroups (key 15), versions 0-5: state, protocol and members of groups.

Behaviour (Kafka's group summary): state name, protocol type, and the chosen protocol
(the assignor) in ``protocol_data`` only when Stable; members with client id, client
host ("/" + address, as Kafka prints it), and their metadata and assignment only when
Stable. An unknown group is described as state "Dead" with error 0 (Kafka before v6).
``authorized_operations`` (v3+) is Kafka's bit set for a group (READ, DELETE, DESCRIBE)
when asked for, else INT32_MIN.

Version notes: v1 adds throttle time; v3 authorized operations; v4 each member's
``group_instance_id``; v5 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.groups import GroupState

API_KEY = 15
MIN_VERSION = 0
MAX_VERSION = 5

# AclOperation codes READ=3, DELETE=6, DESCRIBE=8, as a bit set.
GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)
NOT_REQUESTED = -2147483648


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    include_ops = version >= 3 and bool(request.get("include_authorized_operations"))
    out = []
    for d in ctx.groups.describe(request.get("groups") or []):
        # Kafka's summary: the chosen protocol, member metadata and assignments only
        # when Stable (a rebalance in flight has none that are current).
        stable = d.state == GroupState.STABLE
        out.append({
            "error_code": int(d.error),
            "group_id": d.group_id,
            "group_state": d.state.value,
            "protocol_type": d.protocol_type,
            "protocol_data": d.protocol_data,
            "members": [
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                 "client_id": m.client_id, "client_host": f"/{m.client_host}",
                 "member_metadata": m.metadata if stable else b"",
                 "member_assignment": m.raw_assignment if stable else b""}
                for m in d.members
            ],
            "authorized_operations": GROUP_OPERATIONS if include_ops else NOT_REQUESTED,
        })
    return {"throttle_time_ms": 0, "groups": out}
