"""Wire primitives shared by the codec: exceptions, varints, UUIDs, version ranges.

Contract: everything here is pure (no I/O). Decoders raise :class:`ProtocolError` on
truncated or malformed input; encoders raise :class:`EncodeError` naming the field path
when a value does not fit its schema type.
"""

from __future__ import annotations

import uuid

__all__ = [
    "ProtocolError",
    "EncodeError",
    "UnsupportedVersionError",
    "ZERO_UUID",
    "read_uvarint",
    "write_uvarint",
    "uvarint_bytes",
    "parse_versions",
    "MAX_VERSION",
]

# Upper bound used for open ranges such as "9+"; Kafka versions are int16.
MAX_VERSION = 0x7FFF

ZERO_UUID = uuid.UUID(int=0)


class ProtocolError(ValueError):
    """Bytes that are not a valid Kafka message (truncated, garbage, trailing bytes)."""


class UnsupportedVersionError(ProtocolError):
    """An (api key, version) pair this codec has no definition for."""


class EncodeError(ProtocolError, TypeError):
    """A body value that does not fit its schema; the message names the field path."""


def read_uvarint(buf, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 varint (at most 5 bytes, i.e. 32 bits) at ``pos``."""
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise ProtocolError("unsigned varint longer than 5 bytes")


def uvarint_bytes(value: int) -> bytes:
    """The unsigned varint encoding of ``value`` (0 <= value < 2**32)."""
    if 0 <= value < 0x80:
        return _SMALL[value]
    if value < 0 or value > 0xFFFFFFFF:
        raise ValueError(f"unsigned varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def write_uvarint(buf: bytearray, value: int) -> None:
    """Append the unsigned varint encoding of ``value`` to ``buf``."""
    if 0 <= value < 0x80:
        buf.append(value)
    else:
        buf += uvarint_bytes(value)


def parse_versions(spec: str | None) -> tuple[int, int] | None:
    """Parse a spec version range: "3+", "0-7", "5", "none" -> (lo, hi) or None."""
    if spec is None or spec == "none" or spec == "":
        return None
    if spec.endswith("+"):
        return int(spec[:-1]), MAX_VERSION
    if "-" in spec:
        lo, hi = spec.split("-", 1)
        return int(lo), int(hi)
    v = int(spec)
    return v, v
