"""InitProducerId (key 22), versions 0-4: producer ids for idempotent producers.

Behaviour:

* ``transactional_id`` null (idempotent producer): a new producer id from
  :meth:`Broker.allocate_producer_id` (persisted, so ids are never reused across restarts),
  epoch 0. The broker then tracks sequences per (producer id, partition) and answers
  duplicates and gaps with Kafka's errors (see Broker.produce).
* v3+ with an existing ``producer_id``/``producer_epoch`` (KIP-360: librdkafka and the
  Java client re-initialise after a sequence problem): the same id with the epoch bumped
  by one; the broker then expects that producer's next batch per partition at sequence 0.
  At the top of the epoch range (32767) a fresh id with epoch 0 is given instead.
* ``transactional_id`` non-null: this broker has no transaction coordinator, so the answer
  is TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), producer id -1. Kafka's clients treat that
  as fatal and say so at once ("transactional id authorization failed"), where
  COORDINATOR_NOT_AVAILABLE would make them retry until their transaction timeout.
* ``transaction_timeout_ms`` is ignored.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible; v3 adds
producer_id/producer_epoch in the request; v4 allows PRODUCER_FENCED instead of
INVALID_PRODUCER_EPOCH (never sent here).
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 22
MIN_VERSION = 0
MAX_VERSION = 4

_MAX_EPOCH = 32767


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    if request.get("transactional_id") is not None:
        return {"throttle_time_ms": 0,
                "error_code": int(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
                "producer_id": -1, "producer_epoch": -1}
    pid = request.get("producer_id", -1) if version >= 3 else -1
    epoch = request.get("producer_epoch", -1) if version >= 3 else -1
    if pid >= 0 and 0 <= epoch < _MAX_EPOCH:
        return {"throttle_time_ms": 0, "error_code": 0, "producer_id": pid,
                "producer_epoch": epoch + 1}
    return {"throttle_time_ms": 0, "error_code": 0,
            "producer_id": ctx.broker.allocate_producer_id(), "producer_epoch": 0}
