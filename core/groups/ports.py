"""What the group coordinator needs from the rest of the broker, as typed seams.

Contract: the coordinator sees partitions through :class:`PartitionView` (counts, log
start and high watermark, offset by timestamp, the event feed, and making data durable
before an offset pointing past it is stored), committed offsets through
:class:`OffsetStore` (``core.meta.MetaStore`` is one: writes are queued to its writer
thread and return futures), and its settings through
:class:`GroupConfig` (built from the ``group_*`` fields of ``BrokerConfig``). ``Broker``
satisfies PartitionView structurally; nothing here imports it, so the arrow points from
the broker to the groups and a renamed attribute is a type error, not a silent default.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from streamscope.core.meta import CommittedOffset

if TYPE_CHECKING:
    from streamscope.core.config import BrokerConfig

TopicPartition = tuple[str, int]


@runtime_checkable
class PartitionView(Protocol):
    def topic_partition_count(self, name: str) -> int | None:
        """Partitions of a topic, None if there is no such topic."""
        ...

    def partition_offsets(self, topic: str, index: int) -> tuple[int, int]:
        """(log start offset, high watermark); raises KafkaError for an unknown partition."""
        ...

    def list_offsets(self, topic: str, index: int, timestamp: int) -> tuple[int, int]:
        """(first offset at or after ``timestamp`` ms or -1, its timestamp)."""
        ...

    def emit_event(self, kind: str, message: str, **data: object) -> None:
        """Append to the broker's event feed (the monitor shows it)."""
        ...

    async def make_durable(self, positions: Iterable[tuple[str, int, int]]) -> None:
        """Return once each partition's records below the offset are durable (OffsetCommit
        stores an offset no earlier than the data it covers); KafkaError
        KAFKA_STORAGE_ERROR if they cannot be made so."""
        ...


@runtime_checkable
class OffsetStore(Protocol):
    def load_all_offsets(self) -> dict[str, dict[TopicPartition, CommittedOffset]]: ...

    def commit_offsets(self, group: str, offsets: Iterable[CommittedOffset]) -> Future[None]:
        """Queue the write; the future resolves once it is durable."""
        ...

    def delete_offsets(
        self, group: str, partitions: Iterable[TopicPartition] | None = None
    ) -> Future[None]: ...


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """The coordinator's settings (Kafka's ``group.*`` broker configs)."""

    initial_rebalance_delay_ms: int = 300
    min_session_timeout_ms: int = 1000
    max_session_timeout_ms: int = 1_800_000

    @classmethod
    def from_broker(cls, config: BrokerConfig) -> GroupConfig:
        return cls(
            initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms=config.group_min_session_timeout_ms,
            max_session_timeout_ms=config.group_max_session_timeout_ms,
        )
