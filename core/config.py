"""Broker and per-log settings, as frozen dataclasses.

``BrokerConfig`` is what ``streamscope broker`` and the app start a broker with.
``LogConfig`` is what one partition log runs by; a topic's Kafka-named configs
(``retention.ms``, ``segment.bytes`` ...) override the broker's defaults through
:meth:`LogConfig.from_topic_configs`.

Fsync policy, and what each promises:

* ``"always"``: every append is fsynced (data and the segment's size) before the
  broker acknowledges it. An acknowledged record survives a power loss.
* ``"interval"`` (default): appends go to the OS page cache at once and are fsynced
  every ``fsync_interval_ms`` by a background flusher (and on clean shutdown). An
  acknowledged record survives the broker process dying (kill -9), since the page
  cache outlives the process, but a power loss or kernel crash may lose up to the last
  interval. Recovery truncates any torn tail either way, so the log never serves a
  partial batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import platformdirs

FsyncPolicy = Literal["always", "interval"]

DEFAULT_PORT = 9092


def default_data_dir() -> Path:
    """The platform's per-user data dir for Streamscope (e.g. ``~/.local/share/streamscope``)."""
    return Path(platformdirs.user_data_dir("streamscope", appauthor=False))


@dataclass(frozen=True, slots=True)
class LogConfig:
    segment_bytes: int = 64 * 1024 * 1024
    segment_ms: int = 7 * 24 * 3600 * 1000
    retention_ms: int = 7 * 24 * 3600 * 1000  # -1: keep forever
    retention_bytes: int = -1  # -1: no size limit
    max_message_bytes: int = 1048588  # Kafka's message.max.bytes default
    index_interval_bytes: int = 4096
    fsync: FsyncPolicy = "interval"

    # Kafka config name -> (field, parser). Only these are settable per topic.
    TOPIC_CONFIGS = {
        "segment.bytes": "segment_bytes",
        "segment.ms": "segment_ms",
        "retention.ms": "retention_ms",
        "retention.bytes": "retention_bytes",
        "max.message.bytes": "max_message_bytes",
        "segment.index.bytes": None,
        "index.interval.bytes": "index_interval_bytes",
    }

    def with_topic_configs(self, configs: dict[str, str | None]) -> LogConfig:
        """This config with a topic's overrides applied; unknown names raise ``ValueError``."""
        changes: dict[str, int] = {}
        for name, value in configs.items():
            if name not in KNOWN_TOPIC_CONFIGS:
                raise ValueError(f"unknown topic config {name!r}")
            if value is not None and name in FIXED_TOPIC_CONFIGS and value != STATIC_TOPIC_CONFIGS[name]:
                raise ValueError(
                    f"{name}={value} is not supported here; Streamscope runs"
                    f" {name}={STATIC_TOPIC_CONFIGS[name]} ({FIXED_TOPIC_CONFIGS[name]})"
                )
            attr = LogConfig.TOPIC_CONFIGS.get(name)
            if attr is None or value is None:
                continue
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"{name} must be an integer, got {value!r}") from None
            if attr in ("segment_bytes", "segment_ms", "index_interval_bytes") and number < 1:
                raise ValueError(f"{name} must be positive")
            if attr in ("retention_ms", "retention_bytes") and number < -1:
                raise ValueError(f"{name} must be -1 or more")
            if attr == "max_message_bytes" and number < 0:
                raise ValueError(f"{name} must not be negative")
            changes[attr] = number
        return replace(self, **changes)

    def as_topic_configs(self) -> dict[str, str]:
        """The effective values under Kafka's names (for DescribeConfigs and the GUI)."""
        out = {
            name: str(getattr(self, attr))
            for name, attr in LogConfig.TOPIC_CONFIGS.items()
            if attr is not None
        }
        out.update(STATIC_TOPIC_CONFIGS)
        return out


# Configs Kafka tools expect to see described; accepted but fixed here.
STATIC_TOPIC_CONFIGS = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "message.timestamp.type": "CreateTime",
    "min.insync.replicas": "1",
    "segment.index.bytes": "10485760",
}
# Accepted only with the one value this broker honours (anything else is refused with
# INVALID_CONFIG rather than stored and silently ignored).
FIXED_TOPIC_CONFIGS = {
    "cleanup.policy": "log compaction is not implemented",
    "compression.type": "batches are stored as the producer compressed them",
    "message.timestamp.type": "batches keep the producer's CreateTime",
    "min.insync.replicas": "a single-node broker",
}
KNOWN_TOPIC_CONFIGS = frozenset(LogConfig.TOPIC_CONFIGS) | frozenset(STATIC_TOPIC_CONFIGS)


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    node_id: int = 0
    fsync: FsyncPolicy = "interval"
    fsync_interval_ms: int = 1000
    auto_create_topics: bool = True
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024
    retention_check_ms: int = 30_000
    connection_idle_ms: int = 10 * 60 * 1000
    log: LogConfig = field(default_factory=LogConfig)
    # Consumer groups (core/groups). Kafka waits group.initial.rebalance.delay.ms = 3000 before
    # completing a new group's first rebalance; a short delay still folds consumers started
    # together into one rebalance without making every first join slow.
    group_initial_rebalance_delay_ms: int = 300
    # Kafka's minimum is 6000; lower here so a killed consumer's eviction can be shown quickly.
    group_min_session_timeout_ms: int = 1000
    group_max_session_timeout_ms: int = 1_800_000
    # The monitor's activity feed (core/monitor/feed.py: sampled appends, commits, read
    # positions). Off only to measure what it costs (benchmarks/throughput.py).
    activity_feed: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.fsync not in ("always", "interval"):
            raise ValueError(f"fsync must be 'always' or 'interval', not {self.fsync!r}")
        if self.log.fsync != self.fsync:
            object.__setattr__(self, "log", replace(self.log, fsync=self.fsync))
