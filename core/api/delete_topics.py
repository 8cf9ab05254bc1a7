"""DeleteTopics (key 20), versions 0-6: delete topics, their logs and their partitions.

Behaviour, per topic: the topic's partition logs are closed and removed (renamed aside at
once, deleted in the background) and its metadata dropped, before the answer is sent;
long-polling fetchers on it wake up. An unknown name gets UNKNOWN_TOPIC_OR_PARTITION (3);
an unknown id (v6) UNKNOWN_TOPIC_ID (100); a name that is not valid for a topic
INVALID_TOPIC_EXCEPTION (17). ``timeout_ms`` is not needed: deletion is complete when the
answer is sent.

Version notes: v0-5 name topics in ``topic_names``; v6 in ``topics`` by name or by
``topic_id`` (name null), and answers carry both. v1 adds throttle time; v4 is flexible;
v5 adds error_message.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.protocol import ZERO_UUID
from streamscope.core.topics import validate_topic_name

API_KEY = 20
MIN_VERSION = 0
MAX_VERSION = 6


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    if version >= 6:
        wanted = [(t.get("name"), t.get("topic_id")) for t in request.get("topics") or []]
    else:
        wanted = [(name, None) for name in request.get("topic_names") or []]
    out = []
    for name, topic_id in wanted:
        try:
            if name is None:
                topic = None
                if topic_id is not None and topic_id != ZERO_UUID:
                    topic = broker.topic_by_id(topic_id)
                if topic is None:
                    raise KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, f"No topic with id {topic_id}")
                name = topic.name
            else:
                reason = validate_topic_name(name)
                if reason:
                    raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
                topic = broker.get_topic(name)
            topic_id = topic.topic_id
            broker.delete_topic(name)
        except KafkaError as exc:
            out.append({
                "name": name, "topic_id": topic_id or ZERO_UUID, "error_code": int(exc.code),
                "error_message": exc.message or None,
            })
            continue
        out.append({"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None})
    return {"throttle_time_ms": 0, "responses": out}
