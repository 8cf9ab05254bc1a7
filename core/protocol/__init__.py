"""Sans-IO Kafka wire codec: message definitions written once, compiled per version.

Contract: pure functions over bytes, no sockets. Frames are passed WITHOUT the 4-byte
size prefix. Bodies are plain dicts keyed by the snake_case of Kafka's spec field names
(``PartitionIndex`` -> ``partition_index``); arrays of structs are lists of dicts.

Representation choices:
- ``uuid`` fields decode to :class:`uuid.UUID` (default :data:`ZERO_UUID`); encoding
  accepts a UUID or 16 raw bytes.
- ``records`` decode to a zero-copy ``memoryview`` slice of the input frame (keep the
  frame alive while you use it); encoding accepts bytes / bytearray / memoryview.
  Omitted records encode as empty bytes, never null.
- ``bytes`` decode to ``bytes``.
- A decoded dict has every key the struct defines at ANY version; keys absent at the
  decoded version hold their spec defaults (e.g. Metadata v3's allow_auto_topic_creation
  reads True). Encoding fills omitted keys with defaults and ignores unknown keys.

Modules: :mod:`.schema` (the definition form), :mod:`.messages` (the definitions),
:mod:`.compiler` (the engine), :mod:`.codec` (headers and the public functions),
:mod:`.consumer_protocol` (ConsumerProtocol blobs), :mod:`.api_keys`.
"""

from __future__ import annotations

from . import codec
from .api_keys import ApiKey
from .codec import *  # noqa: F403  (codec.__all__: headers and the public functions)
from .consumer_protocol import (
    decode_consumer_assignment,
    decode_consumer_subscription,
    encode_consumer_assignment,
    encode_consumer_subscription,
)
from .primitives import ZERO_UUID, EncodeError, ProtocolError, UnsupportedVersionError

__all__ = [
    "ApiKey",
    *codec.__all__,
    "decode_consumer_subscription",
    "encode_consumer_subscription",
    "decode_consumer_assignment",
    "encode_consumer_assignment",
    "ProtocolError",
    "EncodeError",
    "UnsupportedVersionError",
    "ZERO_UUID",
]
