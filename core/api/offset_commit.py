"""OffsetCommit (key 8), versions 0-8: store a group's consumed positions durably.

Behaviour: the commit is checked against the group (see core/groups/coordinator.py):
a member commits with its member id and current generation (ILLEGAL_GENERATION,
UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS while CompletingRebalance);
generation -1 with an empty member id (admin tools, manual assignment) is accepted only
while the group has no members, and creates a "simple" group if there is none.
Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
OFFSET_METADATA_TOO_LARGE above 4096 characters. Accepted offsets are stored only once
the committed partitions' data up to them is durable (in interval mode the answer may
wait for one flush; nothing when a flush already covered it), then written to the
SQLite store by its writer thread, and the answer waits for that write (they survive a
restart, and never point past durable data). A partition whose data cannot be made
durable answers KAFKA_STORAGE_ERROR. A null metadata string is stored as "" (Kafka's
NoMetadata).

Version notes: v0 has no generation or member id (taken as -1 / ""); v1 adds a
per-partition commit timestamp (honoured if > 0); v2-4 carry ``retention_time_ms``
(ignored: offsets are kept until the group or topic is deleted); v3 adds throttle time;
v6 ``committed_leader_epoch``; v7 ``group_instance_id``; v8 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import partition_errors
from streamscope.core.meta import CommittedOffset

API_KEY = 8
MIN_VERSION = 0
MAX_VERSION = 8


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    offsets = []
    order = []
    for t in request.get("topics") or []:
        parts = []
        for p in t.get("partitions") or []:
            ts = p.get("commit_timestamp", -1) if version == 1 else -1
            offsets.append(CommittedOffset(
                t["name"], p["partition_index"], p["committed_offset"],
                p.get("committed_leader_epoch", -1) if version >= 6 else -1,
                p.get("committed_metadata"),
                ts if ts and ts > 0 else 0,
            ))
            parts.append(p["partition_index"])
        order.append((t["name"], parts))
    results = await ctx.groups.commit_offsets(
        request["group_id"],
        offsets,
        member_id=(request.get("member_id") or "") if version >= 1 else "",
        generation_id=request.get("generation_id_or_member_epoch", -1) if version >= 1 else -1,
        group_instance_id=request.get("group_instance_id") if version >= 7 else None,
    )
    return {
        "throttle_time_ms": 0,
        "topics": partition_errors(order, results),
    }
