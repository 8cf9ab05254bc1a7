"""Dynamic broker configs: which broker configs change at run time, and what they mean.

Contract:

* Two scopes, as Kafka's: the cluster-wide default (resource name "") and this broker
  (its node id). A per-broker value beats the cluster default, which beats the value the
  broker was started with (STATIC_BROKER_CONFIG), which beats Kafka's default.
* :data:`DYNAMIC_BROKER_CONFIGS` are the names Kafka 3.x lets AlterConfigs /
  IncrementalAlterConfigs change on a broker resource and that mean something here:
  the broker-level synonym of each topic config (``log.retention.ms``,
  ``log.segment.bytes``, ``message.max.bytes``, ``compression.type`` ...: Kafka's
  DynamicLogConfig, minus ``log.message.format.version``) and the log cleaner's
  settings (``log.cleaner.threads`` ...: stored and reported; the cleaner reads them).
  The log ones take effect at once for every topic without its own override
  (:func:`dynamic_log_overrides`).
* Any other broker config is refused with INVALID_REQUEST, as Kafka refuses it
  ("Cannot update these configs dynamically: ..." for its read-only configs such as
  ``num.partitions``; Kafka words config validation failures on broker resources as
  INVALID_REQUEST too, KAFKA-13609). Unlike Kafka, names Kafka does not know are refused
  too (Kafka would store them as custom configs).
* :func:`check_broker_changes` validates a new set of values for one scope;
  :func:`describe_entries` builds DescribeConfigs entries with Kafka's sources:
  DYNAMIC_BROKER_CONFIG (2), DYNAMIC_DEFAULT_BROKER_CONFIG (3), STATIC_BROKER_CONFIG (4),
  DEFAULT_CONFIG (5) (Kafka's ConfigSource codes, as librdkafka's enum has them), and
  synonyms in that order.

Pure: no I/O; the broker persists the values (core/meta/store.py) and applies them.
"""

from __future__ import annotations

from dataclasses import replace

from streamscope.core.configdefs import (
    DOUBLE,
    INT,
    LONG,
    TOPIC_CONFIGS,
    ConfigDef,
    ConfigError,
    at_least,
)
from streamscope.core.errors import ErrorCode, KafkaError

# Kafka's ConfigSource codes.
SOURCE_TOPIC = 1  # DYNAMIC_TOPIC_CONFIG
SOURCE_DYNAMIC_BROKER = 2  # DYNAMIC_BROKER_CONFIG
SOURCE_STATIC_BROKER = 4  # STATIC_BROKER_CONFIG
SOURCE_DEFAULT = 5  # DEFAULT_CONFIG
SOURCE_DYNAMIC_DEFAULT = 3  # DYNAMIC_DEFAULT_BROKER_CONFIG


def _log_defs() -> dict[str, tuple[ConfigDef, str]]:
    """Broker name -> (its definition under that name, the topic config it stands for)."""
    out: dict[str, tuple[ConfigDef, str]] = {}
    for topic_name, d in TOPIC_CONFIGS.items():
        if not d.synonyms or topic_name == "message.format.version":
            continue
        broker_name = d.synonyms[0]  # Kafka's DynamicLogConfig: the primary synonym only
        out[broker_name] = (replace(d, name=broker_name), topic_name)
    return out


#: Broker name -> (definition, topic config it is the default of) for the log configs.
DYNAMIC_LOG_CONFIGS = _log_defs()
_CLEANER = "Stored and reported; read by the log cleaner."
#: The log cleaner's dynamic configs (Kafka's LogCleaner.ReconfigurableConfigs).
DYNAMIC_CLEANER_CONFIGS: dict[str, ConfigDef] = {
    d.name: d for d in (
        ConfigDef("log.cleaner.threads", INT, "1", "Threads of the log cleaner.", at_least(0)),
        ConfigDef("log.cleaner.io.max.bytes.per.second", DOUBLE, "1.7976931348623157E308",
                  "I/O rate limit of the log cleaner."),
        ConfigDef("log.cleaner.dedupe.buffer.size", LONG, "134217728",
                  "Memory for the cleaner's deduplication buffers."),
        ConfigDef("log.cleaner.io.buffer.size", INT, "524288",
                  "Memory for the cleaner's I/O buffers.", at_least(0)),
        ConfigDef("log.cleaner.io.buffer.load.factor", DOUBLE, "0.9",
                  "Load factor of the cleaner's dedupe buffer."),
        ConfigDef("log.cleaner.backoff.ms", LONG, "15000",
                  "Sleep of the cleaner when there is nothing to clean.", at_least(0)),
    )
}
#: Every broker config changeable at run time here, name -> definition.
DYNAMIC_BROKER_CONFIGS: dict[str, ConfigDef] = {
    **{name: d for name, (d, _) in DYNAMIC_LOG_CONFIGS.items()},
    **DYNAMIC_CLEANER_CONFIGS,
}


def documentation(name: str) -> str:
    d = DYNAMIC_BROKER_CONFIGS.get(name)
    if d is None:
        return "Read-only: set when the broker starts."
    if name in DYNAMIC_CLEANER_CONFIGS:
        return f"{d.doc} {_CLEANER}"
    topic = DYNAMIC_LOG_CONFIGS[name][1]
    return f"Default of topic config {topic}. {d.documentation}"


def check_broker_changes(new: dict[str, str], read_only: set[str]) -> None:
    """Refuse (KafkaError INVALID_REQUEST, Kafka's words) a scope's new dynamic values
    naming read-only or unknown configs, or holding a bad value."""
    fixed = sorted(n for n in new if n not in DYNAMIC_BROKER_CONFIGS and n in read_only)
    if fixed:
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         f"Cannot update these configs dynamically: Set({', '.join(fixed)})")
    unknown = sorted(n for n in new if n not in DYNAMIC_BROKER_CONFIGS)
    if unknown:
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         f"Unknown broker configs: {', '.join(unknown)}")
    for name, value in new.items():
        try:
            DYNAMIC_BROKER_CONFIGS[name].parse(value)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_REQUEST, str(exc)) from None


def dynamic_log_overrides(default: dict[str, str], per_broker: dict[str, str]) -> dict[str, str]:
    """The topic configs (topic names) the dynamic broker values set for every topic."""
    out: dict[str, str] = {}
    for broker_name, (_d, topic_name) in DYNAMIC_LOG_CONFIGS.items():
        if broker_name in per_broker:
            out[topic_name] = per_broker[broker_name]
        elif broker_name in default:
            out[topic_name] = default[broker_name]
    return out


def describe_entries(
    static: list[tuple[str, str, int, int]], default: dict[str, str],
    per_broker: dict[str, str], *, cluster_default: bool,
) -> list[tuple[str, str, int, int, bool, list[tuple[str, str, int]]]]:
    """(name, value, source, type, read_only, synonyms) of a broker resource's configs.

    ``static`` is (name, value, source, type) of the configs the broker was started
    with; ``cluster_default`` describes resource "" (only the values set there, as
    Kafka answers it).
    """
    if cluster_default:
        return [(n, v, SOURCE_DYNAMIC_DEFAULT, DYNAMIC_BROKER_CONFIGS[n].type, False,
                 [(n, v, SOURCE_DYNAMIC_DEFAULT)]) for n, v in sorted(default.items())]
    out = []
    static_by_name = {n: (v, s, t) for n, v, s, t in static}
    names = list(static_by_name) + [n for n in DYNAMIC_BROKER_CONFIGS if n not in static_by_name]
    for name in names:
        synonyms: list[tuple[str, str, int]] = []
        if name in per_broker:
            synonyms.append((name, per_broker[name], SOURCE_DYNAMIC_BROKER))
        if name in default:
            synonyms.append((name, default[name], SOURCE_DYNAMIC_DEFAULT))
        d = DYNAMIC_BROKER_CONFIGS.get(name)
        if name in static_by_name:
            value, source, ctype = static_by_name[name]
            synonyms.append((name, value, source))
        else:
            assert d is not None
            ctype = d.type
            synonyms.append((name, d.default, SOURCE_DEFAULT))
        value, source = synonyms[0][1], synonyms[0][2]
        out.append((name, value, source, ctype, d is None, synonyms))
    return out
