"""DescribeConfigs (key 32), versions 0-4: topic and broker configs, as Kafka names them.

Behaviour, per resource:

* Topic (resource type 2): every effective config of the topic
  (:meth:`Broker.topic_config_values`): overrides set on the topic have config_source
  DYNAMIC_TOPIC_CONFIG (1), everything else DEFAULT_CONFIG (5) (``is_default`` true in
  v0). Nothing is read-only or sensitive. Unknown topic: UNKNOWN_TOPIC_OR_PARTITION (3);
  invalid name: INVALID_TOPIC_EXCEPTION (17).
* Broker (resource type 4), name "" or this node's id: a fixed set of broker configs under
  Kafka's names (``node.id``, ``listeners``, ``log.dirs``, ``num.partitions``,
  ``log.retention.ms`` ...), all read-only: values the broker was started with are
  STATIC_BROKER_CONFIG (4), built-in constants DEFAULT_CONFIG (5). Another broker id gets
  INVALID_REQUEST (42), as Kafka.
* Any other resource type (broker loggers, client metrics, groups): INVALID_REQUEST.
* ``configuration_keys`` null means all; otherwise only those names (unknown ones left out).
* ``include_synonyms`` (v1+): a topic config lists its own override (if set) and the broker
  default it falls back to (Kafka's broker-level name, DEFAULT_CONFIG); otherwise synonyms
  is empty. ``include_documentation`` (v3+): a one-line description, else null.

Version notes: v0 has ``is_default`` instead of ``config_source``; v1 adds config_source,
synonyms and throttle time; v2 is v1; v3 adds config_type and documentation; v4 is
flexible.

The helpers here (config sources, types, broker config list) are shared with CreateTopics,
AlterConfigs and IncrementalAlterConfigs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.topics import validate_topic_name

if TYPE_CHECKING:
    from streamscope.core.broker import Broker

API_KEY = 32
MIN_VERSION = 0
MAX_VERSION = 4

RESOURCE_TOPIC = 2
RESOURCE_BROKER = 4

# Kafka's ConfigSource codes.
CONFIG_SOURCE_TOPIC = 1  # DYNAMIC_TOPIC_CONFIG
CONFIG_SOURCE_STATIC_BROKER = 4  # STATIC_BROKER_CONFIG
CONFIG_SOURCE_DEFAULT = 5  # DEFAULT_CONFIG

# Kafka's ConfigType codes.
BOOLEAN, STRING, INT, LONG, LIST = 1, 2, 3, 5, 7

# Topic config -> (type, broker-level synonym).
TOPIC_CONFIG_INFO: dict[str, tuple[int, str]] = {
    "segment.bytes": (INT, "log.segment.bytes"),
    "segment.ms": (LONG, "log.roll.ms"),
    "retention.ms": (LONG, "log.retention.ms"),
    "retention.bytes": (LONG, "log.retention.bytes"),
    "max.message.bytes": (INT, "message.max.bytes"),
    "index.interval.bytes": (INT, "log.index.interval.bytes"),
    "segment.index.bytes": (INT, "log.index.size.max.bytes"),
    "cleanup.policy": (LIST, "log.cleanup.policy"),
    "compression.type": (STRING, "compression.type"),
    "message.timestamp.type": (STRING, "log.message.timestamp.type"),
    "min.insync.replicas": (INT, "min.insync.replicas"),
}
# Topic config -> a line of documentation (DescribeConfigs ``include_documentation``).
TOPIC_CONFIG_DOCS: dict[str, str] = {
    "segment.bytes": "Segment file size for the log.",
    "segment.ms": "Time after which a new segment is rolled.",
    "retention.ms": "How long to keep a segment before deleting it; -1 keeps forever.",
    "retention.bytes": "Maximum partition size before old segments are deleted; -1: no limit.",
    "max.message.bytes": "Largest record batch size allowed.",
    "index.interval.bytes": "Bytes between entries in the offset index.",
    "segment.index.bytes": "Size of the offset index.",
    "cleanup.policy": "delete (retention), compact (keep the last record per key) or both.",
    "compression.type": "Batches are stored as the producer compressed them.",
    "message.timestamp.type": "Record timestamps are the producer's CreateTime.",
    "min.insync.replicas": "One broker: always 1.",
}
LIST_CONFIGS = frozenset(k for k, (t, _) in TOPIC_CONFIG_INFO.items() if t == LIST)


def broker_configs(broker: Broker) -> list[tuple[str, str, int, int]]:
    """(name, value, source, type) of the broker configs this broker describes."""
    c = broker.config
    host, port = broker.listener or (c.host, c.port)
    static, default = CONFIG_SOURCE_STATIC_BROKER, CONFIG_SOURCE_DEFAULT
    return [
        ("node.id", str(c.node_id), static, INT),
        ("broker.id", str(c.node_id), static, INT),
        ("listeners", f"PLAINTEXT://{c.host}:{port}", static, LIST),
        ("advertised.listeners", f"PLAINTEXT://{host}:{port}", static, LIST),
        ("log.dirs", str(c.data_dir), static, STRING),
        ("num.partitions", str(c.default_partitions), static, INT),
        ("auto.create.topics.enable", "true" if c.auto_create_topics else "false", static,
         BOOLEAN),
        ("default.replication.factor", "1", default, INT),
        ("offsets.topic.replication.factor", "1", default, INT),
        ("min.insync.replicas", "1", default, INT),
        ("message.max.bytes", str(c.log.max_message_bytes), static, INT),
        ("log.segment.bytes", str(c.log.segment_bytes), static, INT),
        ("log.roll.ms", str(c.log.segment_ms), static, LONG),
        ("log.retention.ms", str(c.log.retention_ms), static, LONG),
        ("log.retention.bytes", str(c.log.retention_bytes), static, LONG),
        ("log.retention.check.interval.ms", str(c.retention_check_ms), static, LONG),
        ("log.index.interval.bytes", str(c.log.index_interval_bytes), static, INT),
        ("log.flush.interval.messages", "1" if c.fsync == "always" else "9223372036854775807",
         static, LONG),
        ("log.flush.interval.ms", str(c.fsync_interval_ms), static, LONG),
        ("log.cleanup.policy", "delete", default, LIST),
        ("log.message.timestamp.type", "CreateTime", default, STRING),
        ("compression.type", "producer", default, STRING),
        ("socket.request.max.bytes", str(c.max_request_bytes), static, INT),
        ("connections.max.idle.ms", str(c.connection_idle_ms), static, LONG),
    ]


def topic_config_entries(
    broker: Broker, name: str, *, synonyms: bool = False, documentation: bool = False
) -> list[dict]:
    """DescribeConfigs entries for every effective config of topic ``name``."""
    values = broker.topic_config_values(name)
    defaults = broker.config.log.as_topic_configs()
    out = []
    for key, (value, is_default) in sorted(values.items()):
        ctype, broker_name = TOPIC_CONFIG_INFO.get(key, (STRING, key))
        source = CONFIG_SOURCE_DEFAULT if is_default else CONFIG_SOURCE_TOPIC
        syn = []
        if synonyms:
            if not is_default:
                syn.append({"name": key, "value": value, "source": CONFIG_SOURCE_TOPIC})
            syn.append({"name": broker_name, "value": defaults.get(key, value),
                        "source": CONFIG_SOURCE_DEFAULT})
        out.append({
            "name": key, "value": value, "read_only": False, "is_default": is_default,
            "config_source": source, "is_sensitive": False, "synonyms": syn,
            "config_type": ctype,
            "documentation": TOPIC_CONFIG_DOCS.get(key, "") if documentation else None,
        })
    return out


def check_broker_name(broker: Broker, resource_name: str) -> None:
    if resource_name not in ("", str(broker.node_id)):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {broker.node_id} or empty string,"
            f" but received {resource_name}",
        )


def check_topic_name(broker: Broker, resource_name: str) -> None:
    reason = validate_topic_name(resource_name)
    if reason:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
    broker.get_topic(resource_name)


def alter_resources(
    broker: Broker, request: dict, alter_topic: Callable[[Broker, str, list[dict], bool], None]
) -> dict:
    """The response of AlterConfigs / IncrementalAlterConfigs, sharing their rules.

    Per resource: a resource named twice or a config named twice, an unknown resource
    type, or any change to the (read-only) broker gets INVALID_REQUEST; a topic is
    checked (name, existence) and handed to
    ``alter_topic(broker, name, configs, validate_only)``, whose KafkaError becomes that
    resource's error.
    """
    validate_only = bool(request.get("validate_only", False))
    resources = request.get("resources") or []
    counts = Counter((r["resource_type"], r["resource_name"]) for r in resources)
    out = []
    for res in resources:
        rtype, rname = res["resource_type"], res["resource_name"]
        code, message = 0, None
        try:
            if counts[(rtype, rname)] > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Resource {rname} given twice")
            configs = res.get("configs") or []
            names = [c["name"] for c in configs]
            if len(set(names)) != len(names):
                raise KafkaError(ErrorCode.INVALID_REQUEST, "A config is given twice")
            if rtype == RESOURCE_TOPIC:
                check_topic_name(broker, rname)
                alter_topic(broker, rname, configs, validate_only)
            elif rtype == RESOURCE_BROKER:
                check_broker_name(broker, rname)
                if configs:
                    raise KafkaError(
                        ErrorCode.INVALID_REQUEST,
                        "Broker configs are read-only; restart the broker with new settings.",
                    )
            else:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type {rtype}")
        except KafkaError as exc:
            code, message = int(exc.code), exc.message or None
        out.append({"error_code": code, "error_message": message, "resource_type": rtype,
                    "resource_name": rname})
    return {"throttle_time_ms": 0, "responses": out}


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    synonyms = bool(request.get("include_synonyms", False))
    documentation = bool(request.get("include_documentation", False))
    results = []
    for res in request.get("resources") or []:
        rtype = res["resource_type"]
        rname = res["resource_name"]
        keys = res.get("configuration_keys")
        try:
            if rtype == RESOURCE_TOPIC:
                check_topic_name(broker, rname)
                entries = topic_config_entries(
                    broker, rname, synonyms=synonyms, documentation=documentation
                )
            elif rtype == RESOURCE_BROKER:
                check_broker_name(broker, rname)
                entries = [
                    {"name": k, "value": v, "read_only": True,
                     "is_default": source == CONFIG_SOURCE_DEFAULT, "config_source": source,
                     "is_sensitive": False,
                     "synonyms": [{"name": k, "value": v, "source": source}] if synonyms else [],
                     "config_type": ctype, "documentation": None}
                    for k, v, source, ctype in broker_configs(broker)
                ]
            else:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type {rtype}")
        except KafkaError as exc:
            results.append({"error_code": int(exc.code), "error_message": exc.message or None,
                            "resource_type": rtype, "resource_name": rname, "configs": []})
            continue
        if keys is not None:
            wanted = set(keys)
            entries = [e for e in entries if e["name"] in wanted]
        results.append({"error_code": 0, "error_message": None, "resource_type": rtype,
                        "resource_name": rname, "configs": entries})
    return {"throttle_time_ms": 0, "results": results}
