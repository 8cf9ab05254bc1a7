"""DescribeTransactions (key 65), version 0: the state of transactional ids (KIP-664).

Behaviour: per requested id, in request order: its state (Kafka's names: Empty,
Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), transaction
timeout, the wall-clock start of the open transaction (-1 when none), producer id and
epoch, and the partitions in the transaction by topic. An id the coordinator does not
know gets TRANSACTIONAL_ID_NOT_FOUND (105); without a coordinator every id gets
COORDINATOR_NOT_AVAILABLE (15).

Version notes: v0 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 65
MIN_VERSION = 0
MAX_VERSION = 0


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.transactions
    states = []
    for txn_id in request.get("transactional_ids") or []:
        meta = coordinator.transactions.get(txn_id) if coordinator is not None else None
        if meta is None:
            code = (ErrorCode.COORDINATOR_NOT_AVAILABLE if coordinator is None
                    else ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
            states.append({"error_code": int(code), "transactional_id": txn_id,
                           "transaction_state": "", "transaction_timeout_ms": 0,
                           "transaction_start_time_ms": -1, "producer_id": -1,
                           "producer_epoch": -1, "topics": []})
            continue
        by_topic: dict[str, list[int]] = {}
        for topic, index in sorted(meta.partitions):
            by_topic.setdefault(topic, []).append(index)
        states.append({
            "error_code": 0, "transactional_id": txn_id,
            "transaction_state": meta.state, "transaction_timeout_ms": meta.timeout_ms,
            "transaction_start_time_ms": meta.start_ms, "producer_id": meta.producer_id,
            "producer_epoch": meta.producer_epoch,
            "topics": [{"topic": t, "partitions": ps} for t, ps in by_topic.items()],
        })
    return {"throttle_time_ms": 0, "transaction_states": states}
