"""DescribeConfigs (key 32), versions 0-4: topic and broker configs, as Kafka names them.

Behaviour, per resource:

* Topic (resource type 2): every topic config of a Kafka 3.x broker
  (core/configdefs.py), with its effective value: an override set on the topic has
  config_source DYNAMIC_TOPIC_CONFIG (1); otherwise the value comes from a dynamic
  broker config (DYNAMIC_BROKER_CONFIG 2 / DYNAMIC_DEFAULT_BROKER_CONFIG 3) or is the
  default (DEFAULT_CONFIG 5, ``is_default`` true in v0). ``config_type`` is Kafka's
  type of the config; the documentation line (v3+) says whether this broker honours it.
  Nothing is read-only or sensitive. Unknown topic: UNKNOWN_TOPIC_OR_PARTITION (3);
  invalid name: INVALID_TOPIC_EXCEPTION (17).
* Broker (resource type 4), this node's id: the configs the broker was started with
  under Kafka's names (``node.id``, ``listeners``, ``log.dirs``, ``num.partitions`` ...),
  read-only, STATIC_BROKER_CONFIG (4) or DEFAULT_CONFIG (5); and every dynamic broker
  config (core/broker_configs.py: ``log.retention.ms``, ``log.cleaner.threads`` ...),
  not read-only, whose value is the per-broker dynamic one (2), else the cluster-wide
  one (3), else the static or default one. Name "": only the cluster-wide dynamic
  values (source 3), as Kafka answers. Another broker id gets INVALID_REQUEST (42).
* Any other resource type (broker loggers, client metrics, groups): INVALID_REQUEST.
* ``configuration_keys`` null means all; otherwise only those names (unknown ones left out).
* ``include_synonyms`` (v1+): Kafka's order: the topic's override, then per broker-level
  synonym name its per-broker (2) and cluster-wide (3) dynamic values, then the default
  (5); for a broker config: per-broker, cluster-wide, static, default. Otherwise
  synonyms is empty. ``include_documentation`` (v3+): a one-line description, else null.

Version notes: v0 has ``is_default`` instead of ``config_source``; v1 adds config_source,
synonyms and throttle time; v2 is v1; v3 adds config_type and documentation; v4 is
flexible.

The helpers here (config sources, types, broker config list) are shared with CreateTopics,
AlterConfigs and IncrementalAlterConfigs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.broker_configs import (
    SOURCE_DEFAULT,
    SOURCE_DYNAMIC_BROKER,
    SOURCE_DYNAMIC_DEFAULT,
    SOURCE_STATIC_BROKER,
    SOURCE_TOPIC,
    describe_entries,
)
from streamscope.core.broker_configs import documentation as broker_documentation
from streamscope.core.configdefs import BOOLEAN, INT, LIST, LONG, STRING, TOPIC_CONFIGS
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
CONFIG_SOURCE_TOPIC = SOURCE_TOPIC  # DYNAMIC_TOPIC_CONFIG
CONFIG_SOURCE_STATIC_BROKER = SOURCE_STATIC_BROKER  # STATIC_BROKER_CONFIG
CONFIG_SOURCE_DEFAULT = SOURCE_DEFAULT  # DEFAULT_CONFIG


def broker_configs(broker: Broker) -> list[tuple[str, str, int, int]]:
    """(name, value, source, type) of the broker configs this broker describes."""
    c = broker.static_config
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
    return config_entries_for(broker, broker.topic_config_values(name),
                              synonyms=synonyms, documentation=documentation)


def config_entries_for(
    broker: Broker, values: dict[str, tuple[str, bool]], *, synonyms: bool = False,
    documentation: bool = False,
) -> list[dict]:
    """DescribeConfigs entries for a topic's effective configs, name -> (value,
    is_default) (CreateTopics describes a topic it only validated the same way)."""
    out = []
    for key, (value, is_default) in sorted(values.items()):
        d = TOPIC_CONFIGS[key]
        syn = topic_config_synonyms(broker, key, None if is_default else value)
        source = syn[0][2]
        out.append({
            "name": key, "value": value, "read_only": False,
            "is_default": source == SOURCE_DEFAULT,
            "config_source": source, "is_sensitive": False,
            "synonyms": [{"name": n, "value": v, "source": s} for n, v, s in syn] if synonyms else [],
            "config_type": d.type,
            "documentation": d.documentation if documentation else None,
        })
    return out


def topic_config_synonyms(broker: Broker, key: str, override: str | None) -> list[tuple[str, str, int]]:
    """(name, value, source) of topic config ``key``'s synonyms in Kafka's order: the
    topic's override (if any), then per broker-level synonym name its per-broker and
    cluster-wide dynamic values, then the default. The first one is the value in use."""
    d = TOPIC_CONFIGS[key]
    default_scope = broker.dynamic_configs.get("", {})
    node_scope = broker.dynamic_configs.get(str(broker.node_id), {})
    syn: list[tuple[str, str, int]] = []
    if override is not None:
        syn.append((key, override, SOURCE_TOPIC))
    for broker_name in d.synonyms:
        if broker_name in node_scope:
            syn.append((broker_name, node_scope[broker_name], SOURCE_DYNAMIC_BROKER))
        if broker_name in default_scope:
            syn.append((broker_name, default_scope[broker_name], SOURCE_DYNAMIC_DEFAULT))
    static = broker.static_config.log.as_topic_configs()
    syn.append((d.synonyms[0] if d.synonyms else key, static.get(key, d.default),
                SOURCE_DEFAULT))
    return syn


def broker_config_entries(
    broker: Broker, resource_name: str, *, synonyms: bool = False, documentation: bool = False
) -> list[dict]:
    """DescribeConfigs entries of a broker resource ("" is the cluster-wide default)."""
    rows = describe_entries(
        broker_configs(broker), broker.dynamic_configs.get("", {}),
        broker.dynamic_configs.get(str(broker.node_id), {}),
        cluster_default=resource_name == "")
    return [
        {"name": k, "value": v, "read_only": read_only,
         "is_default": source == SOURCE_DEFAULT, "config_source": source,
         "is_sensitive": False,
         "synonyms": [{"name": n, "value": sv, "source": ss} for n, sv, ss in syn]
         if synonyms else [],
         "config_type": ctype,
         "documentation": broker_documentation(k) if documentation else None}
        for k, v, source, ctype, read_only, syn in rows
    ]


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


#: Computes a resource's new set of overrides from (its current overrides, the
#: request's config entries, a lookup of a config's effective value).
NewOverrides = Callable[[dict[str, str], list[dict], Callable[[str], str]], dict[str, str]]


def alter_resources(broker: Broker, request: dict, new_overrides: NewOverrides, *,
                    repeats_allowed: bool = False) -> dict:
    """The response of AlterConfigs / IncrementalAlterConfigs, sharing their rules.

    Per resource: a resource named twice, a config named twice (unless
    ``repeats_allowed``: then ``new_overrides`` decides, the legacy AlterConfigs taking
    the last value), or an unknown resource type gets INVALID_REQUEST. A topic is checked (name, existence) and its
    overrides replaced by ``new_overrides(current, configs, effective)``
    (:meth:`Broker.alter_topic_configs`: INVALID_CONFIG for bad names or values); a
    broker resource ("" or this node's id) likewise gets its dynamic configs
    (:meth:`Broker.alter_broker_configs`: INVALID_REQUEST for read-only names or bad
    values, core/broker_configs.py). A KafkaError becomes that resource's error, and
    nothing of that resource changes.
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
            if not repeats_allowed and len(set(names)) != len(names):
                raise KafkaError(ErrorCode.INVALID_REQUEST, "A config is given twice")
            if rtype == RESOURCE_TOPIC:
                check_topic_name(broker, rname)
                topic = broker.get_topic(rname)
                values = {k: v for k, (v, _) in broker.topic_config_values(rname).items()}
                new = new_overrides(dict(topic.configs), configs,
                                    partial(_lookup, values))
                broker.alter_topic_configs(rname, new, validate_only=validate_only)
            elif rtype == RESOURCE_BROKER:
                check_broker_name(broker, rname)
                scope = rname
                current = dict(broker.dynamic_configs.get(scope, {}))
                effective = {e["name"]: e["value"]
                             for e in broker_config_entries(broker, str(broker.node_id))}
                new = new_overrides(current, configs, partial(_lookup, effective))
                broker.alter_broker_configs(
                    scope, new, read_only={n for n, *_ in broker_configs(broker)},
                    validate_only=validate_only)
            else:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type {rtype}")
        except KafkaError as exc:
            code, message = int(exc.code), exc.message or None
        out.append({"error_code": code, "error_message": message, "resource_type": rtype,
                    "resource_name": rname})
    return {"throttle_time_ms": 0, "responses": out}


def _lookup(values: dict[str, str], name: str) -> str:
    return values.get(name, "")


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
                entries = broker_config_entries(
                    broker, rname, synonyms=synonyms, documentation=documentation)
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
