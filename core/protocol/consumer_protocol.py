"""Encode/decode the ConsumerProtocol blobs groups carry (subscriptions, assignments).

Contract: a blob is an int16 version then the struct, non-flexible. Decoding accepts any
version >= 0: versions above the newest we define (3) are read with the v3 layout and
their extra trailing fields ignored, as Kafka's consumer does. The decoded dict carries
the blob's ``version`` alongside the fields; encoders ignore a ``version`` key in the
dict and take the version as an argument. Errors raise :class:`ProtocolError` /
:class:`EncodeError`.

:func:`assignment_partitions` is the one place an assignment blob becomes the set of
``(topic, partition)`` it hands out (the in-process consumer installs it; display code
reads it the same way); :func:`topic_partitions` flattens any ``[{topic, partitions}]``
list (assigned or owned partitions).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from .compiler import StructCodec, compile_struct
from .messages import CONSUMER_PROTOCOL_ASSIGNMENT, CONSUMER_PROTOCOL_SUBSCRIPTION
from .primitives import EncodeError, ProtocolError
from .schema import DataSchema

__all__ = [
    "decode_consumer_subscription",
    "encode_consumer_subscription",
    "decode_consumer_assignment",
    "encode_consumer_assignment",
    "assignment_partitions",
    "topic_partitions",
]

_H = struct.Struct(">h")
_CACHE: dict[tuple[str, int], StructCodec] = {}


def _codec(schema: DataSchema, version: int) -> StructCodec:
    key = (schema.name, version)
    codec = _CACHE.get(key)
    if codec is None:
        codec = compile_struct(schema.fields, version, False)
        _CACHE[key] = codec
    return codec


def _decode(schema: DataSchema, blob: Any) -> dict:
    mv = memoryview(blob).cast("B") if not isinstance(blob, memoryview) else blob
    try:
        version = _H.unpack_from(mv, 0)[0]
        if version < 0:
            raise ProtocolError(f"{schema.name}: negative version {version}")
        codec = _codec(schema, min(version, schema.versions[1]))
        body, end = codec.decode(mv, 2)
    except ProtocolError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"{schema.name}: truncated or malformed ({e})") from e
    if end != len(mv) and version <= schema.versions[1]:
        raise ProtocolError(f"{schema.name} v{version}: {len(mv) - end} trailing bytes")
    body["version"] = version
    return body


def _encode(schema: DataSchema, version: int, body: dict) -> bytes:
    lo, hi = schema.versions
    if not lo <= version <= hi:
        raise EncodeError(f"{schema.name}: no definition for v{version} (have v{lo}-v{hi})")
    codec = _codec(schema, version)
    buf = bytearray(_H.pack(version))
    codec.encode_named(body, buf, f"{schema.name} v{version}")
    return bytes(buf)


def decode_consumer_subscription(blob: bytes | bytearray | memoryview) -> dict:
    """JoinGroup protocol metadata -> {version, topics, user_data, owned_partitions, ...}."""
    return _decode(CONSUMER_PROTOCOL_SUBSCRIPTION, blob)


def encode_consumer_subscription(version: int, body: dict) -> bytes:
    return _encode(CONSUMER_PROTOCOL_SUBSCRIPTION, version, body)


def decode_consumer_assignment(blob: bytes | bytearray | memoryview) -> dict:
    """SyncGroup assignment -> {version, assigned_partitions: [{topic, partitions}], ...}."""
    return _decode(CONSUMER_PROTOCOL_ASSIGNMENT, blob)


def encode_consumer_assignment(version: int, body: dict) -> bytes:
    return _encode(CONSUMER_PROTOCOL_ASSIGNMENT, version, body)


def topic_partitions(entries: Iterable[dict] | None) -> set[tuple[str, int]]:
    """``[{topic, partitions: [...]}, ...]`` -> {(topic, partition)}; None -> empty."""
    return {(entry["topic"], p) for entry in entries or () for p in entry.get("partitions") or ()}


def assignment_partitions(blob: bytes | bytearray | memoryview) -> set[tuple[str, int]]:
    """An assignment blob -> the partitions it assigns; an empty blob assigns nothing.

    A malformed blob raises :class:`ProtocolError`: callers that only display it catch that.
    """
    if not blob:
        return set()
    return topic_partitions(decode_consumer_assignment(blob).get("assigned_partitions"))
