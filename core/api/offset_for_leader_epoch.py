"""OffsetForLeaderEpoch (key 23), versions 0-4: the end offset of a leader epoch.

Consumers use it to validate their position after a leader change (KIP-320): librdkafka
2.x sends v2 when Metadata reports a leader epoch it has not validated against;
kafka-python 3 likewise when resetting after an epoch change.

Behaviour: this one broker has always led every partition in epoch 0 (Metadata, Fetch,
ListOffsets and the stored batches' partitionLeaderEpoch all say 0). Per partition:

* ``leader_epoch`` 0 (the current one): end offset = the log end offset, leader epoch 0.
* A larger epoch (unknown here) or -1: end offset -1 and leader epoch -1 (Kafka's
  UNDEFINED_EPOCH_OFFSET / UNDEFINED_EPOCH), no error, as Kafka answers an epoch its
  epoch cache does not hold.
* ``current_leader_epoch`` (v2+) fences stale clients as Kafka does: -1 skips the check;
  above 0 is UNKNOWN_LEADER_EPOCH (75, the client is ahead of this broker); below 0
  other than -1 is FENCED_LEADER_EPOCH (74).
* Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION (3); a partition offline since
  start-up: KAFKA_STORAGE_ERROR (56). Errors carry end offset -1 and leader epoch -1.
* ``replica_id`` (v3+) is not used: there are no followers.

Version notes: v1 adds the answer's leader_epoch; v2 current_leader_epoch and throttle
time; v3 replica_id; v4 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode, KafkaError

API_KEY = 23
MIN_VERSION = 0
MAX_VERSION = 4

LEADER_EPOCH = 0  # the only epoch this broker has led in (core/log/segment.py)
UNDEFINED = -1


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    topics = []
    for t in request.get("topics") or []:
        name = t["topic"]
        parts = []
        for p in t.get("partitions") or []:
            index = p["partition"]
            try:
                current = p.get("current_leader_epoch", -1) if version >= 2 else -1
                if current > LEADER_EPOCH:
                    raise KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH,
                                     f"Epoch {current} is newer than this leader's {LEADER_EPOCH}")
                if current < UNDEFINED:
                    raise KafkaError(ErrorCode.FENCED_LEADER_EPOCH,
                                     f"Epoch {current} is older than this leader's {LEADER_EPOCH}")
                partition = broker.partition(name, index)
                if p["leader_epoch"] == LEADER_EPOCH:
                    epoch, end = LEADER_EPOCH, partition.log.log_end_offset
                else:
                    epoch, end = UNDEFINED, UNDEFINED
                parts.append({"error_code": 0, "partition": index, "leader_epoch": epoch,
                              "end_offset": end})
            except KafkaError as exc:
                parts.append({"error_code": int(exc.code), "partition": index,
                              "leader_epoch": UNDEFINED, "end_offset": UNDEFINED})
        topics.append({"topic": name, "partitions": parts})
    return {"throttle_time_ms": 0, "topics": topics}
