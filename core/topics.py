"""Topics and partitions as the broker holds them, and Kafka's rules for creating them.

Contract: :func:`validate_topic_name` is Kafka's topic-name rule (the dialogs and the
API modules use it too); :func:`collision_key` is the key two names must not share
(Kafka's '.'/'_' rule, and case, so no two topics' directories collide on a
case-insensitive file system); :func:`check_partition_count` and :func:`log_config_for`
raise :class:`~core.errors.KafkaError` with Kafka's codes for a bad partition count or an
unknown/invalid topic config. :class:`Topic` and :class:`Partition` are the broker's
state; they are read by the monitor on the loop thread and changed only by ``Broker``.

Storage state of a partition (the monitor shows it): ``Partition.storage_error`` is the
last append or fsync failure (None once a write succeeds again); ``Partition.offline``
is why the partition could not be opened at start-up (its log is an
:class:`~core.log.partition_log.OfflineLog`; its requests get KAFKA_STORAGE_ERROR).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field

from streamscope.core.config import KNOWN_TOPIC_CONFIGS, LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.idempotence import PartitionTxns, ProducerState
from streamscope.core.log import PartitionLog

#: The default of ``BrokerConfig.max_partitions_per_topic`` (and the GUI forms' bound).
MAX_PARTITIONS_PER_TOPIC = 10_000
# Matched whole (fullmatch): "$" would also match before a final newline, and "orders\n"
# would pass as a name and get a directory of its own.
_TOPIC_NAME_RE = re.compile(r"[a-zA-Z0-9._-]+")


def validate_topic_name(name: str | None) -> str | None:
    """Kafka's topic-name rules. None when valid, else the reason (for errors and forms)."""
    if not name:
        return "Topic name must not be empty"
    if name in (".", ".."):
        return f"Topic name cannot be '{name}'"
    if len(name) > 249:
        return f"Topic name is {len(name)} characters long; the limit is 249"
    if not _TOPIC_NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        return (
            "Topic name may contain only ASCII letters, digits, '.', '_' and '-'"
            f" (found {''.join(bad)!r})"
        )
    return None


def collision_key(name: str) -> str:
    """Two topic names with the same key collide: Kafka's rule ('.' and '_' are the same
    in metric names) and case (directories on case-insensitive file systems)."""
    return name.replace(".", "_").casefold()


def check_new_partition_count(partitions: int,
                              limit: int = MAX_PARTITIONS_PER_TOPIC) -> None:
    """A new topic's partition count, within Kafka's bounds (at most ``limit``)."""
    if not 1 <= partitions <= limit:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Number of partitions must be between 1 and {limit}.",
        )


def check_partition_increase(current: int, total: int,
                             limit: int = MAX_PARTITIONS_PER_TOPIC) -> None:
    """CreatePartitions' rule: only more, and at most ``limit``."""
    if total <= current:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Topic currently has {current} partitions, which is higher than or equal"
            f" to the requested {total}.",
        )
    if total > limit:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Number of partitions must be at most {limit}.",
        )


def log_config_for(base: LogConfig, configs: dict[str, str]) -> LogConfig:
    """``base`` with a topic's overrides; unknown names and bad values are INVALID_CONFIG."""
    for key in configs:
        if key not in KNOWN_TOPIC_CONFIGS:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {key}")
    try:
        return base.with_topic_configs(configs)
    except ValueError as exc:
        raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None


@dataclass(slots=True)
class Partition:
    topic: str
    index: int
    log: PartitionLog
    records_in: int = 0
    bytes_in: int = 0
    batches_in: int = 0
    records_out: int = 0
    bytes_out: int = 0
    dirty: bool = False
    waiters: set[asyncio.Future[None]] = field(default_factory=set)
    producers: dict[int, ProducerState] = field(default_factory=dict)
    # Open and aborted transactions: the last stable offset, Fetch's aborted list.
    txns: PartitionTxns = field(default_factory=PartitionTxns)
    # Storage faults (module docstring): the last append/fsync failure, None when healthy;
    # why the partition could not be opened at start-up, None when it could.
    storage_error: str | None = None
    offline: str | None = None
    storage_error_from_sync: bool = False  # set by a failed fsync (cleared by a good one)
    # Interval mode: every record below this offset is known durable (a flush covered
    # it); OffsetCommit waits for it (core/flusher.py). -1: not tracked yet.
    synced_to: int = -1
    # Deferred sync ("always"): produce answers waiting for durability, by target offset.
    sync_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


@dataclass(slots=True)
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    log_config: LogConfig
    partitions: list[Partition]
    created_at: int = 0
