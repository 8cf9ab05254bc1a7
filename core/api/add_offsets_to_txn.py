"""AddOffsetsToTxn (key 25), versions 0-3: a group's offsets join a transaction.

Behaviour: checked as AddPartitionsToTxn checks (``core.txn``); then the group joins the
producer's transaction (an idle id starts one) and the answer waits until that is
stored. The offsets themselves come with TxnOffsetCommit. An empty group id gets
INVALID_GROUP_ID (24); past ``core.txn.coordinator.MAX_TXN_GROUPS`` groups in one
transaction, POLICY_VIOLATION (44). Without a coordinator: COORDINATOR_NOT_AVAILABLE.

Version notes: v1 is v0; v2 allows PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before);
v3 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._txn import for_version
from streamscope.core.errors import ErrorCode

API_KEY = 25
MIN_VERSION = 0
MAX_VERSION = 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.transactions
    if coordinator is None:
        error = ErrorCode.COORDINATOR_NOT_AVAILABLE
    else:
        error = await coordinator.add_offsets(
            request["transactional_id"], request["producer_id"], request["producer_epoch"],
            request["group_id"])
    return {"throttle_time_ms": 0, "error_code": for_version(error, version, 2)}
