"""In-process Kafka clients that talk to a ``Broker`` object directly (no socket).

:class:`Producer` (Kafka's default partitioner, batching with ``build_batch``) and
:class:`Consumer` (the classic group protocol against the coordinator's Python API, with
the range, roundrobin and cooperative-sticky assignors) are what the simulations and
the GUI spawn; they share groups with real clients because they speak the same
ConsumerProtocol bytes. The consumer is split into ``membership`` (the group task) and
``fetcher`` (positions and reads) behind ``consumer.Consumer``; ``consumer_app`` adds the
poll loop that makes one consume like an app; ``clock`` is the time they all run on.
"""

from streamscope.core.clients.assignors import (
    ASSIGNORS,
    CooperativeStickyAssignor,
    MemberSubscription,
    RangeAssignor,
    RoundRobinAssignor,
    get_assignor,
)
from streamscope.core.clients.clock import Clock, LoopClock
from streamscope.core.clients.consumer import Consumer, ConsumerRecord, ConsumerState
from streamscope.core.clients.consumer_app import ConsumerApp, LocalConsumer, close_consumers
from streamscope.core.clients.partitioner import StickyPartitioner, murmur2, partition_for_key
from streamscope.core.clients.producer import Producer, ProducerStats, RecordMetadata

__all__ = [
    "ASSIGNORS",
    "Clock",
    "Consumer",
    "ConsumerApp",
    "ConsumerRecord",
    "ConsumerState",
    "CooperativeStickyAssignor",
    "LocalConsumer",
    "LoopClock",
    "MemberSubscription",
    "Producer",
    "ProducerStats",
    "RangeAssignor",
    "RecordMetadata",
    "RoundRobinAssignor",
    "StickyPartitioner",
    "close_consumers",
    "get_assignor",
    "murmur2",
    "partition_for_key",
]
