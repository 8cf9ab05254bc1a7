"""The declarative form our Kafka message definitions are written in.

Contract: a message is written once, mirroring Kafka's message JSON specs, with
:func:`f` for a field and :func:`api` / :func:`data` for a whole message::

    f("Topics", "[]MetadataResponseTopic", "0+",          # name, type, versions
        f("Name", "string", "0+", nullable="12+"),         # nested struct fields
        f("TopicId", "uuid", "10+"),
    )
    f("ClusterId", "string", "12+", nullable="12+", default=None, tag=0, tagged="12+")

- ``name`` is the spec's name; dict keys are its snake_case (``PartitionIndex`` ->
  ``partition_index``), see :func:`snake`.
- ``type`` is a primitive (bool, int8, int16, int32, int64, uint16, float64, string,
  bytes, records, uuid), ``[]<primitive>``, ``[]<StructName>`` (array of the nested
  struct) or ``<StructName>`` (a single nested struct). Struct names are documentation.
- ``versions``, ``nullable`` and ``tagged`` are spec version ranges ("0+", "2-7", "3").
- ``default`` is a Python value (``None`` for the spec's "null"); when omitted it is the
  type's zero: 0, 0.0, False, "", b"", the zero UUID, an empty list, or a struct of
  defaults. ``records`` default to b"" (never null: clients choke on null records).

Nothing here encodes bytes; :mod:`core.protocol.compiler` turns these into codecs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .primitives import ZERO_UUID, parse_versions

__all__ = ["Field", "ApiSchema", "DataSchema", "f", "api", "data", "snake", "PRIMITIVES"]

# Fixed-width primitives map to struct format characters; the others are variable.
FIXED = {"bool": "?", "int8": "b", "int16": "h", "int32": "i", "int64": "q", "uint16": "H",
         "float64": "d"}
PRIMITIVES = frozenset(FIXED) | {"string", "bytes", "records", "uuid"}

_UNSET: Any = object()

_ZERO = {"bool": False, "int8": 0, "int16": 0, "int32": 0, "int64": 0, "uint16": 0,
         "float64": 0.0, "string": "", "bytes": b"", "records": b"", "uuid": ZERO_UUID}

_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """Spec field name -> dict key: ``PartitionIndex`` -> ``partition_index``."""
    return _SNAKE.sub("_", name).lower()


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the spec's name
    key: str  # snake_case dict key
    type: str
    versions: tuple[int, int]
    nullable: tuple[int, int] | None
    tagged: tuple[int, int] | None
    tag: int | None
    default: Any  # _UNSET when the type's zero applies
    fields: tuple[Field, ...] = ()

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem_type(self) -> str:
        """The element type of an array, or the type itself."""
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        """True for a struct or an array of structs."""
        return self.elem_type not in PRIMITIVES

    def valid_in(self, version: int) -> bool:
        lo, hi = self.versions
        return lo <= version <= hi

    def nullable_in(self, version: int) -> bool:
        return self.nullable is not None and self.nullable[0] <= version <= self.nullable[1]

    def tagged_in(self, version: int) -> bool:
        return self.tagged is not None and self.tagged[0] <= version <= self.tagged[1]

    def make_default(self) -> Any:
        """A fresh default value (new list / dict each call for mutable defaults)."""
        if self.default is not _UNSET:
            d = self.default
            return list(d) if isinstance(d, list) else d
        if self.is_array:
            return []
        if self.is_struct:
            return {sub.key: sub.make_default() for sub in self.fields}
        return _ZERO[self.type]


def f(name: str, type: str, versions: str, *fields: Field, nullable: str | None = None,
      default: Any = _UNSET, tag: int | None = None, tagged: str | None = None) -> Field:
    """Declare one field, mirroring a JSON spec field (see the module docstring)."""
    vr = parse_versions(versions)
    if vr is None:
        raise ValueError(f"field {name}: no versions")
    elem = type[2:] if type.startswith("[]") else type
    if elem not in PRIMITIVES and not fields:
        raise ValueError(f"field {name}: struct type {type} needs nested fields")
    if elem in PRIMITIVES and fields:
        raise ValueError(f"field {name}: primitive type {type} cannot have nested fields")
    if (tag is None) != (tagged is None):
        raise ValueError(f"field {name}: tag and tagged go together")
    if not type.startswith("[]") and elem not in PRIMITIVES and nullable:
        raise ValueError(f"field {name}: nullable structs are not supported")
    return Field(name=name, key=snake(name), type=type, versions=vr,
                 nullable=parse_versions(nullable), tagged=parse_versions(tagged), tag=tag,
                 default=default, fields=tuple(fields))


@dataclass(frozen=True, slots=True)
class ApiSchema:
    """One API: its key, the versions we define, and request/response fields."""
    api_key: int
    name: str
    versions: tuple[int, int]
    flexible: tuple[int, int] | None
    request: tuple[Field, ...]
    response: tuple[Field, ...]

    def is_flexible(self, version: int) -> bool:
        return self.flexible is not None and self.flexible[0] <= version <= self.flexible[1]


@dataclass(frozen=True, slots=True)
class DataSchema:
    """A standalone versioned struct (Kafka's "data" specs, e.g. ConsumerProtocol*)."""
    name: str
    versions: tuple[int, int]
    flexible: tuple[int, int] | None
    fields: tuple[Field, ...] = field(default=())


def api(api_key: int, name: str, versions: str, flexible: str, *,
        request: list[Field], response: list[Field]) -> ApiSchema:
    """Declare an API's request and response (both share versions and flexibility)."""
    vr = parse_versions(versions)
    assert vr is not None
    return ApiSchema(api_key, name, vr, parse_versions(flexible), tuple(request),
                     tuple(response))


def data(name: str, versions: str, flexible: str, fields: list[Field]) -> DataSchema:
    vr = parse_versions(versions)
    assert vr is not None
    return DataSchema(name, vr, parse_versions(flexible), tuple(fields))
