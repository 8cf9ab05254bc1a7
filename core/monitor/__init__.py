"""The monitor: frozen snapshots of a cluster, and the observers that build them.

``snapshot`` holds the immutable dataclasses (safe across threads); ``embedded`` builds
them from an in-process :class:`core.broker.Broker` on the broker's loop thread. An
external observer (a real Kafka client polling a cluster) fills the same classes.
"""

from streamscope.core.monitor.embedded import EmbeddedObserver, build_snapshot
from streamscope.core.monitor.snapshot import (
    API_NAMES,
    BrokerInfo,
    ClusterSnapshot,
    ConnectionSnapshot,
    Counters,
    EventSnapshot,
    GroupSnapshot,
    MemberSnapshot,
    OffsetSnapshot,
    PartitionSnapshot,
    RebalanceSnapshot,
    TopicSnapshot,
    api_name,
)

__all__ = [
    "API_NAMES",
    "BrokerInfo",
    "ClusterSnapshot",
    "ConnectionSnapshot",
    "Counters",
    "EmbeddedObserver",
    "EventSnapshot",
    "GroupSnapshot",
    "MemberSnapshot",
    "OffsetSnapshot",
    "PartitionSnapshot",
    "RebalanceSnapshot",
    "TopicSnapshot",
    "api_name",
    "build_snapshot",
]
