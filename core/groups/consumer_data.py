"""Reading the ConsumerProtocol blobs of "consumer" groups, for display and checks only.

The coordinator treats member metadata and assignments as opaque bytes; these helpers
decode them (via :mod:`core.protocol`) for the monitor (who owns which partition) and for
OffsetDelete's "is the group subscribed to this topic" rule. A blob that does not decode
(a client with its own format) yields nothing rather than an error.
"""

from __future__ import annotations

from core.protocol import decode_consumer_assignment, decode_consumer_subscription


def assigned_partitions(blob: bytes) -> dict[str, tuple[int, ...]]:
    """An assignment blob -> {topic: sorted partitions}; {} if empty or undecodable."""
    if not blob:
        return {}
    try:
        body = decode_consumer_assignment(blob)
    except Exception:
        return {}
    out: dict[str, set[int]] = {}
    for entry in body.get("assigned_partitions") or ():
        out.setdefault(entry["topic"], set()).update(entry.get("partitions") or ())
    return {topic: tuple(sorted(parts)) for topic, parts in sorted(out.items())}


def subscribed_topics(blob: bytes) -> tuple[str, ...]:
    """A subscription blob -> its sorted topics; () if empty or undecodable."""
    if not blob:
        return ()
    try:
        body = decode_consumer_subscription(blob)
    except Exception:
        return ()
    return tuple(sorted(set(body.get("topics") or ())))
