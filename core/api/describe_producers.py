"""DescribeProducers (key 61), version 0: the active producers of partitions (KIP-664).

Behaviour: per requested partition, every producer the partition knows (idempotent or
transactional; the state ``core.idempotence`` keeps per partition, rebuilt from the
log's tail after a restart): producer id, epoch, last sequence (-1 when only a marker
is known), last timestamp -1 (not kept), coordinator epoch 0 (one coordinator, never
moved), and ``current_txn_start_offset``, the first offset of its open transaction
there (-1 when none is open). An unknown topic or partition gets
UNKNOWN_TOPIC_OR_PARTITION (3) with its message; an offline one KAFKA_STORAGE_ERROR.

Version notes: v0 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_partition
from streamscope.core.errors import KafkaError

API_KEY = 61
MIN_VERSION = 0
MAX_VERSION = 0


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    topics = [{"name": t["name"],
               "partitions": [{"partition_index": p} for p in t.get("partition_indexes") or []]}
              for t in request.get("topics") or []]

    def answer(name: str, p: dict) -> dict:
        index = p["partition_index"]
        part = broker.partition(name, index)
        ongoing = part.txns.ongoing
        producers = []
        for pid in sorted(set(part.producers) | set(ongoing)):
            state = part.producers.get(pid)
            last_seq = state.batches[-1][1] if state is not None and state.batches else -1
            producers.append({
                "producer_id": pid, "producer_epoch": state.epoch if state else -1,
                "last_sequence": last_seq, "last_timestamp": -1, "coordinator_epoch": 0,
                "current_txn_start_offset": ongoing.get(pid, -1),
            })
        return {"partition_index": index, "error_code": 0, "error_message": None,
                "active_producers": producers}

    def failed(index: int, exc: KafkaError) -> dict:
        return {"partition_index": index, "error_code": int(exc.code),
                "error_message": exc.message or None, "active_producers": []}

    return {"throttle_time_ms": 0, "topics": answer_each_partition(topics, answer, failed)}
