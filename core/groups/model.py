"""Plain data the group coordinator hands out: results of group calls and snapshots.

Everything here is immutable (frozen dataclasses, tuples, fresh dicts) so the wire
handlers, the in-process consumer and the monitor can keep it without copying.
State names are Kafka's own (``GroupState.value`` is what DescribeGroups sends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import ErrorCode
from core.meta import CommittedOffset

TopicPartition = tuple[str, int]


class GroupState(StrEnum):
    """The classic protocol's group states, valued by Kafka's names."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True, slots=True)
class JoinMember:
    """One member as the leader sees it in a JoinGroup answer."""

    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True, slots=True)
class JoinResult:
    """The answer to a JoinGroup; ``members`` is filled for the leader only."""

    error: ErrorCode
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    members: tuple[JoinMember, ...] = ()
    # A static leader rejoining a Stable group keeps the current assignment (KIP-814).
    skip_assignment: bool = False

    @property
    def is_leader(self) -> bool:
        return self.error == ErrorCode.NONE and self.leader == self.member_id


@dataclass(frozen=True, slots=True)
class SyncResult:
    error: ErrorCode
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveResult:
    """Top-level error, then one (member id, group instance id, error) per leaving member."""

    error: ErrorCode
    members: tuple[tuple[str, str | None, ErrorCode], ...] = ()


@dataclass(frozen=True, slots=True)
class DescribedMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes  # empty unless the group is Stable (as Kafka describes)
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """What DescribeGroups returns for one group (Kafka's GroupSummary)."""

    group_id: str
    error: ErrorCode
    state: str
    protocol_type: str
    protocol_data: str  # the chosen protocol when Stable, else ""
    members: tuple[DescribedMember, ...] = ()


@dataclass(frozen=True, slots=True)
class ListedGroup:
    group_id: str
    protocol_type: str
    state: str


@dataclass(frozen=True, slots=True)
class OffsetSpec:
    """Where :meth:`GroupCoordinator.reset_offsets` moves a group's offsets to.

    ``kind`` is one of ``earliest``, ``latest``, ``timestamp`` (``value`` = ms since the
    epoch: the first offset whose timestamp is at or after it), ``offset`` (``value`` =
    the offset) or ``shift`` (``value`` = N added to the committed offset, may be
    negative). Results are clamped into [log start, high watermark] as Kafka's tool does.
    """

    kind: str
    value: int = 0

    KINDS = ("earliest", "latest", "timestamp", "offset", "shift")


@dataclass(frozen=True, slots=True)
class MemberMove:
    """Partitions one member gained and lost in one rebalance."""

    member_id: str
    gained: tuple[TopicPartition, ...]
    lost: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class RebalanceRecord:
    """One rebalance, from PreparingRebalance to Stable (or Empty)."""

    generation: int  # the generation it produced
    started_at: float  # wall clock
    completed_at: float | None
    duration_ms: float
    reason: str
    member_count: int
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    moved: tuple[MemberMove, ...] = ()
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class MemberInfo:
    member_id: str
    client_id: str
    client_host: str
    group_instance_id: str | None
    session_timeout_ms: int
    rebalance_timeout_ms: int
    is_leader: bool
    # Decoded ConsumerProtocol data ("consumer" groups); empty for other protocol types.
    assignment: dict[str, tuple[int, ...]] = field(default_factory=dict)
    subscription: tuple[str, ...] = ()
    assignment_bytes: int = 0
    # On the broker loop's clock, at the time of the copy: how long since the member's
    # session timer was last re-armed (heartbeat, join, sync or commit).
    since_heartbeat_ms: float = 0.0
    # The interval the member has been sending Heartbeats at (None until two were seen).
    heartbeat_interval_ms: float | None = None
    # Parked in JoinGroup or SyncGroup: alive, waiting for the rebalance, not heartbeating.
    awaiting_rebalance: bool = False


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A cheap, I/O-free copy of one group for the monitor and the GUI."""

    group_id: str
    state: GroupState
    protocol_type: str  # "" for a "simple" group that only stores offsets
    protocol_name: str | None  # the assignor when the protocol type is "consumer"
    generation: int
    leader: str | None
    members: tuple[MemberInfo, ...]
    offsets: dict[TopicPartition, CommittedOffset]
    lag: dict[TopicPartition, int]
    rebalances: tuple[RebalanceRecord, ...]  # oldest first, bounded

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())
