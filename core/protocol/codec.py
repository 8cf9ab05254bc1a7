"""Sans-IO Kafka codec: headers and message bodies, for the broker and for clients.

Contract (all functions are pure; frames are given WITHOUT the 4-byte size prefix):

- ``read_request_header(buf) -> (RequestHeader, body_pos)``: reads api_key, api_version,
  correlation_id and the int16 client_id (header v1 fields) for ANY api key/version, and
  the v2 tagged-field section when the (key, version) is flexible — for a known key,
  any version from its first flexible version up counts, so e.g. an ApiVersions v5
  request still yields the right body position.
- ``decode_request(api_key, version, buf, pos) -> dict``; ``encode_response(api_key,
  version, correlation_id, body) -> bytes``: the broker side.
- ``encode_request(api_key, version, correlation_id, client_id, body) -> bytes``;
  ``decode_response(api_key, version, buf) -> (correlation_id, dict)``: the client side
  (tests, tools, the in-process consumer).

Header versions follow body flexibility: request header v2 for flexible versions else v1
(client_id stays an int16 string even in v2); response header v1 (with a tagged-field
section) for flexible versions else v0 — except ApiVersions, whose response header is
always v0 so a client can parse it before knowing what the broker supports.

Decoding is strict: truncation, garbage and trailing bytes raise :class:`ProtocolError`;
an (api key, version) without a definition raises :class:`UnsupportedVersionError`.
Codecs are compiled lazily per (api key, version, request|response) and cached.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from .compiler import StructCodec, compile_struct
from .messages import ALL_APIS
from .primitives import (
    ProtocolError,
    UnsupportedVersionError,
    read_uvarint,
)
from .schema import ApiSchema

__all__ = [
    "SCHEMAS",
    "RequestHeader",
    "read_request_header",
    "decode_request",
    "encode_response",
    "encode_request",
    "decode_response",
    "schema_versions",
    "is_flexible",
    "request_header_version",
    "response_header_version",
    "codec_for",
]

API_VERSIONS_KEY = 18

#: Every API we have definitions for, by api key.
SCHEMAS: dict[int, ApiSchema] = {a.api_key: a for a in ALL_APIS}

_HDR = struct.Struct(">hhih")  # api_key, api_version, correlation_id, client_id length
_HDR_SIZE = _HDR.size
_I = struct.Struct(">i")

_DECODE_ERRORS = (struct.error, IndexError, UnicodeDecodeError, OverflowError, ValueError)


@dataclass(slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def schema_versions(api_key: int) -> tuple[int, int]:
    """(min, max) versions we have definitions for; KeyError for an unknown api key."""
    return SCHEMAS[api_key].versions


def is_flexible(api_key: int, version: int, request: bool = True) -> bool:
    """Whether this version's body uses flexible encoding (compact types, tagged fields).

    Kafka keeps requests and responses of one API equally flexible, so ``request`` does
    not change the answer; header versions are :func:`request_header_version` /
    :func:`response_header_version`. Versions above our range count as flexible when
    the API's flexible range is open-ended ("12+"), as in Kafka.
    """
    schema = SCHEMAS.get(api_key)
    return schema is not None and schema.is_flexible(version)


def request_header_version(api_key: int, version: int) -> int:
    return 2 if is_flexible(api_key, version) else 1


def response_header_version(api_key: int, version: int) -> int:
    if api_key == API_VERSIONS_KEY:
        return 0
    return 1 if is_flexible(api_key, version) else 0


_CODECS: dict[tuple[int, int, bool], StructCodec] = {}


def codec_for(api_key: int, version: int, request: bool) -> StructCodec:
    """The compiled body codec for (api key, version, request|response), cached."""
    key = (api_key, version, request)
    codec = _CODECS.get(key)
    if codec is None:
        schema = SCHEMAS.get(api_key)
        if schema is None:
            raise UnsupportedVersionError(f"no definition for api key {api_key}")
        lo, hi = schema.versions
        if not lo <= version <= hi:
            raise UnsupportedVersionError(
                f"no definition for {schema.name} v{version} (have v{lo}-v{hi})")
        fields = schema.request if request else schema.response
        codec = compile_struct(fields, version, schema.is_flexible(version))
        _CODECS[key] = codec
    return codec


def _as_view(buf: Any) -> memoryview:
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def _skip_tagged_fields(mv: memoryview, pos: int) -> int:
    n, pos = read_uvarint(mv, pos)
    for _ in range(n):
        _tag, pos = read_uvarint(mv, pos)
        size, pos = read_uvarint(mv, pos)
        pos += size
        if pos > len(mv):
            raise ProtocolError("truncated tagged field in header")
    return pos


def read_request_header(buf: bytes | bytearray | memoryview) -> tuple[RequestHeader, int]:
    """Parse a request header; returns it and the position where the body starts."""
    mv = _as_view(buf)
    try:
        api_key, api_version, correlation_id, n = _HDR.unpack_from(mv, 0)
        pos = _HDR_SIZE
        if n == -1:
            client_id = None
        elif n < 0:
            raise ProtocolError(f"invalid client_id length {n}")
        else:
            end = pos + n
            if end > len(mv):
                raise ProtocolError("truncated client_id")
            client_id = str(mv[pos:end], "utf-8")
            pos = end
        if is_flexible(api_key, api_version):
            pos = _skip_tagged_fields(mv, pos)
    except ProtocolError:
        raise
    except _DECODE_ERRORS as e:
        raise ProtocolError(f"malformed request header: {e}") from e
    return RequestHeader(api_key, api_version, correlation_id, client_id), pos


def _decode_body(codec: StructCodec, mv: memoryview, pos: int, what: str) -> dict:
    try:
        body, end = codec.decode(mv, pos)
    except ProtocolError as e:
        raise ProtocolError(f"{what}: {e}") from e
    except _DECODE_ERRORS as e:
        raise ProtocolError(f"{what}: truncated or malformed ({e})") from e
    if end != len(mv):
        raise ProtocolError(f"{what}: {len(mv) - end} trailing bytes")
    return body


def decode_request(api_key: int, version: int, buf: bytes | bytearray | memoryview,
                   pos: int) -> dict:
    """Decode a request body starting at ``pos`` (as returned by read_request_header)."""
    codec = codec_for(api_key, version, True)
    return _decode_body(codec, _as_view(buf), pos, f"{_name(api_key)} v{version} request")


def _name(api_key: int) -> str:
    schema = SCHEMAS.get(api_key)
    return schema.name if schema else f"api {api_key}"


def encode_response(api_key: int, version: int, correlation_id: int, body: dict, *,
                    size_prefix: bool = False) -> bytes:
    """Response header + body. With ``size_prefix`` the 4-byte frame size leads."""
    codec = codec_for(api_key, version, False)
    buf = bytearray(b"\0\0\0\0" if size_prefix else b"")
    buf += _I.pack(correlation_id)
    if response_header_version(api_key, version) == 1:
        buf.append(0)  # empty tagged-field section
    codec.encode_named(body, buf, f"{_name(api_key)} v{version} response")
    if size_prefix:
        _I.pack_into(buf, 0, len(buf) - 4)
    return bytes(buf)


def encode_request(api_key: int, version: int, correlation_id: int, client_id: str | None,
                   body: dict, *, size_prefix: bool = False) -> bytes:
    """Request header (v1, or v2 when flexible) + body."""
    codec = codec_for(api_key, version, True)
    buf = bytearray(b"\0\0\0\0" if size_prefix else b"")
    if client_id is None:
        buf += _HDR.pack(api_key, version, correlation_id, -1)
    else:
        cid = client_id.encode()
        buf += _HDR.pack(api_key, version, correlation_id, len(cid))
        buf += cid
    if request_header_version(api_key, version) == 2:
        buf.append(0)
    codec.encode_named(body, buf, f"{_name(api_key)} v{version} request")
    if size_prefix:
        _I.pack_into(buf, 0, len(buf) - 4)
    return bytes(buf)


def decode_response(api_key: int, version: int,
                    buf: bytes | bytearray | memoryview) -> tuple[int, dict]:
    """Decode a whole response frame: (correlation_id, body)."""
    codec = codec_for(api_key, version, False)
    mv = _as_view(buf)
    what = f"{_name(api_key)} v{version} response"
    try:
        correlation_id = _I.unpack_from(mv, 0)[0]
        pos = 4
        if response_header_version(api_key, version) == 1:
            pos = _skip_tagged_fields(mv, pos)
    except ProtocolError:
        raise
    except _DECODE_ERRORS as e:
        raise ProtocolError(f"{what}: malformed header ({e})") from e
    return correlation_id, _decode_body(codec, mv, pos, what)
