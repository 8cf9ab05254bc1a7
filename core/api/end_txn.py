"""EndTxn (key 26), versions 0-3: commit or abort a producer's transaction.

Behaviour: checked as AddPartitionsToTxn checks (``core.txn``). An open transaction is
ended: the decision is stored first, then a COMMIT or ABORT marker (a control batch) is
appended to every partition of the transaction, offsets committed inside it become
visible to the group on commit (discarded on abort), and the answer comes once the
markers are written (and, with fsync "always", durable); a marker a storage error
refused is retried by the coordinator, the answer coming once the decision is stored. Ending again what just ended the same way
(a retry) answers NONE; anything else with no open transaction gets INVALID_TXN_STATE
(48). Without a coordinator: COORDINATOR_NOT_AVAILABLE.

Version notes: v1 is v0; v2 allows PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before);
v3 is flexible. v4-5 (KIP-890) are not served.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._txn import for_version
from streamscope.core.errors import ErrorCode

API_KEY = 26
MIN_VERSION = 0
MAX_VERSION = 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.transactions
    if coordinator is None:
        error = ErrorCode.COORDINATOR_NOT_AVAILABLE
    else:
        error = await coordinator.end_txn(
            request["transactional_id"], request["producer_id"], request["producer_epoch"],
            bool(request["committed"]))
    return {"throttle_time_ms": 0, "error_code": for_version(error, version, 2)}
