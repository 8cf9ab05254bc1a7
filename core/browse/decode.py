"""A record's key or value rendered as msgpack, JSON, UTF-8 text or hex, within limits.

Contract:

* :func:`decode` renders bytes for reading, pretty-printed; :func:`preview` renders them
  on one short line for a table cell. Both take a :class:`Decoder`: ``AUTO`` picks
  msgpack, JSON, text or hex by looking (:func:`detect`); any other forces that decoder,
  and bytes it cannot read fall back to hex with a note saying why.
* Nothing here executes anything: msgpack is unpacked with no hooks (extension types stay
  ``ExtType``), JSON is parsed by the standard library into plain values.
* Bounded whatever the bytes claim (:class:`Limits`): only ``max_bytes`` of the input are
  rendered (the rest is counted, not shown); msgpack is unpacked with every declared
  length capped by the buffer's size (``max_*_len``), so a header declaring 4 GiB is
  refused at once; JSON's nesting depth is measured by a vectorised scan (numpy) BEFORE
  parsing, and deeper text is shown as text; rendering stops at ``max_depth`` levels
  and ``max_chars`` characters. Invalid UTF-8 becomes hex. A 10 MB value, a 10,000-deep
  JSON array or a msgpack length bomb all return at once with ``truncated`` or ``note``.
* Pure functions: they run in worker threads (the reader's and the view's), never on the
  GUI thread for a whole value.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum, auto

import msgpack
import numpy as np


class Decoder(StrEnum):
    AUTO = auto()
    MSGPACK = auto()
    JSON = auto()
    TEXT = auto()
    HEX = auto()


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 1024 * 1024  # input rendered as text or parsed
    max_hex_bytes: int = 256 * 1024  # input rendered as a hex dump
    max_chars: int = 2_000_000  # output characters
    max_depth: int = 100  # nesting levels rendered (and JSON parsed)


# The detail pane's limits, and a table cell's.
DETAIL = Limits()
CELL = Limits(max_bytes=64 * 1024, max_hex_bytes=64, max_chars=120, max_depth=6)


@dataclass(frozen=True, slots=True)
class Decoded:
    kind: str  # "msgpack", "json", "text", "hex" or "null"
    text: str
    truncated: bool = False  # not all of the input (or of its rendering) is shown
    note: str = ""  # why it is shown this way ("invalid UTF-8: shown as hex", ...)


class _Full(Exception):
    """The output budget is spent."""


_WS = re.compile(r"\s+")
# Values up to this size are unpacked to tell msgpack from text; bigger ones are judged
# by their first byte (a map or an array).
_DETECT_MAX = 1024 * 1024
_MSGPACK_CONTAINERS = frozenset([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])
_HEX_ROW = 16


def detect(data: bytes) -> Decoder:
    """What ``AUTO`` shows ``data`` as: msgpack, JSON, text or hex (cheap: looks, does
    not render)."""
    if not data:
        return Decoder.TEXT
    first = data[0]
    if first >= 0x80:  # never the first byte of UTF-8 text that starts with ASCII
        if len(data) <= _DETECT_MAX:
            if _msgpack_value(data, strict=True) is not None:
                return Decoder.MSGPACK
        elif first in _MSGPACK_CONTAINERS:
            return Decoder.MSGPACK  # too big to unpack just to look: decode() says so
    head = _utf8_prefix(data, 4096)
    if head is None or not _printable(head):
        return Decoder.HEX
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        return Decoder.JSON
    return Decoder.TEXT


def decode(data: bytes | None, decoder: Decoder = Decoder.AUTO, limits: Limits = DETAIL) -> Decoded:
    """``data`` pretty-printed by ``decoder`` within ``limits`` (module docstring)."""
    if data is None:
        return Decoded("null", "null")
    choice = detect(data) if decoder is Decoder.AUTO else decoder
    if choice is Decoder.MSGPACK:
        return _decode_msgpack(data, limits, forced=decoder is not Decoder.AUTO)
    if choice is Decoder.JSON:
        return _decode_json(data, limits, forced=decoder is not Decoder.AUTO)
    if choice is Decoder.TEXT:
        return _decode_text(data, limits, forced=decoder is not Decoder.AUTO)
    return _hex(data, limits, "" if decoder is Decoder.HEX else _why_hex(data))


def preview(data: bytes | None, decoder: Decoder = Decoder.AUTO, limits: Limits = CELL) -> str:
    """``data`` on one line of at most ``limits.max_chars`` characters, for a table cell."""
    if data is None:
        return "null"
    choice = detect(data) if decoder is Decoder.AUTO else decoder
    if choice is Decoder.MSGPACK:
        value = _msgpack_value(data, strict=False) if len(data) <= limits.max_bytes else None
        if value is not None:
            out = _Out(limits.max_chars)
            _render_into(out, value[0], None, 0, limits.max_depth)
            return out.text()
        choice = Decoder.HEX
    if choice in (Decoder.JSON, Decoder.TEXT):
        text = _utf8_prefix(data, limits.max_chars * 4)
        if text is not None:
            more = len(data) > limits.max_chars * 4
            return _clip(_WS.sub(" ", text).strip(), limits.max_chars, more)
    shown = data[: limits.max_hex_bytes // 3 or 1]
    more = len(data) > len(shown)
    return _clip(shown.hex(" "), limits.max_chars, more)


# --- decoders ---------------------------------------------------------------------------


def _decode_msgpack(data: bytes, limits: Limits, *, forced: bool) -> Decoded:
    if len(data) > limits.max_bytes:
        why = f"msgpack value larger than {limits.max_bytes:,} bytes: shown as hex"
        return _hex(data, limits, why)
    found = _msgpack_value(data, strict=False)
    if found is None:
        reason = _msgpack_error(data)
        return _hex(data, limits, f"not msgpack ({reason}): shown as hex" if forced else "")
    out = _Out(limits.max_chars)
    deep = _render_into(out, found[0], 2, 0, limits.max_depth)
    note = f"nested deeper than {limits.max_depth} levels: inner levels shown as …"
    return Decoded("msgpack", out.text(), out.full or deep, note if deep else "")


def _decode_json(data: bytes, limits: Limits, *, forced: bool) -> Decoded:
    text = _utf8_prefix(data, len(data)) if len(data) <= limits.max_bytes else None
    if text is None:
        if len(data) > limits.max_bytes:
            why = f"JSON larger than {limits.max_bytes:,} bytes is not parsed: shown as text"
        else:
            why = "not UTF-8, so not JSON: shown as hex"
            return _hex(data, limits, why)
        return _decode_text(data, limits, forced=False, note=why)
    depth = json_depth(data)
    if depth > limits.max_depth:
        why = f"JSON nested {depth:,} levels deep (limit {limits.max_depth}): shown as text"
        return _decode_text(data, limits, forced=False, note=why)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        why = f"not JSON ({exc})" if forced else ""
        return _decode_text(data, limits, forced=False, note=why and why + ": shown as text")
    out = _Out(limits.max_chars)
    _render_into(out, value, 2, 0, limits.max_depth)
    return Decoded("json", out.text(), out.full)


def _decode_text(data: bytes, limits: Limits, *, forced: bool, note: str = "") -> Decoded:
    shown = data[: limits.max_bytes]
    cut = len(data) > len(shown)
    decoder = codecs.getincrementaldecoder("utf-8")("replace" if forced else "strict")
    try:
        text = decoder.decode(shown, final=not cut)
    except UnicodeDecodeError:
        return _hex(data, limits, "invalid UTF-8: shown as hex")
    if forced and "\ufffd" in text and b"\xef\xbf\xbd" not in shown:
        note = note or "invalid UTF-8 sequences shown as \ufffd"
    if len(text) > limits.max_chars:
        text, cut = text[: limits.max_chars], True
    if cut:
        text += f"\n… ({len(data):,} bytes in all)"
    return Decoded("text", text, cut, note)


def _hex(data: bytes, limits: Limits, note: str = "") -> Decoded:
    shown = data[: limits.max_hex_bytes]
    rows = []
    for pos in range(0, len(shown), _HEX_ROW):
        row = shown[pos : pos + _HEX_ROW]
        left, right = row[:8].hex(" "), row[8:].hex(" ")
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        rows.append(f"{pos:08x}  {left:<23}  {right:<23}  |{ascii_}|")
    cut = len(data) > len(shown)
    if cut:
        rows.append(f"… ({len(data):,} bytes in all, first {len(shown):,} shown)")
    return Decoded("hex", "\n".join(rows), cut, note)


# --- msgpack ----------------------------------------------------------------------------


def _unpack(data: bytes, raw: bool) -> object:
    # msgpack (>= 1.0) refuses any declared length (str, bin, array, ext; map: half) past
    # the input's size before allocating: a huge declared length fails at once.
    return msgpack.unpackb(data, raw=raw, strict_map_key=False)


def _msgpack_value(data: bytes, *, strict: bool) -> tuple[object] | None:
    """(value,) if ``data`` is exactly one msgpack value, else None. ``strict`` (for
    detection) also refuses strings that are not UTF-8."""
    try:
        return (_unpack(data, raw=False),)
    except UnicodeDecodeError:
        if strict:
            return None
    except Exception:  # ValueError, ExtraData, FormatError, StackError, TypeError
        return None
    try:
        return (_unpack(data, raw=True),)
    except Exception:
        return None


def _why_hex(data: bytes) -> str:
    """Why AUTO shows ``data`` as hex."""
    if _utf8_prefix(data, 4096) is None:
        why = "not UTF-8 text"
    else:
        why = "text with control characters"
    if data and data[0] in _MSGPACK_CONTAINERS:
        why += f"; not msgpack either ({_msgpack_error(data[:_DETECT_MAX])})"
    return why + ": shown as hex"


def _msgpack_error(data: bytes) -> str:
    try:
        _unpack(data, raw=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return "unreadable"


# --- rendering --------------------------------------------------------------------------


class _Out:
    def __init__(self, max_chars: int) -> None:
        self.parts: list[str] = []
        self.room = max_chars
        self.full = False

    def add(self, s: str) -> None:
        if len(s) > self.room:
            self.parts.append(s[: self.room])
            self.room = 0
            self.full = True
            raise _Full
        self.parts.append(s)
        self.room -= len(s)

    def text(self) -> str:
        return "".join(self.parts) + ("…" if self.full else "")


def _render_into(out: _Out, value: object, indent: int | None, depth: int, max_depth: int) -> bool:
    """Render ``value`` into ``out``; True if something was deeper than ``max_depth``."""
    try:
        return _render(out, value, indent, depth, max_depth)
    except _Full:
        return False


def _render(out: _Out, v: object, indent: int | None, depth: int, max_depth: int) -> bool:
    if v is None:
        out.add("null")
    elif v is True or v is False:
        out.add("true" if v else "false")
    elif isinstance(v, int | float):
        out.add(repr(v) if isinstance(v, float) else _int_text(v))
    elif isinstance(v, str):
        out.add(json.dumps(v[: out.room + 1], ensure_ascii=False))
    elif isinstance(v, bytes | bytearray):
        out.add(_bytes_text(bytes(v)))
    elif isinstance(v, msgpack.ExtType):
        out.add(f"ExtType({v.code}, {_bytes_text(v.data)})")
    elif isinstance(v, msgpack.Timestamp):
        out.add(f"Timestamp({v.to_datetime().isoformat()})")
    elif isinstance(v, list | tuple | dict):
        return _render_container(out, v, indent, depth, max_depth)
    else:
        out.add(repr(v)[:200])
    return False


def _render_container(
    out: _Out, v: list | tuple | dict, indent: int | None, depth: int, max_depth: int
) -> bool:
    is_map = isinstance(v, dict)
    open_, close = ("{", "}") if is_map else ("[", "]")
    if not v:
        out.add(open_ + close)
        return False
    if depth >= max_depth:
        out.add(open_ + "…" + close)
        return True
    deep = False
    inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
    outer = "" if indent is None else "\n" + " " * (indent * depth)
    sep = ", " if indent is None else ","
    out.add(open_)
    items = v.items() if is_map else ((None, x) for x in v)
    for i, (key, item) in enumerate(items):
        out.add((sep if i else "") + inner)
        if is_map:
            if isinstance(key, str):
                out.add(json.dumps(key[: out.room + 1], ensure_ascii=False))
            else:
                deep |= _render(out, key, None, depth + 1, max_depth)
            out.add(": ")
        deep |= _render(out, item, indent, depth + 1, max_depth)
    out.add(outer + close)
    return deep


def _int_text(v: int) -> str:
    try:
        return str(v)
    except ValueError:  # more digits than int_max_str_digits
        return f"<integer of {v.bit_length():,} bits>"


def _bytes_text(b: bytes) -> str:
    head = b[:32].hex()
    return f"<{len(b):,} bytes {head}{'…' if len(b) > 32 else ''}>"


# --- helpers ----------------------------------------------------------------------------


def json_depth(data: bytes) -> int:
    """The deepest bracket nesting of JSON text ``data``, brackets inside strings not
    counted (escaped quotes understood); vectorised, so a 10 MB value takes milliseconds
    and no recursion."""
    b = np.frombuffer(data, dtype=np.uint8)
    if b.size == 0:
        return 0
    quote = b == 0x22
    backslash = b == 0x5C
    if backslash.any():
        idx = np.arange(b.size, dtype=np.int64)
        last_plain = np.maximum.accumulate(np.where(backslash, -1, idx))
        run = np.zeros(b.size, dtype=np.int64)  # backslashes right before each byte
        run[1:] = idx[:-1] - last_plain[:-1]
        quote &= run % 2 == 0
    in_string = np.cumsum(quote, dtype=np.int64) % 2 == 1
    step = ((b == 0x7B) | (b == 0x5B)).astype(np.int8) - ((b == 0x7D) | (b == 0x5D)).astype(np.int8)
    step[in_string] = 0
    return int(np.cumsum(step, dtype=np.int64).max(initial=0))


def fold(text: str, width: int = 1000) -> tuple[str, bool]:
    """``text`` with every line longer than ``width`` broken into lines of ``width``, and
    whether any was: a text widget lays a million-character line out for seconds (or,
    wrapping, minutes); folded, it shows it at once."""
    if len(text) <= width:
        return text, False
    lines = text.split("\n")
    if all(len(line) <= width for line in lines):
        return text, False
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out.extend(line[i : i + width] for i in range(0, len(line), width))
    return "\n".join(out), True


def _utf8_prefix(data: bytes, n: int) -> str | None:
    """The first ``n`` bytes as text (a character cut at the end is dropped), or None if
    they are not UTF-8."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data[:n], final=len(data) <= n)
    except UnicodeDecodeError:
        return None


def _printable(text: str) -> bool:
    for ch in text:
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return False
    return True


def _clip(text: str, n: int, more: bool) -> str:
    if len(text) > n:
        return text[: n - 1] + "…"
    return text + ("…" if more else "")
