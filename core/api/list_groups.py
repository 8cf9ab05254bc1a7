"""ListGroups (key 16), versions 0-4: every group this broker coordinates.

Behaviour: each live group with its protocol type ("" for a "simple" group that only
stores offsets) and, from v4, its state. ``states_filter`` (v4) keeps groups whose state
matches one of the names given (any case); empty means all.

Version notes: v1 adds throttle time; v3 is flexible; v4 adds the state filter and
``group_state``.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext

API_KEY = 16
MIN_VERSION = 0
MAX_VERSION = 4


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    states = request.get("states_filter") if version >= 4 else None
    groups = ctx.groups.list_groups(states or None)
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "groups": [
            {"group_id": g.group_id, "protocol_type": g.protocol_type,
             "group_state": g.state.value}
            for g in groups
        ],
    }
