"""Kafka's ConsumerProtocol: the opaque bytes consumer groups carry in JoinGroup/SyncGroup.

Subscription (a member's JoinGroup protocol metadata) and Assignment (SyncGroup's
per-member assignment) are each an int16 version followed by a non-flexible struct.
Transcribed from Kafka's ConsumerProtocolSubscription/Assignment JSON specs, v0-3.
This is the schema only; :mod:`core.protocol.consumer_protocol` is its codec.
"""

from __future__ import annotations

from ..schema import data, f

__all__ = ["CONSUMER_PROTOCOL_SUBSCRIPTION", "CONSUMER_PROTOCOL_ASSIGNMENT"]

CONSUMER_PROTOCOL_SUBSCRIPTION = data(
    "ConsumerProtocolSubscription", "0-3", "none", [
        f("Topics", "[]string", "0+"),
        f("UserData", "bytes", "0+", nullable="0+", default=None),
        f("OwnedPartitions", "[]TopicPartition", "1+",
            f("Topic", "string", "1+"),
            f("Partitions", "[]int32", "1+"),
        ),
        f("GenerationId", "int32", "2+", default=-1),
        f("RackId", "string", "3+", nullable="3+", default=None),
    ],
)

CONSUMER_PROTOCOL_ASSIGNMENT = data(
    "ConsumerProtocolAssignment", "0-3", "none", [
        f("AssignedPartitions", "[]TopicPartition", "0+",
            f("Topic", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
        ),
        f("UserData", "bytes", "0+", nullable="0+", default=None),
    ],
)
