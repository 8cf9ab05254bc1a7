"""OffsetFetch (key 9), versions 0-8: read a group's committed offsets.

Behaviour: for each requested partition the committed offset, leader epoch and metadata;
offset -1 (leader epoch -1, metadata "") with no error when nothing is committed, or the
group does not exist, as Kafka answers. A null topic list (v2+) means every partition
the group has committed. Offsets committed inside a transaction (TxnOffsetCommit) are
not seen until it commits; with ``require_stable`` (v7+) a partition that has such a
pending offset answers UNSTABLE_OFFSET_COMMIT (88) with offset -1 (the client retries),
as Kafka does; without it the last committed offset is answered.

Version notes: v1 reads Kafka-stored offsets (v0 meant ZooKeeper; answered the same);
v2 adds a top-level error code and null = all topics; v3 throttle time; v5 leader
epochs; v6 is flexible; v7 ``require_stable``; v8 batches several groups (``groups``
in and out, each with its own error code).
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 9
MIN_VERSION = 0
MAX_VERSION = 8


def _topics(coordinator, group_id: str, topics: list[dict] | None,
            unstable: set[tuple[str, int]]) -> list[dict]:
    if topics is None:
        wanted = None
    else:
        wanted = [(t["name"], p) for t in topics for p in t.get("partition_indexes") or []]
    found = coordinator.fetch_offsets(group_id, wanted)
    by_topic: dict[str, list[dict]] = {}
    for (topic, partition), committed in found.items():
        if (topic, partition) in unstable:
            entry = {"partition_index": partition, "committed_offset": -1,
                     "committed_leader_epoch": -1, "metadata": "",
                     "error_code": int(ErrorCode.UNSTABLE_OFFSET_COMMIT)}
        elif committed is None:
            entry = {"partition_index": partition, "committed_offset": -1,
                     "committed_leader_epoch": -1, "metadata": "", "error_code": 0}
        else:
            entry = {"partition_index": partition, "committed_offset": committed.offset,
                     "committed_leader_epoch": committed.leader_epoch,
                     "metadata": committed.metadata if committed.metadata is not None else "",
                     "error_code": 0}
        by_topic.setdefault(topic, []).append(entry)
    return [{"name": name, "partitions": parts} for name, parts in by_topic.items()]


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.groups
    txns = ctx.transactions
    require_stable = version >= 7 and bool(request.get("require_stable"))

    def unstable(group_id: str) -> set[tuple[str, int]]:
        if not require_stable or txns is None:
            return set()
        return txns.pending_offsets(group_id)
    if version >= 8:
        return {
            "throttle_time_ms": 0,
            "groups": [
                {"group_id": g["group_id"],
                 "topics": _topics(coordinator, g["group_id"], g.get("topics"),
                                   unstable(g["group_id"])),
                 "error_code": 0}
                for g in request.get("groups") or []
            ],
        }
    topics = request.get("topics")
    if topics is None and version < 2:
        topics = []
    return {
        "throttle_time_ms": 0,
        "topics": _topics(coordinator, request["group_id"], topics,
                          unstable(request["group_id"])),
        "error_code": 0,
    }
