"""InitProducerId (key 22), versions 0-4: producer ids for idempotent and transactional
producers.

Behaviour:

* ``transactional_id`` null (idempotent producer): a new producer id from
  :meth:`Broker.allocate_producer_id` (persisted, so ids are never reused across restarts),
  epoch 0. The broker then tracks sequences per (producer id, partition) and answers
  duplicates and gaps with Kafka's errors (see Broker.produce).
* v3+ with an existing ``producer_id``/``producer_epoch`` (KIP-360: librdkafka and the
  Java client re-initialise after a sequence problem): the same id with the epoch bumped
  by one; the broker then expects that producer's next batch per partition at sequence 0.
  At the top of the epoch range (32767) a fresh id with epoch 0 is given instead.
* ``transactional_id`` non-null: the transaction coordinator (``core.txn``) answers. The
  first call for an id allocates its producer id (epoch 0); each later one bumps the
  epoch, which fences the producer that held it before, and aborts the transaction it
  left open. ``transaction_timeout_ms`` must be 1..900000 (Kafka's
  transaction.max.timeout.ms), else INVALID_TRANSACTION_TIMEOUT (50); an empty id is
  INVALID_REQUEST (42); an id whose transaction is being ended gets
  CONCURRENT_TRANSACTIONS (51) and the client retries. With a KIP-360 producer id and
  epoch (v3+) that are not the id's current pair: PRODUCER_FENCED (90), or
  INVALID_PRODUCER_EPOCH (47) before v4. Without a coordinator:
  COORDINATOR_NOT_AVAILABLE (15).
* For idempotent producers ``transaction_timeout_ms`` is ignored.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible; v3 adds
producer_id/producer_epoch in the request; v4 allows PRODUCER_FENCED instead of
INVALID_PRODUCER_EPOCH.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._txn import for_version
from streamscope.core.errors import ErrorCode

API_KEY = 22
MIN_VERSION = 0
MAX_VERSION = 4

_MAX_EPOCH = 32767


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    pid = request.get("producer_id", -1) if version >= 3 else -1
    epoch = request.get("producer_epoch", -1) if version >= 3 else -1
    transactional_id = request.get("transactional_id")
    if transactional_id is not None:
        coordinator = ctx.transactions
        if coordinator is None:
            error, pid, epoch = ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, -1
        else:
            error, pid, epoch = await coordinator.init_producer_id(
                transactional_id, request.get("transaction_timeout_ms", 0), pid, epoch)
        return {"throttle_time_ms": 0, "error_code": for_version(error, version, 4),
                "producer_id": pid, "producer_epoch": epoch}
    if pid >= 0 and 0 <= epoch < _MAX_EPOCH:
        return {"throttle_time_ms": 0, "error_code": 0, "producer_id": pid,
                "producer_epoch": epoch + 1}
    return {"throttle_time_ms": 0, "error_code": 0,
            "producer_id": ctx.broker.allocate_producer_id(), "producer_epoch": 0}
