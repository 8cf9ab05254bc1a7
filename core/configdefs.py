"""Kafka's topic configs (a 3.x broker's full list): types, defaults, validation, synonyms.

Contract:

* :data:`TOPIC_CONFIGS` holds every topic config name a Kafka 3.x broker accepts (3.9's
  list, the deprecated ``message.format.version`` and
  ``message.timestamp.difference.max.ms`` included), each a :class:`ConfigDef`: its
  Kafka ConfigType code (as DescribeConfigs reports it), Kafka's default as a string,
  its validator, its broker-level synonyms in Kafka's order of precedence, whether this
  broker honours it, and a documentation line that says so.
* :meth:`ConfigDef.parse` turns a string into the typed value or raises
  :class:`ConfigError` whose message is Kafka's (``Invalid value X for configuration Y:
  reason``), as Kafka's ``ConfigDef`` types and validators word it. A value longer
  than :data:`MAX_VALUE_CHARS` is refused too (Kafka has no such cap). Any name not in
  :data:`TOPIC_CONFIGS` is unknown (callers answer INVALID_CONFIG).
* Honoured here: ``segment.bytes``, ``segment.ms``, ``retention.ms``, ``retention.bytes``,
  ``max.message.bytes``, ``index.interval.bytes``, ``compression.type`` (and the
  ``compression.*.level`` of the codec it names), ``message.timestamp.type``
  and the ``message.timestamp.{before,after,difference}.max.ms`` bounds of CreateTime
  timestamps (core/produce_rewrite.py), and ``min.insync.replicas`` (acks=all needs it
  to be 1 on one broker), and the log-compaction names (``cleanup.policy``,
  ``delete.retention.ms``, ``min.cleanable.dirty.ratio``, ``min.compaction.lag.ms``,
  ``max.compaction.lag.ms``): validated here, acted on by the log cleaner
  (core/log/cleaner.py). Every other name is
  accepted, validated and reported, and has no effect on one broker (replication,
  tiered storage, down-conversion, preallocation, fsync per topic).

No state, no I/O: pure definitions shared by core/config.py, the config APIs and the GUI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Kafka's ConfigType codes (DescribeConfigs v3+ ``config_type``).
BOOLEAN, STRING, INT, SHORT, LONG, DOUBLE, LIST, CLASS, PASSWORD = 1, 2, 3, 4, 5, 6, 7, 8, 9
TYPE_NAMES = {BOOLEAN: "BOOLEAN", STRING: "STRING", INT: "INT", SHORT: "SHORT", LONG: "LONG",
              DOUBLE: "DOUBLE", LIST: "LIST", CLASS: "CLASS", PASSWORD: "PASSWORD"}

#: The longest config value accepted (a throttled-replica list of 10,000 partitions is
#: ~100 KB).
MAX_VALUE_CHARS = 1024 * 1024
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
_BOUNDS = {INT: (-(2**31), INT_MAX), SHORT: (-(2**15), 2**15 - 1), LONG: (-(2**63), LONG_MAX)}


class ConfigError(ValueError):
    """A value Kafka's ConfigDef would refuse; ``str()`` is Kafka's message."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"Invalid value {value} for configuration {name}: {reason}")


Validator = Callable[[Any], "str | None"]  # the typed value -> None, or the reason


def at_least(low: float) -> Validator:
    return lambda v: None if v >= low else f"Value must be at least {_num(low)}"


def between(low: float, high: float) -> Validator:
    def check(v: float) -> str | None:
        if v < low:
            return f"Value must be at least {_num(low)}"
        if v > high:
            return f"Value must be no more than {_num(high)}"
        return None
    return check


def one_of(*allowed: str) -> Validator:
    return lambda v: None if v in allowed else f"String must be one of: {', '.join(allowed)}"


def list_of(*allowed: str) -> Validator:
    def check(items: list[str]) -> str | None:
        for item in items:
            if item not in allowed:
                return f"String must be one of: {', '.join(allowed)}"
        return None
    return check


_REPLICA = re.compile(r"[0-9]+:[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _throttled_replicas(items: list[str]) -> str | None:
    if items == ["*"] or all(_REPLICA.fullmatch(i) for i in items):
        return None
    return ("must be the literal '*' or a list of replicas in the following format:"
            " [partitionId]:[brokerId],[partitionId]:[brokerId],...")


_FORMAT_VERSION = re.compile(
    r"(0\.8\.[0-2]|0\.9\.0|0\.10\.[0-2]|0\.11\.0|1\.[01]|2\.[0-8]|3\.[0-9])"
    r"(\.\d+)?(-IV\d+)?")


def _format_version(v: str) -> str | None:
    return None if _FORMAT_VERSION.fullmatch(v) else f"Version `{v}` is not a valid version"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True, slots=True)
class ConfigDef:
    """One topic config as Kafka defines it (module docstring)."""

    name: str
    type: int
    default: str
    doc: str
    check: Validator | None = None
    synonyms: tuple[str, ...] = ()  # broker-level names, most preferred first
    honoured: bool = False

    def parse(self, raw: str | None) -> Any:
        """The typed value of ``raw``, validated; :class:`ConfigError` when Kafka refuses it."""
        if raw is None:
            raise ConfigError(self.name, "null", "Value must not be null")
        if len(raw) > MAX_VALUE_CHARS:
            # Stored per topic and reloaded at every start: bounded (Kafka has no cap).
            raise ConfigError(self.name, raw[:40] + "...",
                              f"Value is longer than {MAX_VALUE_CHARS} characters")
        text = raw.strip()
        value: Any
        if self.type in _BOUNDS:
            # Java's parseInt/parseLong: digits and a sign only (Python's int() would
            # also take "1_000" and non-ASCII digits).
            value = int(text) if _INTEGER.fullmatch(text) else None
            low, high = _BOUNDS[self.type]
            if value is None or not low <= value <= high:
                raise ConfigError(self.name, raw, f"Not a number of type {TYPE_NAMES[self.type]}")
        elif self.type == DOUBLE:
            try:
                if "_" in text:
                    raise ValueError(text)
                value = float(text)
            except ValueError:
                raise ConfigError(self.name, raw, "Not a number of type DOUBLE") from None
        elif self.type == BOOLEAN:
            if text.lower() not in ("true", "false"):
                raise ConfigError(self.name, raw, "Expected value to be either true or false")
            value = text.lower() == "true"
        elif self.type == LIST:
            value = [item.strip() for item in text.split(",") if item.strip()]
        else:
            value = text
        if self.check is not None:
            reason = self.check(value)
            if reason:
                raise ConfigError(self.name, raw, reason)
        return value

    @property
    def documentation(self) -> str:
        """The DescribeConfigs documentation line: Kafka's meaning, then what it does here."""
        here = "Honoured by this broker." if self.honoured else "Accepted and stored; no effect on this one-node broker."
        return f"{self.doc} {here}"


_CODECS = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
_WEEK_MS = str(7 * 24 * 3600 * 1000)


def _defs(*defs: ConfigDef) -> dict[str, ConfigDef]:
    return {d.name: d for d in defs}


TOPIC_CONFIGS: dict[str, ConfigDef] = _defs(
    ConfigDef("cleanup.policy", LIST, "delete",
              "Retention policy of old log segments: delete and/or compact.",
              list_of("compact", "delete"), ("log.cleanup.policy",), honoured=True),
    ConfigDef("compression.type", STRING, "producer",
              "Codec of the stored batches; 'producer' keeps the producer's codec, any other"
              " value makes the broker recompress batches in another codec.",
              one_of(*_CODECS), ("compression.type",), honoured=True),
    ConfigDef("compression.gzip.level", INT, "-1",
              "Compression level when compression.type is gzip.",
              lambda v: None if v == -1 or 1 <= v <= 9 else "Value must be between 1 and 9 or -1",
              ("compression.gzip.level",), honoured=True),
    ConfigDef("compression.lz4.level", INT, "9",
              "Compression level when compression.type is lz4.", between(1, 17),
              ("compression.lz4.level",), honoured=True),
    ConfigDef("compression.zstd.level", INT, "3",
              "Compression level when compression.type is zstd.", between(-131072, 22),
              ("compression.zstd.level",), honoured=True),
    ConfigDef("delete.retention.ms", LONG, "86400000",
              "How long delete tombstones are kept on compacted topics.", at_least(0),
              ("log.cleaner.delete.retention.ms",), honoured=True),
    ConfigDef("file.delete.delay.ms", LONG, "60000",
              "Time to wait before deleting a file from the filesystem.", at_least(0),
              ("log.segment.delete.delay.ms",)),
    ConfigDef("flush.messages", LONG, str(LONG_MAX),
              "Messages between forced fsyncs of the log (here the broker's fsync policy rules).",
              at_least(1), ("log.flush.interval.messages",)),
    ConfigDef("flush.ms", LONG, str(LONG_MAX),
              "Time between forced fsyncs of the log (here the broker's fsync policy rules).",
              at_least(0), ("log.flush.interval.ms", "log.flush.scheduler.interval.ms")),
    ConfigDef("follower.replication.throttled.replicas", LIST, "",
              "Replicas whose replication is throttled on the follower side.",
              _throttled_replicas),
    ConfigDef("index.interval.bytes", INT, "4096",
              "Bytes of log between entries of the offset index.", at_least(0),
              ("log.index.interval.bytes",), honoured=True),
    ConfigDef("leader.replication.throttled.replicas", LIST, "",
              "Replicas whose replication is throttled on the leader side.",
              _throttled_replicas),
    ConfigDef("local.retention.bytes", LONG, "-2",
              "Local size limit of a tiered partition (-2: retention.bytes).", at_least(-2),
              ("log.local.retention.bytes",)),
    ConfigDef("local.retention.ms", LONG, "-2",
              "Local time limit of a tiered partition (-2: retention.ms).", at_least(-2),
              ("log.local.retention.ms",)),
    ConfigDef("max.compaction.lag.ms", LONG, str(LONG_MAX),
              "Longest time a message stays ineligible for compaction.", at_least(1),
              ("log.cleaner.max.compaction.lag.ms",), honoured=True),
    ConfigDef("max.message.bytes", INT, "1048588",
              "Largest record batch size allowed.", at_least(0), ("message.max.bytes",),
              honoured=True),
    ConfigDef("message.downconversion.enable", BOOLEAN, "true",
              "Whether old consumers get down-converted batches.", None,
              ("log.message.downconversion.enable",)),
    ConfigDef("message.format.version", STRING, "3.0-IV1",
              "Deprecated: ignored since message format v2 and inter-broker protocol 3.0.",
              _format_version, ("log.message.format.version",)),
    ConfigDef("message.timestamp.after.max.ms", LONG, str(LONG_MAX),
              "Largest allowed lead of a CreateTime timestamp over the broker's clock.",
              at_least(0), ("log.message.timestamp.after.max.ms",), honoured=True),
    ConfigDef("message.timestamp.before.max.ms", LONG, str(LONG_MAX),
              "Largest allowed lag of a CreateTime timestamp behind the broker's clock.",
              at_least(0), ("log.message.timestamp.before.max.ms",), honoured=True),
    ConfigDef("message.timestamp.difference.max.ms", LONG, str(LONG_MAX),
              "Deprecated: largest allowed difference of a CreateTime timestamp.",
              at_least(0), ("log.message.timestamp.difference.max.ms",), honoured=True),
    ConfigDef("message.timestamp.type", STRING, "CreateTime",
              "CreateTime keeps the producer's timestamps; LogAppendTime makes the broker"
              " stamp each batch with its append time.",
              one_of("CreateTime", "LogAppendTime"), ("log.message.timestamp.type",),
              honoured=True),
    ConfigDef("min.cleanable.dirty.ratio", DOUBLE, "0.5",
              "Dirty share of the log that triggers compaction.", between(0, 1),
              ("log.cleaner.min.cleanable.ratio",), honoured=True),
    ConfigDef("min.compaction.lag.ms", LONG, "0",
              "Shortest time a message stays uncompacted.", at_least(0),
              ("log.cleaner.min.compaction.lag.ms",), honoured=True),
    ConfigDef("min.insync.replicas", INT, "1",
              "In-sync replicas an acks=all write needs (one broker: above 1, acks=all"
              " writes get NOT_ENOUGH_REPLICAS).", at_least(1), ("min.insync.replicas",),
              honoured=True),
    ConfigDef("preallocate", BOOLEAN, "false",
              "Whether new segment files are preallocated.", None, ("log.preallocate",)),
    ConfigDef("remote.log.copy.disable", BOOLEAN, "false",
              "Stops copying segments to tiered storage.", None),
    ConfigDef("remote.log.delete.on.disable", BOOLEAN, "false",
              "Deletes tiered data when tiered storage is disabled.", None),
    ConfigDef("remote.storage.enable", BOOLEAN, "false",
              "Tiered storage for the topic (not available here).", None),
    ConfigDef("retention.bytes", LONG, "-1",
              "Largest partition size before old segments are deleted; -1: no limit.", None,
              ("log.retention.bytes",), honoured=True),
    ConfigDef("retention.ms", LONG, _WEEK_MS,
              "How long a segment is kept before deletion; -1 keeps forever.", at_least(-1),
              ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
              honoured=True),
    ConfigDef("segment.bytes", INT, "1073741824",
              "Segment file size of the log.", at_least(14), ("log.segment.bytes",),
              honoured=True),
    ConfigDef("segment.index.bytes", INT, "10485760",
              "Size of a segment's offset index (sized by the log here).", at_least(4),
              ("log.index.size.max.bytes",)),
    ConfigDef("segment.jitter.ms", LONG, "0",
              "Random jitter subtracted from segment.ms.", at_least(0),
              ("log.roll.jitter.ms", "log.roll.jitter.hours")),
    ConfigDef("segment.ms", LONG, _WEEK_MS,
              "Time after which a new segment is rolled.", at_least(1),
              ("log.roll.ms", "log.roll.hours"), honoured=True),
    ConfigDef("unclean.leader.election.enable", BOOLEAN, "false",
              "Whether an out-of-sync replica may become leader.", None,
              ("unclean.leader.election.enable",)),
)

#: Topic configs whose value is a list (IncrementalAlterConfigs APPEND/SUBTRACT).
LIST_CONFIGS = frozenset(n for n, d in TOPIC_CONFIGS.items() if d.type == LIST)


def parse_topic_config(name: str, raw: str | None) -> Any:
    """The typed value of topic config ``name``; KeyError for an unknown name,
    :class:`ConfigError` for a bad value."""
    return TOPIC_CONFIGS[name].parse(raw)
