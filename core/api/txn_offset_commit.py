"""TxnOffsetCommit (key 28), versions 0-3: commit a group's offsets inside a transaction.

Behaviour: the producer is checked as AddPartitionsToTxn checks it (an older epoch is
INVALID_PRODUCER_EPOCH here in every version); the transaction must be open with the
group added by AddOffsetsToTxn, else INVALID_TXN_STATE (48). v3 carries the member id,
generation and group instance id, checked as OffsetCommit checks them
(ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID...); generation -1 with no
member is accepted. Per partition: UNKNOWN_TOPIC_OR_PARTITION for one that does not
exist, OFFSET_METADATA_TOO_LARGE past 4096 characters. Accepted offsets stay pending in
the transaction (stored with it, so a restart keeps them): OffsetFetch does not see
them until the transaction commits (with ``require_stable`` it answers
UNSTABLE_OFFSET_COMMIT meanwhile), and an abort discards them. Without a coordinator:
COORDINATOR_NOT_AVAILABLE.

Version notes: v1 is v0; v2 adds the committed leader epoch; v3 is flexible and adds
member id, generation and group instance id.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._txn import for_version
from streamscope.core.errors import ErrorCode
from streamscope.core.meta import CommittedOffset

API_KEY = 28
MIN_VERSION = 0
MAX_VERSION = 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    topics = request.get("topics") or []
    offsets = [
        CommittedOffset(t["name"], p["partition_index"], p["committed_offset"],
                        p.get("committed_leader_epoch", -1), p.get("committed_metadata"))
        for t in topics for p in t.get("partitions") or []
    ]
    coordinator = ctx.transactions
    if coordinator is None:
        errors = dict.fromkeys(((o.topic, o.partition) for o in offsets),
                               ErrorCode.COORDINATOR_NOT_AVAILABLE)
    else:
        errors = await coordinator.txn_offset_commit(
            request["transactional_id"], request["group_id"], request["producer_id"],
            request["producer_epoch"], offsets,
            member_id=request.get("member_id", "") or "",
            generation_id=request.get("generation_id", -1),
            group_instance_id=request.get("group_instance_id"))
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [
            {"partition_index": p["partition_index"],
             "error_code": for_version(errors[(t["name"], p["partition_index"])], version, None)}
            for p in t.get("partitions") or []
        ]}
        for t in topics
    ]}
