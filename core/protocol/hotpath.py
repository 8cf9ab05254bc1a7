"""Hand-tuned codecs for the two hot paths: Produce request decode, Fetch response encode.

Contract:

* :func:`decode_produce_request(version, mv, pos) <decode_produce_request>` returns
  exactly what ``codec_for(0, version, True).decode(mv, pos)`` returns -- the same
  ``(dict, end position)``, keys in the same order, ``records`` as zero-copy memoryview
  slices of ``mv`` -- for every Produce version (0-9), and raises one of the general
  codec's decode errors (``ProtocolError``, ``struct.error``, ``IndexError``,
  ``UnicodeDecodeError``, ``ValueError``) whenever the general codec does. ``mv`` is a
  1-D byte memoryview (``read_request_header`` style); trailing bytes are left alone.
* :func:`encode_fetch_response(version, correlation_id, body) <encode_fetch_response>`
  returns a list of buffers whose concatenation is exactly
  ``encode_response(1, version, correlation_id, body, size_prefix=True)``: the 4-byte
  frame size, the response header and the body. Record sets larger than
  :data:`INLINE_RECORDS_MAX` are not copied: they appear in the list as the very objects
  the body holds, ready for ``transport.writelines`` (one ``writev``). The body must not
  change until the buffers are written.
* Both are pure and version-complete by construction: the fast code handles the shapes
  the broker produces (every key present, plain types, no tagged fields set, no aborted
  transactions); anything else -- a missing key, an unusual type, a tagged field -- goes
  to the general codec, which then gives the same bytes or raises its own error. The
  equivalence is proven by tests/core/test_hotpath*.py (every version, hypothesis).

Why: the general codec appends every record set into one ``bytearray`` and then copies
it into ``bytes`` -- two copies of every fetched byte (plus reallocations as the buffer
grows) -- and walks per-field closures for each of a request's partitions.
"""

from __future__ import annotations

import struct

from .codec import codec_for, encode_response
from .primitives import ProtocolError, read_uvarint, uvarint_bytes

__all__ = ["decode_produce_request", "encode_fetch_response", "INLINE_RECORDS_MAX"]

FETCH_KEY = 1
#: Record sets up to this many bytes are copied into the surrounding header bytes (one
#: buffer fewer to hand to writev); larger ones are passed through uncopied.
INLINE_RECORDS_MAX = 4096

_H = struct.Struct(">h")
_I = struct.Struct(">i")
_HI = struct.Struct(">hi")
_II = struct.Struct(">ii")
_unpack_h = _H.unpack_from
_unpack_i = _I.unpack_from
_unpack_hi = _HI.unpack_from
_unpack_ii = _II.unpack_from
_pack_i = _I.pack
_pack_ii = _II.pack

# The general codec's smallest wire size of one array element (it refuses a count that
# cannot fit in the bytes left before allocating anything; so do we).
_TOPIC_MIN = 6  # string length (2) + partition array count (4)
_PART_MIN = 8  # index (4) + records length (4)
_TOPIC_MIN_FLEX = 3  # compact string (1) + compact array (1) + tag section (1)
_PART_MIN_FLEX = 6  # index (4) + compact records (1) + tag section (1)

_MAX_FETCH_VERSION = 12


# ----------------------------------------------------------------------------- Produce

def decode_produce_request(version: int, mv: memoryview, pos: int) -> tuple[dict, int]:
    """The Produce request body at ``pos``: ``(body, end)``, as the general codec gives."""
    if version == 9:
        return _decode_produce_flexible(mv, pos)
    if 0 <= version <= 8:
        return _decode_produce_classic(version, mv, pos)
    return codec_for(0, version, True).decode(mv, pos)  # no such version: the codec says so


def _decode_produce_classic(version: int, mv: memoryview, pos: int) -> tuple[dict, int]:
    total = len(mv)
    tid = None
    if version >= 3:
        n = _unpack_h(mv, pos)[0]
        pos += 2
        if n < 0:
            if n != -1:
                raise ProtocolError(f"invalid string length {n}")
        else:
            end = pos + n
            if end > total:
                raise ProtocolError("truncated string")
            tid = str(mv[pos:end], "utf-8")
            pos = end
    acks, timeout = _unpack_hi(mv, pos)
    pos += 6
    count = _unpack_i(mv, pos)[0]
    pos += 4
    if count < 0:
        raise ProtocolError(f"invalid array length {count}")
    if count * _TOPIC_MIN > total - pos:
        raise ProtocolError("truncated array")
    topics = []
    for _ in range(count):
        n = _unpack_h(mv, pos)[0]
        pos += 2
        if n < 0:
            raise ProtocolError(f"invalid string length {n}")
        end = pos + n
        if end > total:
            raise ProtocolError("truncated string")
        name = str(mv[pos:end], "utf-8")
        pos = end
        pcount = _unpack_i(mv, pos)[0]
        pos += 4
        if pcount < 0:
            raise ProtocolError(f"invalid array length {pcount}")
        if pcount * _PART_MIN > total - pos:
            raise ProtocolError("truncated array")
        parts = []
        append = parts.append
        for _ in range(pcount):
            index, size = _unpack_ii(mv, pos)
            pos += 8
            if size < 0:
                if size != -1:
                    raise ProtocolError(f"invalid bytes length {size}")
                records = None
            else:
                end = pos + size
                if end > total:
                    raise ProtocolError("truncated bytes")
                records = mv[pos:end]
                pos = end
            append({"index": index, "records": records})
        topics.append({"name": name, "partition_data": parts})
    return {"transactional_id": tid, "acks": acks, "timeout_ms": timeout,
            "topic_data": topics}, pos


def _skip_tags(mv: memoryview, pos: int) -> int:
    """Skip a tagged-field section (Produce defines no tagged fields: all are unknown)."""
    if mv[pos] == 0:
        return pos + 1
    n, pos = read_uvarint(mv, pos)
    for _ in range(n):
        _tag, pos = read_uvarint(mv, pos)
        size, pos = read_uvarint(mv, pos)
        pos += size
        if pos > len(mv):
            raise ProtocolError("truncated tagged field")
    return pos


def _decode_produce_flexible(mv: memoryview, pos: int) -> tuple[dict, int]:
    total = len(mv)
    n = mv[pos]
    if n < 0x80:
        pos += 1
    else:
        n, pos = read_uvarint(mv, pos)
    if n == 0:
        tid = None
    else:
        end = pos + n - 1
        if end > total:
            raise ProtocolError("truncated string")
        tid = str(mv[pos:end], "utf-8")
        pos = end
    acks, timeout = _unpack_hi(mv, pos)
    pos += 6
    count = mv[pos]
    if count < 0x80:
        pos += 1
    else:
        count, pos = read_uvarint(mv, pos)
    count -= 1
    if count < 0:
        raise ProtocolError(f"invalid array length {count}")
    if count * _TOPIC_MIN_FLEX > total - pos:
        raise ProtocolError("truncated array")
    topics = []
    for _ in range(count):
        n = mv[pos]
        if n < 0x80:
            pos += 1
        else:
            n, pos = read_uvarint(mv, pos)
        if n == 0:
            raise ProtocolError("null string in a non-nullable field")
        end = pos + n - 1
        if end > total:
            raise ProtocolError("truncated string")
        name = str(mv[pos:end], "utf-8")
        pos = end
        pcount = mv[pos]
        if pcount < 0x80:
            pos += 1
        else:
            pcount, pos = read_uvarint(mv, pos)
        pcount -= 1
        if pcount < 0:
            raise ProtocolError(f"invalid array length {pcount}")
        if pcount * _PART_MIN_FLEX > total - pos:
            raise ProtocolError("truncated array")
        parts = []
        append = parts.append
        for _ in range(pcount):
            index = _unpack_i(mv, pos)[0]
            pos += 4
            n = mv[pos]
            if n < 0x80:
                pos += 1
            else:
                n, pos = read_uvarint(mv, pos)
            if n == 0:
                records = None
            else:
                end = pos + n - 1
                if end > total:
                    raise ProtocolError("truncated bytes")
                records = mv[pos:end]
                pos = end
            pos = pos + 1 if mv[pos] == 0 else _skip_tags(mv, pos)
            append({"index": index, "records": records})
        pos = pos + 1 if mv[pos] == 0 else _skip_tags(mv, pos)
        topics.append({"name": name, "partition_data": parts})
    pos = pos + 1 if mv[pos] == 0 else _skip_tags(mv, pos)
    return {"transactional_id": tid, "acks": acks, "timeout_ms": timeout,
            "topic_data": topics}, pos


# ----------------------------------------------------------------------------- Fetch

class _Unusual(Exception):
    """The body has a shape the fast encoder leaves to the general codec."""


_TAGGED_PARTITION_KEYS = ("diverging_epoch", "current_leader", "snapshot_id")
# Per version: the fixed fields after partition_index/error_code/high_watermark.
_PART_HEAD = {
    4: struct.Struct(">ihqq"),   # + last_stable_offset
    5: struct.Struct(">ihqqq"),  # + log_start_offset
}
_NULL32 = b"\xff\xff\xff\xff"
_ZERO32 = b"\x00\x00\x00\x00"
_RECORD_TYPES = (bytes, bytearray, memoryview)


def encode_fetch_response(version: int, correlation_id: int, body: dict) -> list:
    """Size prefix + response header + Fetch body as a list of buffers (see the module doc)."""
    if 4 <= version <= _MAX_FETCH_VERSION:
        try:
            return _encode_fetch(version, correlation_id, body)
        except (_Unusual, KeyError, TypeError, AttributeError, struct.error,
                UnicodeEncodeError, ValueError, OverflowError):
            pass  # the general codec encodes it (or names the offending field)
    return [encode_response(FETCH_KEY, version, correlation_id, body, size_prefix=True)]


def _encode_fetch(version: int, correlation_id: int, body: dict) -> list:
    if type(body) is not dict:
        raise _Unusual
    flexible = version >= 12
    head = _PART_HEAD[4 if version == 4 else 5]
    pack_head = head.pack
    with_preferred = version >= 11
    buf = bytearray(8)
    _II.pack_into(buf, 0, 0, correlation_id)  # frame size: filled in at the end
    if flexible:
        buf.append(0)  # response header v1: empty tagged-field section
    buf += struct.pack(">ihi", body["throttle_time_ms"], body["error_code"],
                       body["session_id"]) if version >= 7 else _pack_i(body["throttle_time_ms"])
    responses = body["responses"]
    if type(responses) is not list:
        raise _Unusual
    out: list = [buf]
    size = 0  # bytes in ``out`` before ``buf``
    if flexible:
        buf += uvarint_bytes(len(responses) + 1)
    else:
        buf += _pack_i(len(responses))
    for topic in responses:
        if type(topic) is not dict:
            raise _Unusual
        name = topic["topic"]
        parts = topic["partitions"]
        if type(name) is not str or type(parts) is not list:
            raise _Unusual
        raw = name.encode()
        if flexible:
            buf += uvarint_bytes(len(raw) + 1)
            buf += raw
            buf += uvarint_bytes(len(parts) + 1)
        else:
            buf += _H.pack(len(raw))
            buf += raw
            buf += _pack_i(len(parts))
        for p in parts:
            if type(p) is not dict:
                raise _Unusual
            if flexible:
                for key in _TAGGED_PARTITION_KEYS:
                    if p.get(key) is not None:
                        raise _Unusual
            if version == 4:
                buf += pack_head(p["partition_index"], p["error_code"], p["high_watermark"],
                                 p["last_stable_offset"])
            else:
                buf += pack_head(p["partition_index"], p["error_code"], p["high_watermark"],
                                 p["last_stable_offset"], p["log_start_offset"])
            aborted = p["aborted_transactions"]
            if aborted is None:
                buf += b"\x00" if flexible else _NULL32
            elif type(aborted) is list and not aborted:
                buf += b"\x01" if flexible else _ZERO32
            else:
                raise _Unusual
            if with_preferred:
                buf += _pack_i(p["preferred_read_replica"])
            records = p["records"]
            if records is None:
                buf += b"\x00" if flexible else _NULL32
            else:
                if type(records) not in _RECORD_TYPES:
                    raise _Unusual
                n = len(records)
                if type(records) is memoryview and (records.itemsize != 1 or records.ndim != 1):
                    raise _Unusual  # len() would not count bytes
                buf += uvarint_bytes(n + 1) if flexible else _pack_i(n)
                if n <= INLINE_RECORDS_MAX:
                    buf += records
                else:
                    size += len(buf)
                    out.append(records)
                    size += n
                    buf = bytearray()
                    out.append(buf)
            if flexible:
                buf.append(0)  # partition tagged fields: all at their defaults
        if flexible:
            buf.append(0)  # topic tagged fields
    if flexible:
        buf.append(0)  # top-level tagged fields
    size += len(buf)
    if not buf:
        out.pop()
    _I.pack_into(out[0], 0, size - 4)
    return out
