"""Metadata (key 3), versions 0-12: brokers, controller, cluster id and topic layout.

Behaviour:

* One broker: ``[node_id, advertised host, advertised port, rack null]`` where host and
  port are where the listener really is (never ``localhost`` when bound to 127.0.0.1;
  librdkafka would also try ``::1``). ``controller_id`` is the node id (clients send
  CreateTopics/DeleteTopics to the controller; kafka-python treats -1 as an error).
  ``cluster_id`` is the broker's stable cluster id.
* Topic list: v0 empty list = all topics; v1+ null = all topics, empty = none.
  All-topics answers are sorted by name.
* A requested topic that does not exist is auto-created when the request allows it
  (``allow_auto_topic_creation``, v4+; implied true before) *and* the broker does
  (``BrokerConfig.auto_create_topics``); it is created at once, so the answer already
  carries it (Kafka answers LEADER_NOT_AVAILABLE first; clients accept either). Otherwise
  UNKNOWN_TOPIC_OR_PARTITION (3). A name breaking Kafka's rules gets
  INVALID_TOPIC_EXCEPTION (17) and is never created.
* v10+ requests may name topics by id (name null): unknown ids get UNKNOWN_TOPIC_ID.
* Every partition: leader = node id, leader epoch 0, replicas = isr = [node id],
  offline replicas []. Fetch and ListOffsets accept any ``current_leader_epoch`` from
  clients, so epoch 0 here never makes a client fenced.
* Authorized operations (v8+): INT32_MIN ("not provided") unless requested; when
  requested, every topic operation is allowed (there is no ACL): READ|WRITE|CREATE|
  DELETE|ALTER|DESCRIBE|DESCRIBE_CONFIGS|ALTER_CONFIGS.

Version notes: v1 adds rack, controller id, is_internal and null = all topics; v2
cluster id; v3 throttle time; v4 allow_auto_topic_creation; v5 offline replicas; v7
leader epoch; v8 authorized operations; v9 flexible; v10 topic ids; v11 drops cluster
authorized operations; v12 allows a null topic name in the answer (topic id lookups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.protocol import ZERO_UUID
from streamscope.core.topics import validate_topic_name

if TYPE_CHECKING:
    from streamscope.core.topics import Topic

API_KEY = 3
MIN_VERSION = 0
MAX_VERSION = 12

INT32_MIN = -2147483648
# Bits of Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
# DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    node = broker.node_id
    requested = request.get("topics")
    want_ops = bool(request.get("include_topic_authorized_operations"))
    allow_auto = bool(request.get("allow_auto_topic_creation", True)) if version >= 4 else True

    topics: list[dict] = []
    if requested is None or (version == 0 and not requested):
        for name in sorted(broker.topics):
            topics.append(_topic_entry(broker.topics[name], node, want_ops))
    else:
        for entry in requested:
            name = entry.get("name")
            topic_id = entry.get("topic_id")
            if name is None:
                topic = None
                if topic_id is not None and topic_id != ZERO_UUID:
                    topic = broker.topic_by_id(topic_id)
                if topic is None:
                    # The answer's name is nullable only from v12; before that it is "".
                    topics.append(_error_entry(None if version >= 12 else "", topic_id,
                                               ErrorCode.UNKNOWN_TOPIC_ID))
                else:
                    topics.append(_topic_entry(topic, node, want_ops))
                continue
            topic = broker.topics.get(name)
            if topic is None:
                try:
                    reason = validate_topic_name(name)
                    if reason:
                        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
                    topic = broker.ensure_topic(name) if allow_auto else broker.get_topic(name)
                except KafkaError as exc:
                    topics.append(_error_entry(name, ZERO_UUID, exc.code))
                    continue
            topics.append(_topic_entry(topic, node, want_ops))

    return {
        "throttle_time_ms": 0,
        "brokers": [
            {"node_id": node, "host": ctx.advertised_host, "port": ctx.advertised_port,
             "rack": None}
        ],
        "cluster_id": broker.cluster_id,
        "controller_id": node,
        "topics": topics,
        "cluster_authorized_operations": INT32_MIN,
    }


def _topic_entry(topic: Topic, node: int, want_ops: bool) -> dict:
    replicas = [node]
    return {
        "error_code": 0,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": False,
        "partitions": [
            {
                "error_code": 0,
                "partition_index": p.index,
                "leader_id": node,
                "leader_epoch": 0,
                "replica_nodes": replicas,
                "isr_nodes": replicas,
                "offline_replicas": [],
            }
            for p in topic.partitions
        ],
        "topic_authorized_operations": TOPIC_OPERATIONS if want_ops else INT32_MIN,
    }


def _error_entry(name: str | None, topic_id, code: ErrorCode) -> dict:
    return {
        "error_code": int(code),
        "name": name,
        "topic_id": topic_id if topic_id is not None else ZERO_UUID,
        "is_internal": False,
        "partitions": [],
        "topic_authorized_operations": INT32_MIN,
    }
