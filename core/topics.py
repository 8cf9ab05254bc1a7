"""Topics and partitions as the broker holds them, and Kafka's rules for creating them.

Contract: :func:`validate_topic_name` is Kafka's topic-name rule (the dialogs and the
API modules use it too); :func:`check_partition_count` and :func:`log_config_for` raise
:class:`~core.errors.KafkaError` with Kafka's codes for a bad partition count or an
unknown/invalid topic config. :class:`Topic` and :class:`Partition` are the broker's
state; they are read by the monitor on the loop thread and changed only by ``Broker``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field

from streamscope.core.config import KNOWN_TOPIC_CONFIGS, LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.idempotence import ProducerState
from streamscope.core.log import PartitionLog

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


def check_new_partition_count(partitions: int) -> None:
    """A new topic's partition count, within Kafka's bounds."""
    if not 1 <= partitions <= MAX_PARTITIONS_PER_TOPIC:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Number of partitions must be between 1 and {MAX_PARTITIONS_PER_TOPIC}.",
        )


def check_partition_increase(current: int, total: int) -> None:
    """CreatePartitions' rule: only more, and at most the maximum."""
    if total <= current:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Topic currently has {current} partitions, which is higher than or equal"
            f" to the requested {total}.",
        )
    if total > MAX_PARTITIONS_PER_TOPIC:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"Number of partitions must be at most {MAX_PARTITIONS_PER_TOPIC}.",
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


@dataclass(slots=True)
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    log_config: LogConfig
    partitions: list[Partition]
    created_at: int = 0
