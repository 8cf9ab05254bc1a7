"""CreatePartitions (key 37), versions 0-3: grow a topic's partition count.

Behaviour, per topic: ``count`` is the new total; it must be larger than the current count
(else INVALID_PARTITIONS (37), Kafka's message) and at most 10,000. ``assignments`` must be
null, or one replica list per new partition, each exactly ``[node id]`` (one broker), else
INVALID_REPLICA_ASSIGNMENT (39). Unknown topic: UNKNOWN_TOPIC_OR_PARTITION (3); a topic
named twice in one request: INVALID_REQUEST (42) for each copy. ``validate_only`` checks
and changes nothing. New partitions start empty at offset 0, and keys hash to new
partitions from then on (as in Kafka).

Version notes: v1 is v0 with throttling after the answer; v2 is flexible; v3 is v2 (Kafka
added it for a quota fix).
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_topic
from streamscope.core.errors import ErrorCode, KafkaError

API_KEY = 37
MIN_VERSION = 0
MAX_VERSION = 3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    def answer(name: str, t: dict, validate_only: bool) -> dict:
        total = t["count"]
        added = total - len(ctx.broker.get_topic(name).partitions)
        _check_assignments(ctx.broker.node_id, t.get("assignments"), added)
        ctx.broker.add_partitions(name, total, validate_only=validate_only)
        return {"name": name, "error_code": 0, "error_message": None}

    def failed(name: str, exc: KafkaError) -> dict:
        return {"name": name, "error_code": int(exc.code), "error_message": exc.message or None}

    out = answer_each_topic(request, "Create partitions", answer, failed)
    return {"throttle_time_ms": 0, "results": out}


def _check_assignments(node_id: int, assignments: list[dict] | None, added: int) -> None:
    """Null, or one replica list ``[node id]`` per added partition (a one-node cluster)."""
    if assignments is None:
        return
    if len(assignments) != added:
        raise KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Increasing the number of partitions by {added} but"
            f" {len(assignments)} assignments provided.",
        )
    for a in assignments:
        if list(a.get("broker_ids") or []) != [node_id]:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"This cluster has one broker (id {node_id}); replicas must be [{node_id}].",
            )
