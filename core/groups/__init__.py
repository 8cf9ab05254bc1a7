"""Consumer groups: the classic group coordinator and the data it hands out.

:class:`GroupCoordinator` (coordinator.py) runs Kafka's classic group protocol and owns
committed offsets; model.py holds the frozen results and snapshots it returns.
"""

from core.groups.coordinator import GroupCoordinator
from core.groups.model import (
    DescribedMember,
    GroupDescription,
    GroupInfo,
    GroupState,
    JoinMember,
    JoinResult,
    LeaveResult,
    ListedGroup,
    MemberInfo,
    MemberMove,
    OffsetSpec,
    RebalanceRecord,
    SyncResult,
    TopicPartition,
)

__all__ = [
    "DescribedMember",
    "GroupCoordinator",
    "GroupDescription",
    "GroupInfo",
    "GroupState",
    "JoinMember",
    "JoinResult",
    "LeaveResult",
    "ListedGroup",
    "MemberInfo",
    "MemberMove",
    "OffsetSpec",
    "RebalanceRecord",
    "SyncResult",
    "TopicPartition",
]
