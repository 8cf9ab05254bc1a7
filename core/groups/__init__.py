"""Consumer groups: the classic group coordinator and the data it hands out.

:class:`GroupCoordinator` (coordinator.py, split by request into state, join_sync,
membership, offsets and admin) runs Kafka's classic group protocol and owns committed
offsets; model.py holds the frozen results and descriptions it returns; lag.py is the
one definition of lag; ports.py and clock.py are the typed seams it is built with.
"""

from streamscope.core.groups.clock import Clock, LoopClock, ManualClock
from streamscope.core.groups.coordinator import GroupCoordinator
from streamscope.core.groups.lag import partition_lag, total_lag
from streamscope.core.groups.model import (
    DescribedMember,
    GroupDescription,
    GroupInfo,
    GroupState,
    JoinMember,
    JoinResult,
    LeaveResult,
    ListedGroup,
    MemberDescription,
    MemberInfo,
    MemberMove,
    OffsetSpec,
    RebalanceRecord,
    SyncResult,
    TopicPartition,
)
from streamscope.core.groups.ports import GroupConfig, OffsetStore, PartitionView

__all__ = [
    "Clock",
    "GroupConfig",
    "LoopClock",
    "ManualClock",
    "MemberDescription",
    "OffsetStore",
    "PartitionView",
    "partition_lag",
    "total_lag",
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
