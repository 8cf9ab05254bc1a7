"""ListTransactions (key 66), versions 0-1: the transactional ids this coordinator
holds (KIP-664).

Behaviour: every id, filtered by ``state_filters`` (Kafka's state names; names that are
not states are returned in ``unknown_state_filters`` and match nothing), by
``producer_id_filters`` and (v1) by ``duration_filter``: only transactions open longer
than that many milliseconds (a negative value filters nothing). Empty filters match
everything. Without a coordinator: COORDINATOR_NOT_AVAILABLE (15) and no ids.

Version notes: v0 is flexible; v1 adds the duration filter (KIP-994). v2's id pattern
(KIP-1152) is not served.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode
from streamscope.core.txn import ONGOING, STATES

API_KEY = 66
MIN_VERSION = 0
MAX_VERSION = 1


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    coordinator = ctx.transactions
    state_filters = list(request.get("state_filters") or [])
    unknown = [s for s in state_filters if s not in STATES]
    if coordinator is None:
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.COORDINATOR_NOT_AVAILABLE),
                "unknown_state_filters": unknown, "transaction_states": []}
    states = set(state_filters)
    pids = set(request.get("producer_id_filters") or [])
    duration = request.get("duration_filter", -1) if version >= 1 else -1
    out = []
    for txn_id, meta in sorted(coordinator.transactions.items()):
        if states and meta.state not in states:
            continue
        if pids and meta.producer_id not in pids:
            continue
        if duration >= 0 and (meta.state != ONGOING or coordinator.age_ms(txn_id) <= duration):
            continue
        out.append({"transactional_id": txn_id, "producer_id": meta.producer_id,
                    "transaction_state": meta.state})
    return {"throttle_time_ms": 0, "error_code": 0, "unknown_state_filters": unknown,
            "transaction_states": out}
