"""The engine: compiles a message definition, at one version, into a decoder and encoder.

Contract: :func:`compile_struct` takes the fields of a struct (see :mod:`.schema`), a
version and whether that version is flexible, and returns a :class:`StructCodec`:

- ``decode(mv, pos) -> (dict, pos)`` reads from a ``memoryview`` of bytes. The dict has a
  key for EVERY field the struct defines at any version: fields on the wire at this
  version hold what was read, the others hold their defaults, so handlers can read any
  key whatever version the client spoke. ``records`` come back as zero-copy memoryview
  slices of the input; ``bytes`` as ``bytes``; uuids as ``uuid.UUID``. Unknown tagged
  fields are skipped. Errors surface as ``struct.error`` / ``IndexError`` /
  ``UnicodeDecodeError`` / :class:`ProtocolError`; the caller converts them.
- ``encode(body, buf)`` appends to a ``bytearray``. Missing keys (at any depth) take the
  field's default; extra keys are ignored. Known tagged fields are written only when
  they differ from their default. Wrong types surface as whatever Python raises; the
  caller then runs ``check(body, path)``, which raises :class:`EncodeError` naming the
  offending field path.

Everything version-dependent is decided here, once: the compiled closures carry no
version checks. Consecutive fixed-width fields collapse into one ``struct.Struct``.

Why one long module (over 600 lines): the per-type readers and writers and the compiler
that stitches them into closures are one engine; split apart, every fast path would pay
an attribute lookup per field, and the pieces have no use on their own.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .primitives import EncodeError, ProtocolError, read_uvarint, write_uvarint
from .schema import FIXED, Field

__all__ = ["StructCodec", "compile_struct"]

_H = struct.Struct(">h")
_I = struct.Struct(">i")
_unpack_i = _I.unpack_from
_pack_i = _I.pack

_NULL32 = b"\xff\xff\xff\xff"

# Encode bools with "B" (not "?") so a non-bool value fails loudly instead of being
# coerced by truthiness; decode with "?" so any non-zero byte reads as True.
_ENC_FMT = {**FIXED, "bool": "B"}
_SIZE = {t: struct.calcsize(">" + c) for t, c in FIXED.items()}

_INT_RANGES = {"int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
               "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
               "uint16": (0, 0xFFFF)}

Decoder = Callable[[memoryview, int], tuple[Any, int]]
Encoder = Callable[[Any, bytearray], None]


class StructCodec:
    """A struct compiled at one version: ``decode``, ``encode``, ``check``, ``default``."""

    __slots__ = ("decode", "encode", "check", "default", "min_size")

    def __init__(self, decode: Decoder, encode: Encoder,
                 check: Callable[[Any, str], None], default: Callable[[], dict],
                 min_size: int) -> None:
        self.decode = decode
        self.encode = encode
        self.check = check
        self.default = default
        self.min_size = min_size

    def encode_named(self, body: dict, buf: bytearray, what: str) -> None:
        """``encode``, and on any failure an :class:`EncodeError` naming ``what`` and the
        offending field path (found by ``check``, run only then)."""
        try:
            self.encode(body, buf)
        except Exception as e:  # any failure is re-diagnosed to name the field path
            try:
                self.check(body, "")
            except EncodeError as diagnosed:
                raise EncodeError(f"{what}: {diagnosed}") from e
            raise


# --------------------------------------------------------------------------- values
# Each value codec is (decoder, encoder, min wire size) for one field type at one
# version; nullability and compactness are baked in.

def _sized_codec(what: str, nullable: bool, compact: bool, length: struct.Struct,
                 from_wire: Callable[[memoryview], Any],
                 to_wire: Callable[[Any], Any]) -> tuple[Decoder, Encoder, int]:
    """A length-prefixed ``what`` (string or bytes). Compact: a uvarint length + 1 (0 is
    null); else a ``length`` int (-1 is null). Decoded payload slices go through
    ``from_wire``; values to encode through ``to_wire``, which gives their bytes."""
    if compact:
        def dec(mv, pos):
            n, pos = read_uvarint(mv, pos)
            if n == 0:
                if nullable:
                    return None, pos
                raise ProtocolError(f"null {what} in a non-nullable field")
            end = pos + n - 1
            if end > len(mv):
                raise ProtocolError(f"truncated {what}")
            return from_wire(mv[pos:end]), end

        def enc(v, buf):
            if v is None and nullable:
                buf.append(0)
                return
            b = to_wire(v)
            write_uvarint(buf, len(b) + 1)
            buf += b
        return dec, enc, 1

    unpack = length.unpack_from
    pack = length.pack
    width = length.size
    null = pack(-1)

    def dec_sized(mv, pos):
        n = unpack(mv, pos)[0]
        pos += width
        if n < 0:
            if n == -1 and nullable:
                return None, pos
            raise ProtocolError(f"invalid {what} length {n}")
        end = pos + n
        if end > len(mv):
            raise ProtocolError(f"truncated {what}")
        return from_wire(mv[pos:end]), end

    def enc_sized(v, buf):
        if v is None and nullable:
            buf += null
            return
        b = to_wire(v)
        buf += pack(len(b))
        buf += b
    return dec_sized, enc_sized, width


def _utf8(m: memoryview) -> str:
    return str(m, "utf-8")


def _not_str(v: Any) -> Any:
    if isinstance(v, str):
        raise TypeError("str given for bytes")
    return v


def _string_codec(nullable: bool, compact: bool) -> tuple[Decoder, Encoder, int]:
    return _sized_codec("string", nullable, compact, _H, _utf8, str.encode)


def _bytes_codec(nullable: bool, compact: bool, zero_copy: bool) -> tuple[Decoder, Encoder, int]:
    # records are zero-copy memoryview slices; plain bytes are copied so callers own them.
    conv = (lambda m: m) if zero_copy else bytes
    return _sized_codec("bytes", nullable, compact, _I, conv, _not_str)


def _uuid_dec(mv, pos):
    end = pos + 16
    if end > len(mv):
        raise ProtocolError("truncated uuid")
    return uuid.UUID(bytes=bytes(mv[pos:end])), end


def _uuid_enc(v, buf):
    if isinstance(v, uuid.UUID):
        buf += v.bytes
    elif isinstance(v, bytes | bytearray) and len(v) == 16:
        buf += v
    else:
        raise TypeError("uuid must be a uuid.UUID or 16 bytes")


def _fixed_codec(type_: str) -> tuple[Decoder, Encoder, int]:
    ds = struct.Struct(">" + FIXED[type_])
    es = struct.Struct(">" + _ENC_FMT[type_])
    size = ds.size
    unpack = ds.unpack_from
    pack = es.pack

    def dec(mv, pos):
        return unpack(mv, pos)[0], pos + size

    def enc(v, buf):
        buf += pack(v)
    return dec, enc, size


def _count_codec(compact: bool):
    """Array count readers/writers: int32 (-1 null) or uvarint count+1 (0 null)."""
    if compact:
        def read(mv, pos):
            n, pos = read_uvarint(mv, pos)
            return n - 1, pos

        def write(buf, n):
            write_uvarint(buf, n + 1)
        null = b"\x00"
    else:
        def read(mv, pos):
            return _unpack_i(mv, pos)[0], pos + 4

        def write(buf, n):
            buf += _pack_i(n)
        null = _NULL32
    return read, write, null


def _array_codec(elem_dec: Decoder, elem_enc: Encoder, elem_min: int, nullable: bool,
                 compact: bool, fixed_elem: str | None) -> tuple[Decoder, Encoder, int]:
    read_count, write_count, null = _count_codec(compact)

    def dec(mv, pos):
        n, pos = read_count(mv, pos)
        if n < 0:
            if n == -1 and nullable:
                return None, pos
            raise ProtocolError(f"invalid array length {n}")
        # Refuse absurd counts before allocating: every element takes >= elem_min bytes.
        if elem_min and n * elem_min > len(mv) - pos:
            raise ProtocolError("truncated array")
        if fixed_elem is not None:
            fmt = f">{n}{fixed_elem}"
            return list(struct.unpack_from(fmt, mv, pos)), pos + struct.calcsize(fmt)
        out = []
        append = out.append
        for _ in range(n):
            item, pos = elem_dec(mv, pos)
            append(item)
        return out, pos

    fixed_enc = _ENC_FMT.get(_FIXED_BY_CHAR.get(fixed_elem or "", ""), None)

    def enc(v, buf):
        if v is None and nullable:
            buf += null
            return
        if not isinstance(v, list | tuple):
            raise TypeError("array must be a list or tuple")
        write_count(buf, len(v))
        if fixed_enc is not None:
            buf += struct.pack(f">{len(v)}{fixed_enc}", *v)
        else:
            for item in v:
                elem_enc(item, buf)
    return dec, enc, (1 if compact else 4)


_FIXED_BY_CHAR = {c: t for t, c in FIXED.items()}


def _value_codec(fld: Field, version: int, flexible: bool,
                 sub: StructCodec | None) -> tuple[Decoder, Encoder, int]:
    """The codec for one field's value at this version."""
    nullable = fld.nullable_in(version)
    et = fld.elem_type
    if fld.is_array:
        if sub is not None:
            ed, ee, emin = sub.decode, sub.encode, sub.min_size
            fixed_char = None
        else:
            ed, ee, emin = _scalar_codec(et, False, flexible)
            fixed_char = FIXED.get(et)
        return _array_codec(ed, ee, emin, nullable, flexible, fixed_char)
    if sub is not None:
        return sub.decode, sub.encode, sub.min_size
    return _scalar_codec(et, nullable, flexible)


def _scalar_codec(type_: str, nullable: bool, flexible: bool) -> tuple[Decoder, Encoder, int]:
    if type_ in FIXED:
        return _fixed_codec(type_)
    if type_ == "string":
        return _string_codec(nullable, flexible)
    if type_ == "bytes":
        return _bytes_codec(nullable, flexible, zero_copy=False)
    if type_ == "records":
        return _bytes_codec(nullable, flexible, zero_copy=True)
    if type_ == "uuid":
        return _uuid_dec, _uuid_enc, 16
    raise ValueError(f"unknown type {type_}")


# --------------------------------------------------------------------------- checks

def _describe(v: Any) -> str:
    r = repr(v)
    return f"{type(v).__name__} {r[:40]}{'...' if len(r) > 40 else ''}"


def _scalar_problem(type_: str, v: Any, nullable: bool, flexible: bool) -> str | None:
    """Why ``v`` cannot be encoded as ``type_``, or None when it can."""
    if v is None:
        return None if nullable else f"null is not allowed for a non-nullable {type_}"
    if type_ in _INT_RANGES:
        if not isinstance(v, int):
            return f"expected {type_}, got {_describe(v)}"
        lo, hi = _INT_RANGES[type_]
        if not lo <= v <= hi:
            return f"{v} is out of range for {type_}"
        return None
    if type_ == "bool":
        if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
            return None
        return f"expected bool, got {_describe(v)}"
    if type_ == "float64":
        return None if isinstance(v, int | float) else f"expected float64, got {_describe(v)}"
    if type_ == "string":
        if not isinstance(v, str):
            return f"expected str, got {_describe(v)}"
        if not flexible and len(v.encode()) > 0x7FFF:
            return "string longer than 32767 bytes"
        return None
    if type_ in ("bytes", "records"):
        if isinstance(v, bytes | bytearray | memoryview):
            return None
        return f"expected bytes-like, got {_describe(v)}"
    if type_ == "uuid":
        if isinstance(v, uuid.UUID) or (isinstance(v, bytes | bytearray) and len(v) == 16):
            return None
        return f"expected uuid.UUID or 16 bytes, got {_describe(v)}"
    return f"unknown type {type_}"


def _make_field_check(fld: Field, version: int, flexible: bool, sub: StructCodec | None):
    nullable = fld.nullable_in(version)
    et = fld.elem_type

    def check(v: Any, path: str) -> None:
        if fld.is_array:
            if v is None:
                if nullable:
                    return
                raise EncodeError(f"{path}: null is not allowed (non-nullable array)")
            if not isinstance(v, list | tuple):
                raise EncodeError(f"{path}: expected a list, got {_describe(v)}")
            for i, item in enumerate(v):
                if sub is not None:
                    sub.check(item, f"{path}[{i}]")
                else:
                    problem = _scalar_problem(et, item, False, flexible)
                    if problem:
                        raise EncodeError(f"{path}[{i}]: {problem}")
            return
        if sub is not None:
            sub.check(v, path)
            return
        problem = _scalar_problem(et, v, nullable, flexible)
        if problem:
            raise EncodeError(f"{path}: {problem}")
    return check


# --------------------------------------------------------------------------- structs

def _field_default(fld: Field, version: int) -> Any:
    """The value an omitted key encodes as at this version."""
    d = fld.make_default()
    # A spec default of null where this version cannot carry null: use the type's zero
    # (Kafka would refuse to write; being lenient keeps handlers version-agnostic).
    if d is None and not fld.nullable_in(version) and fld.valid_in(version):
        if fld.is_array:
            return []
        if fld.is_struct:
            return {}
        return {"string": "", "bytes": b"", "records": b""}.get(fld.type)
    return d


def compile_struct(fields: tuple[Field, ...], version: int, flexible: bool) -> StructCodec:
    """Compile ``fields`` at ``version`` into a :class:`StructCodec`."""
    regular: list[Field] = []
    tagged: list[Field] = []
    for fld in fields:
        if not fld.valid_in(version):
            continue
        if flexible and fld.tagged_in(version):
            tagged.append(fld)
        else:
            regular.append(fld)
    tagged.sort(key=lambda x: x.tag)  # type: ignore[arg-type, return-value]

    subs: dict[str, StructCodec] = {}
    for fld in fields:
        if fld.is_struct and fld.valid_in(version):
            subs[fld.key] = compile_struct(fld.fields, version, flexible)

    # Defaults for keys not read from the wire (absent at this version, or tagged).
    on_wire = {fld.key for fld in regular}
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for fld in fields:
        if fld.key in on_wire:
            continue
        value = fld.make_default()
        if isinstance(value, list | dict):
            factories.append((fld.key, fld.make_default))
        else:
            template[fld.key] = value

    def default() -> dict:
        return {fld.key: fld.make_default() for fld in fields}

    dec_steps: list[Callable] = []
    # Encoders are built last so the final one can also write an empty tag section.
    enc_items: list[Any] = []  # _FixedRunEncoder | (field, sub codec, value encoder, default)
    checks: list[tuple[str, Any, Callable]] = []
    min_size = 0

    # Runs of consecutive fixed-width fields become one struct format.
    run: list[Field] = []

    def flush_run() -> None:
        if not run:
            return
        keys = tuple(x.key for x in run)
        dflts = tuple(_field_default(x, version) for x in run)
        dfmt = ">" + "".join(FIXED[x.type] for x in run)
        efmt = ">" + "".join(_ENC_FMT[x.type] for x in run)
        dec_steps.append(_fixed_run_decoder(keys, struct.Struct(dfmt)))
        enc_items.append(_FixedRunEncoder(keys, dflts, efmt))
        run.clear()

    for fld in regular:
        sub = subs.get(fld.key)
        checks.append((fld.key, _field_default(fld, version),
                       _make_field_check(fld, version, flexible, sub)))
        if fld.type in FIXED:
            run.append(fld)
            min_size += _SIZE[fld.type]
            continue
        flush_run()
        vdec, venc, vmin = _value_codec(fld, version, flexible, sub)
        min_size += vmin
        dec_steps.append(_field_decoder(fld.key, vdec))
        enc_items.append((fld, sub, venc, _field_default(fld, version)))
    flush_run()

    tagged_enc: list[tuple] = []
    if flexible:
        min_size += 1
        known: dict[int, tuple[str, Decoder]] = {}
        for fld in tagged:
            sub = subs.get(fld.key)
            vdec, venc, _ = _value_codec(fld, version, flexible, sub)
            dflt = _field_default(fld, version)
            known[fld.tag] = (fld.key, vdec)  # type: ignore[index]
            tagged_enc.append((fld.tag, fld.key, dflt, venc, _default_test(fld, dflt, venc)))
            checks.append((fld.key, dflt, _make_field_check(fld, version, flexible, sub)))
        dec_steps.append(_tag_section_decoder(known))

    enc_steps: list[Callable] = []
    tail_done = not flexible or bool(tagged_enc)
    for i, item in enumerate(enc_items):
        last = i == len(enc_items) - 1
        if isinstance(item, _FixedRunEncoder):
            if last and not tail_done:
                # "x" is a pad byte: the empty tagged-field section costs nothing.
                item.absorb_tag_byte()
                tail_done = True
            enc_steps.append(item.fn)
        else:
            fld, sub, venc, dflt = item
            tail = last and not tail_done
            tail_done = tail_done or tail
            enc_steps.append(_field_encoder(fld, version, flexible, sub, venc, dflt, tail))
    if flexible and tagged_enc:
        enc_steps.append(_tag_section_encoder(tagged_enc))
    elif not tail_done:
        enc_steps.append(_empty_tags)

    decode = _struct_decoder(dec_steps, template, factories)
    encode = _struct_encoder(enc_steps)

    def check(body: Any, path: str) -> None:
        if not isinstance(body, Mapping):
            raise EncodeError(f"{path or 'body'}: expected a dict, got {_describe(body)}")
        for key, dflt, fcheck in checks:
            fcheck(body.get(key, dflt), f"{path}.{key}" if path else key)

    return StructCodec(decode, encode, check, default, min_size)


def _fixed_run_decoder(keys: tuple[str, ...], st: struct.Struct):
    unpack = st.unpack_from
    size = st.size
    if len(keys) == 1:
        (key,) = keys

        def dec1(mv, pos, d):
            d[key] = unpack(mv, pos)[0]
            return pos + size
        return dec1

    def dec(mv, pos, d):
        d.update(zip(keys, unpack(mv, pos), strict=True))
        return pos + size
    return dec


class _FixedRunEncoder:
    """Encodes a run of fixed-width fields with one pack; may absorb a zero tag byte."""

    __slots__ = ("keys", "dflts", "fmt", "fn")

    def __init__(self, keys: tuple[str, ...], dflts: tuple, fmt: str) -> None:
        self.keys = keys
        self.dflts = dflts
        self.fmt = fmt
        self._build()

    def _build(self) -> None:
        pack = struct.Struct(self.fmt).pack
        keys, dflts = self.keys, self.dflts

        def enc(d, buf):
            buf += pack(*map(d.get, keys, dflts))
        self.fn = enc

    def absorb_tag_byte(self) -> None:
        # "x" is a pad byte: the empty tagged-field section (count 0) costs nothing.
        self.fmt += "x"
        self._build()


def _empty_tags(d, buf):
    buf.append(0)


def _field_decoder(key: str, vdec: Decoder):
    def dec(mv, pos, d):
        d[key], pos = vdec(mv, pos)
        return pos
    return dec


def _field_encoder(fld: Field, version: int, flexible: bool, sub: StructCodec | None,
                   venc: Encoder, dflt: Any, tail: bool) -> Callable[[Any, bytearray], None]:
    """A field-level encoder (reads ``body[key]``); ``tail`` also writes an empty tag
    section after the value. Common shapes get fused closures to save a call per value."""
    key = fld.key
    nullable = fld.nullable_in(version)
    if fld.is_array and sub is not None:
        return _struct_array_encoder(key, dflt, sub.encode, nullable, flexible, tail)
    if fld.is_array and fld.elem_type in FIXED:
        return _fixed_array_encoder(key, dflt, _ENC_FMT[fld.elem_type], nullable, flexible, tail)

    if tail:
        def enc_tail(d, buf):
            venc(d.get(key, dflt), buf)
            buf.append(0)
        return enc_tail

    def enc(d, buf):
        venc(d.get(key, dflt), buf)
    return enc


def _struct_array_encoder(key, dflt, sub_enc, nullable, compact, tail):
    def enc(d, buf):
        v = d.get(key, dflt)
        if v is None and nullable:
            buf += b"\x00" if compact else _NULL32
        else:
            if not isinstance(v, list | tuple):
                raise TypeError("array must be a list or tuple")
            n = len(v)
            if not compact:
                buf += _pack_i(n)
            elif n < 0x7F:
                buf.append(n + 1)
            else:
                write_uvarint(buf, n + 1)
            for item in v:
                sub_enc(item, buf)
        if tail:
            buf.append(0)
    return enc


def _fixed_array_encoder(key, dflt, char, nullable, compact, tail):
    # One pack per array, count included; Structs cached per length (small lengths only).
    cache: dict[int, Callable] = {}
    suffix = "x" if tail else ""

    def packer(n: int) -> Callable:
        p = cache.get(n)
        if p is None:
            count = "B" if compact else "i"
            p = struct.Struct(f">{count}{n}{char}{suffix}").pack
            if n <= 64:
                cache[n] = p
        return p

    def enc(d, buf):
        v = d.get(key, dflt)
        if v is None and nullable:
            buf += b"\x00" if compact else _NULL32
            if tail:
                buf.append(0)
            return
        if not isinstance(v, list | tuple):
            raise TypeError("array must be a list or tuple")
        n = len(v)
        if not compact:
            buf += packer(n)(n, *v)
        elif n < 0x7F:
            buf += packer(n)(n + 1, *v)
        else:
            write_uvarint(buf, n + 1)
            buf += struct.pack(f">{n}{char}{suffix}", *v)
    return enc


def _default_test(fld: Field, dflt: Any, venc: Encoder) -> Callable[[Any], bool]:
    """For a tagged field: is this value its default (and so left off the wire)?"""
    if fld.is_array:
        if dflt is None:
            return lambda v: v is None
        return lambda v: v is not None and len(v) == 0
    if fld.is_struct:
        # Compare encodings: equal bytes <=> equal values, and partial dicts just work.
        ref = bytearray()
        venc(dflt, ref)
        ref_b = bytes(ref)

        def is_default(v: Any) -> bool:
            if v is None or v is dflt:
                return True
            tmp = bytearray()
            venc(v, tmp)
            return tmp == ref_b
        return is_default
    return lambda v: v == dflt and type(v) is type(dflt)


def _tag_section_decoder(known: dict[int, tuple[str, Decoder]]):
    def dec(mv, pos, d):
        if mv[pos] == 0:
            return pos + 1
        n, pos = read_uvarint(mv, pos)
        for _ in range(n):
            tag, pos = read_uvarint(mv, pos)
            size, pos = read_uvarint(mv, pos)
            end = pos + size
            if end > len(mv):
                raise ProtocolError("truncated tagged field")
            entry = known.get(tag)
            if entry is not None:
                key, vdec = entry
                d[key], got = vdec(mv[:end], pos)
                if got != end:
                    raise ProtocolError(f"tagged field {tag} has a wrong size")
            pos = end  # unknown tags are skipped, as Kafka does
        return pos
    return dec


def _tag_section_encoder(tagged: list):
    def enc(d, buf):
        parts = []
        for tag, key, dflt, venc, is_default in tagged:
            v = d.get(key, dflt)
            if is_default(v):
                continue
            tmp = bytearray()
            venc(v, tmp)
            parts.append((tag, tmp))
        write_uvarint(buf, len(parts))
        for tag, tmp in parts:
            write_uvarint(buf, tag)
            write_uvarint(buf, len(tmp))
            buf += tmp
    return enc


def _struct_decoder(steps: list, template: dict, factories: list):
    steps_t = tuple(steps)
    if factories:
        facs = tuple(factories)

        def dec(mv, pos):
            d = template.copy()
            for key, fac in facs:
                d[key] = fac()
            for step in steps_t:
                pos = step(mv, pos, d)
            return d, pos
        return dec

    def dec_plain(mv, pos):
        d = template.copy()
        for step in steps_t:
            pos = step(mv, pos, d)
        return d, pos
    return dec_plain


def _struct_encoder(steps: list):
    # Unwrap the fixed-run objects to their bound closures for a cheaper call.
    calls = tuple(s.fn if isinstance(s, _FixedRunEncoder) else s for s in steps)
    if len(calls) == 1:
        (only,) = calls
        return only

    def enc(d, buf):
        for step in calls:
            step(d, buf)
    return enc

