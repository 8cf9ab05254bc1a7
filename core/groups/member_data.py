"""A group member's data (its subscription and assignment), read for display and checks.

The coordinator treats member metadata and assignments as opaque bytes; for "consumer"
groups these helpers decode them as ConsumerProtocol blobs (via
:func:`core.protocol.consumer_protocol.assignment_partitions`, the one assignment
decoder) for the monitor (who owns which partition) and for OffsetDelete's "is the group
subscribed to this topic" rule. A blob that does not decode
(a client with its own format: a :class:`~core.protocol.ProtocolError`) yields nothing
rather than an error; any other exception is a bug and propagates.
"""

from __future__ import annotations

from streamscope.core.protocol import ProtocolError, decode_consumer_subscription
from streamscope.core.protocol.consumer_protocol import assignment_partitions

# The protocol type of groups whose member data is ConsumerProtocol (Kafka's consumers,
# and the in-process ones of core/clients, which join with it).
CONSUMER = "consumer"


def assigned_partitions(blob: bytes) -> dict[str, tuple[int, ...]]:
    """An assignment blob -> {topic: sorted partitions}; {} if empty or undecodable."""
    try:
        pairs = assignment_partitions(blob)
    except ProtocolError:
        return {}
    out: dict[str, list[int]] = {}
    for topic, partition in sorted(pairs):
        out.setdefault(topic, []).append(partition)
    return {topic: tuple(parts) for topic, parts in out.items()}


def subscribed_topics(blob: bytes) -> tuple[str, ...]:
    """A subscription blob -> its sorted topics; () if empty or undecodable."""
    if not blob:
        return ()
    try:
        body = decode_consumer_subscription(blob)
    except Exception:
        return ()
    return tuple(sorted(set(body.get("topics") or ())))
