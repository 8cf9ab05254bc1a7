"""Plain data the group coordinator hands out: results of group calls and descriptions.

Everything here is immutable (frozen dataclasses, tuples, fresh dicts) so the wire
handlers, the in-process consumer and the monitor can keep it without copying.
State names are Kafka's own (``GroupState.value`` is what DescribeGroups sends).
One model of a group (:class:`GroupDescription`) and of a member
(:class:`MemberDescription`) serves DescribeGroups, ListGroups and the monitor; the old
names (GroupInfo, ListedGroup, MemberInfo, DescribedMember) are aliases of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from streamscope.core.errors import ErrorCode
from streamscope.core.meta import CommittedOffset

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
    """One rebalance, from PreparingRebalance to Stable (or Empty).

    The monitor's ``RebalanceSnapshot`` is this class; its first five fields are all an
    observer of an external cluster can fill.
    """

    generation: int  # the generation it produced
    started_at: float  # wall clock
    completed_at: float | None  # None while in progress
    reason: str
    member_count: int
    duration_ms: float = 0.0
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    moved: tuple[MemberMove, ...] = ()
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class MemberDescription:
    """One member of a group, as DescribeGroups, the admin calls and the monitor see it."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int = 0
    rebalance_timeout_ms: int = 0
    is_leader: bool = False
    # Decoded ConsumerProtocol data ("consumer" groups); empty for other protocol types.
    assignment: dict[str, tuple[int, ...]] = field(default_factory=dict)
    subscription: tuple[str, ...] = ()
    # The opaque bytes: metadata for the group's chosen protocol, and the assignment.
    metadata: bytes = b""
    raw_assignment: bytes = b""
    # On the broker loop's clock, at the time of the copy: how long since the member's
    # session timer was last re-armed (heartbeat, join, sync or commit).
    since_heartbeat_ms: float = 0.0
    # The interval the member has been sending Heartbeats at (None until two were seen).
    heartbeat_interval_ms: float | None = None
    # Parked in JoinGroup or SyncGroup: alive, waiting for the rebalance, not heartbeating.
    awaiting_rebalance: bool = False

    @property
    def assignment_bytes(self) -> int:
        return len(self.raw_assignment)


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """One group as plain frozen data: what DescribeGroups, ListGroups, the admin calls
    and the monitor's snapshot all read (Kafka's GroupSummary and more).

    Built by the coordinator with no I/O. Lag is not here: it needs high watermarks,
    and :mod:`core.groups.lag` defines it once for every view.
    """

    group_id: str
    state: GroupState
    protocol_type: str  # "" for a "simple" group that only stores offsets
    protocol_name: str | None = None  # the assignor when the protocol type is "consumer"
    generation: int = 0
    leader: str | None = None
    members: tuple[MemberDescription, ...] = ()
    offsets: dict[TopicPartition, CommittedOffset] = field(default_factory=dict)
    rebalances: tuple[RebalanceRecord, ...] = ()  # oldest first, bounded
    error: ErrorCode = ErrorCode.NONE  # DescribeGroups' per-group error

    @property
    def protocol_data(self) -> str:
        """DescribeGroups' ``protocol_data``: the chosen protocol, only when Stable."""
        return (self.protocol_name or "") if self.state == GroupState.STABLE else ""

    def assigned(self) -> set[TopicPartition]:
        """Every partition some member owns now."""
        return {(t, p) for m in self.members for t, ps in m.assignment.items() for p in ps}


# Names of the shapes this model replaced, kept importable for callers.
GroupInfo = GroupDescription
ListedGroup = GroupDescription
MemberInfo = MemberDescription
DescribedMember = MemberDescription
