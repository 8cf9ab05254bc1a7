"""AddPartitionsToTxn (key 24), versions 0-3: add partitions to a producer's transaction.

Behaviour: the transactional id, producer id and epoch are checked by the transaction
coordinator (``core.txn``): an unknown id or another producer id gets
INVALID_PRODUCER_ID_MAPPING (49), an older epoch PRODUCER_FENCED (90; INVALID_PRODUCER_EPOCH
(47) before v2), a newer one INVALID_PRODUCER_EPOCH, a transaction being ended
CONCURRENT_TRANSACTIONS (51, the client retries), all for every partition. A partition
that does not exist gets UNKNOWN_TOPIC_OR_PARTITION (3) and the others
OPERATION_NOT_ATTEMPTED (55), as Kafka answers. Otherwise the partitions join the
transaction (an idle id starts one: its transaction timeout starts now) and the answer
waits until that is stored. Without a coordinator: COORDINATOR_NOT_AVAILABLE (15).

Version notes: v1 is v0 (throttling after the answer); v2 allows PRODUCER_FENCED; v3 is
flexible. v4+ (KIP-890, broker to broker, batched) is not served.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._txn import for_version
from streamscope.core.errors import ErrorCode

API_KEY = 24
MIN_VERSION = 0
MAX_VERSION = 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    topics = request.get("v3_and_below_topics") or []
    wanted = [(t["name"], p) for t in topics for p in t.get("partitions") or []]
    coordinator = ctx.transactions
    if coordinator is None:
        errors = dict.fromkeys(wanted, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    else:
        errors = await coordinator.add_partitions(
            request["v3_and_below_transactional_id"], request["v3_and_below_producer_id"],
            request["v3_and_below_producer_epoch"], wanted)
    results = []
    for t in topics:
        results.append({"name": t["name"], "results_by_partition": [
            {"partition_index": p,
             "partition_error_code": for_version(errors[(t["name"], p)], version, 2)}
            for p in t.get("partitions") or []
        ]})
    return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": results}
