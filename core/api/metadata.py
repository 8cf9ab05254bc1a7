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
  (``BrokerConfig.auto_create_topics``); it is created before the answer, so the answer
  already carries it (Kafka answers LEADER_NOT_AVAILABLE first; clients accept either).
  Otherwise UNKNOWN_TOPIC_OR_PARTITION (3). A name breaking Kafka's rules gets
  INVALID_TOPIC_EXCEPTION (17) and is never created, as is one colliding with a live
  topic by case or by '.' versus '_'.
* Auto-creation is bounded (:func:`auto_create`, shared with Produce): its files are
  created in a worker thread while the loop serves other connections, and the new state
  is committed on the loop. At most ``auto_create_max_per_request`` topics per request
  (the rest get UNKNOWN_TOPIC_OR_PARTITION: a client asks again), at most
  ``auto_create_max_per_connection`` per connection (then POLICY_VIOLATION (44)), and
  none past what the descriptor limit allows (POLICY_VIOLATION, see
  ``Broker.check_descriptor_budget``). Refusals are logged once per request.
* v10+ requests may name topics by id (name null): unknown ids get UNKNOWN_TOPIC_ID.
* Every partition: leader = node id, leader epoch 0, replicas = isr = [node id],
  offline replicas []. Fetch and ListOffsets accept any ``current_leader_epoch`` from
  clients, so epoch 0 here never makes a client fenced.
* Authorized operations (v8+): INT32_MIN ("not provided") unless requested. With no
  authorizer Kafka allows every operation its ACL model supports for the resource type,
  as a bit field of AclOperation codes: per topic when
  ``include_topic_authorized_operations`` (READ|WRITE|CREATE|DELETE|ALTER|DESCRIBE|
  DESCRIBE_CONFIGS|ALTER_CONFIGS), for the cluster when
  ``include_cluster_authorized_operations`` (v8-10: CREATE|ALTER|DESCRIBE|
  CLUSTER_ACTION|DESCRIBE_CONFIGS|ALTER_CONFIGS|IDEMPOTENT_WRITE, the same set as
  DescribeCluster's).

Version notes: v1 adds rack, controller id, is_internal and null = all topics; v2
cluster id; v3 throttle time; v4 allow_auto_topic_creation; v5 offline replicas; v7
leader epoch; v8 authorized operations; v9 flexible; v10 topic ids; v11 drops cluster
authorized operations; v12 allows a null topic name in the answer (topic id lookups).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.api.describe_cluster import CLUSTER_OPERATIONS
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.protocol import ZERO_UUID
from streamscope.core.topics import validate_topic_name

if TYPE_CHECKING:
    from streamscope.core.topics import Topic

API_KEY = 3
MIN_VERSION = 0
MAX_VERSION = 12

log = logging.getLogger(__name__)

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
                    if allow_auto:
                        topic = await auto_create(ctx, name)
                    else:
                        reason = validate_topic_name(name)
                        if reason:
                            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
                        topic = broker.get_topic(name)
                except KafkaError as exc:
                    topics.append(_error_entry(name, ZERO_UUID, exc.code))
                    continue
            topics.append(_topic_entry(topic, node, want_ops))
        refused = ctx.extra.get(_REFUSED)
        if refused:
            log.warning("connection %d (%s): %d auto-creation(s) refused: %s",
                        ctx.connection.conn_id, ctx.connection.host, refused[0], refused[1])

    return {
        "throttle_time_ms": 0,
        "brokers": [
            {"node_id": node, "host": ctx.advertised_host, "port": ctx.advertised_port,
             "rack": None}
        ],
        "cluster_id": broker.cluster_id,
        "controller_id": node,
        "topics": topics,
        "cluster_authorized_operations": (
            CLUSTER_OPERATIONS if version <= 10 and request.get(
                "include_cluster_authorized_operations") else INT32_MIN),
    }


_CREATED = "auto_created"  # ctx.extra: topics this request auto-created
_REFUSED = "auto_create_refused"  # ctx.extra: [count, first reason]


async def auto_create(ctx: RequestContext, name: str) -> Topic:
    """The topic ``name``, auto-created within the request's and the connection's budgets
    (module docstring); KafkaError with Kafka's code when it is not (or cannot be)."""
    broker = ctx.broker
    topic = broker.topics.get(name)
    if topic is not None:
        return topic
    reason = validate_topic_name(name)
    if reason:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
    if not broker.config.auto_create_topics:
        return broker.get_topic(name)
    if name not in broker.creating:
        try:
            made = ctx.extra.get(_CREATED, 0)
            if made >= broker.config.auto_create_max_per_request:
                raise KafkaError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    f"At most {broker.config.auto_create_max_per_request} topics are"
                    " auto-created per request; ask again for the rest.",
                )
            conn_id = ctx.connection.conn_id
            by_conn = broker.auto_created_by_connection.get(conn_id, 0)
            if by_conn >= broker.config.auto_create_max_per_connection:
                raise KafkaError(
                    ErrorCode.POLICY_VIOLATION,
                    f"This connection has auto-created {by_conn} topics, the most allowed"
                    " (auto_create_max_per_connection); create topics explicitly.",
                )
            ctx.extra[_CREATED] = made + 1
            broker.auto_created_by_connection[conn_id] = by_conn + 1
        except KafkaError as exc:
            refused = ctx.extra.setdefault(_REFUSED, [0, exc.message])
            refused[0] += 1
            raise
    return await broker.ensure_topic_off_loop(name)


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
