"""CreateTopics (key 19), versions 0-7: create topics on this one node.

Behaviour, per topic (each answered on its own; one failure does not fail the others):

* ``num_partitions`` -1 means the broker default (``BrokerConfig.default_partitions``);
  otherwise 1..10,000, else INVALID_PARTITIONS (37).
* ``replication_factor`` must be -1 (broker default) or 1: this is one broker. Anything else
  gets INVALID_REPLICATION_FACTOR (38) with Kafka's message ("... only 1 broker(s) are
  registered").
* Manual ``assignments``: allowed only with ``num_partitions`` and ``replication_factor``
  both -1 (else INVALID_REQUEST, as Kafka); partition indexes must be 0..n-1 and each
  replica list exactly ``[node id]``, else INVALID_REPLICA_ASSIGNMENT (39).
* ``configs`` become the topic's overrides; an unknown name or a bad value gets
  INVALID_CONFIG (40). An invalid name gets INVALID_TOPIC_EXCEPTION (17), as does a name
  colliding with an existing topic's by case or by '.' versus '_' (the message names
  it); an existing topic TOPIC_ALREADY_EXISTS (36), a name given twice in one request
  INVALID_REQUEST (42) for each copy; partitions past what the broker's descriptor limit
  allows POLICY_VIOLATION (44).
* ``validate_only`` (v1+) checks everything and creates nothing.
* ``timeout_ms`` is not needed: creation is complete when the answer is sent. Every
  topic is checked first (answers keep request order), then the accepted ones are
  created one by one with their files made in a worker thread
  (``Broker.create_topic_off_loop``), so a topic of many partitions does not stall the
  loop.

Version notes: v1 adds validate_only and error_message; v2 throttle time; v4 allows -1 for
partitions and replication factor; v5 is flexible and answers ``num_partitions``,
``replication_factor`` and the topic's effective ``configs`` (every Kafka topic config:
name, value, read_only false, config_source as DescribeConfigs reports it:
DYNAMIC_TOPIC_CONFIG (1) for overrides, a dynamic broker config's source (2 or 3) or
DEFAULT_CONFIG (5), is_sensitive false); v7 answers ``topic_id``. Failed topics carry -1, -1 and null configs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_topic
from streamscope.core.api.describe_configs import config_entries_for
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.protocol import ZERO_UUID

if TYPE_CHECKING:
    from streamscope.core.topics import Topic

API_KEY = 19
MIN_VERSION = 0
MAX_VERSION = 7


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    # Topics that passed every check, created after the loop below, off the event loop.
    pending: list[tuple[dict, str, int | None, dict]] = []

    def answer(name: str, t: dict, validate_only: bool) -> dict:
        partitions = _partition_count(broker.node_id, t)
        configs = {c["name"]: c.get("value") for c in t.get("configs") or []}
        # Every check now (answers in request order); the files are created below.
        broker.create_topic(name, partitions, configs, validate_only=True)
        if not validate_only:
            entry: dict = {"name": name}
            pending.append((entry, name, partitions, configs))
            return entry
        return describe(name, partitions, configs, None)

    def describe(name: str, partitions: int | None, configs: dict, topic: Topic | None) -> dict:
        if topic is None:  # validate_only: describe what would have been created
            set_names = {k for k, v in configs.items() if v is not None}
            values = broker.config.log.with_topic_configs(
                {k: v for k, v in configs.items() if v is not None}
            ).as_topic_configs()
            effective = {k: (v, k not in set_names) for k, v in values.items()}
            count = partitions if partitions not in (None, -1) else broker.config.default_partitions
            topic_id = ZERO_UUID
        else:
            effective = broker.topic_config_values(name)
            count = len(topic.partitions)
            topic_id = topic.topic_id
        return {
            "name": name, "topic_id": topic_id, "error_code": 0, "error_message": None,
            "num_partitions": count, "replication_factor": 1,
            "configs": [
                {"name": e["name"], "value": e["value"], "read_only": False,
                 "config_source": e["config_source"], "is_sensitive": False}
                for e in config_entries_for(broker, effective)
            ],
        }

    def failed(name: str, exc: KafkaError) -> dict:
        return {
            "name": name, "topic_id": ZERO_UUID, "error_code": int(exc.code),
            "error_message": exc.message or None, "num_partitions": -1,
            "replication_factor": -1, "configs": None,
        }

    out = answer_each_topic(request, "Create topics", answer, failed)
    for entry, name, partitions, configs in pending:
        try:
            topic = await broker.create_topic_off_loop(name, partitions, configs)
            entry.update(describe(name, partitions, configs, topic))
        except KafkaError as exc:  # e.g. two names of this request that collide
            entry.update(failed(name, exc))
    return {"throttle_time_ms": 0, "topics": out}


def _partition_count(node_id: int, t: dict) -> int | None:
    """The partition count a CreateTopics entry asks for, checked for a one-node cluster."""
    num = t.get("num_partitions", -1)
    rf = t.get("replication_factor", -1)
    assignments = t.get("assignments") or []
    if assignments:
        if num != -1 or rf != -1:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST,
                "Both numPartitions or replicationFactor and replicasAssignments were set."
                " Both cannot be used at the same time.",
            )
        indexes = sorted(a["partition_index"] for a in assignments)
        if indexes != list(range(len(assignments))):
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "Partitions should be a consecutive 0-based integer sequence.",
            )
        for a in assignments:
            if list(a.get("broker_ids") or []) != [node_id]:
                raise KafkaError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Partition {a['partition_index']}: this cluster has one broker"
                    f" (id {node_id}); replicas must be [{node_id}].",
                )
        return len(assignments)
    if rf != -1 and rf != 1:
        if rf <= 0:
            raise KafkaError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            )
        raise KafkaError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Unable to replicate the partition {rf} time(s): The target replication factor"
            f" of {rf} cannot be reached because only 1 broker(s) are registered.",
        )
    if num == 0 or num < -1:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            "Number of partitions was set to an invalid non-positive value.",
        )
    return num
