"""Records exported to JSON Lines and CSV, exactly, and read back.

Contract:

* Every field of a :class:`~core.browse.batches.BrowsedRecord` is written, so reading an
  export back (:func:`read_jsonl`, :func:`read_csv`) gives records equal to the ones
  written, byte for byte.
* Keys, values and header values are bytes. In JSON Lines each is ``null``, a string
  (when the bytes are valid UTF-8) or ``{"base64": "..."}`` (when they are not): the
  marker tells text and base64 apart without guessing. In CSV each has a companion
  ``*_encoding`` column: ``null``, ``utf-8`` or ``base64``; the headers column holds the
  JSON Lines form of the header list. Cells a spreadsheet would run as a formula (text
  starting with ``=``, ``+``, ``-``, ``@``, tab or CR) and text holding NUL are written as
  base64 too, so opening an export in a spreadsheet never executes client data.
* Writers write to ``PATH.part`` and rename it over ``PATH`` when done: a failed export
  never leaves half a file under the chosen name. They are plain blocking I/O: callers
  run them in a worker thread.
"""

from __future__ import annotations

import base64
import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from streamscope.core.browse.batches import BrowsedRecord, TimestampType

CSV_COLUMNS = (
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "key_encoding",
    "value",
    "value_encoding",
    "headers",
    "size",
    "compression",
    "transactional",
    "control",
    "producer_id",
    "note",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# A field as JSON Lines writes it: null, a string, or {"base64": "..."}.
JsonField = str | dict[str, str] | None


def bytes_field(data: bytes | None) -> JsonField:
    """``data`` for JSON: None, its text if valid UTF-8, else ``{"base64": ...}``."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def field_bytes(field: object) -> bytes | None:
    """The bytes :func:`bytes_field` wrote as ``field``."""
    if field is None:
        return None
    if isinstance(field, str):
        return field.encode("utf-8")
    if isinstance(field, dict) and set(field) == {"base64"} and isinstance(field["base64"], str):
        return base64.b64decode(field["base64"], validate=True)
    raise ValueError(f"not an exported bytes field: {field!r}"[:200])


def record_json(r: BrowsedRecord) -> dict[str, object]:
    return {
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_type": str(r.timestamp_type),
        "key": bytes_field(r.key),
        "value": bytes_field(r.value),
        "headers": [[name, bytes_field(value)] for name, value in r.headers],
        "size": r.size,
        "compression": r.compression,
        "transactional": r.transactional,
        "control": r.control,
        "producer_id": r.producer_id,
        "note": r.note,
    }


def record_from_json(d: dict[str, object]) -> BrowsedRecord:
    headers = d["headers"]
    if not isinstance(headers, list):
        raise ValueError("headers must be a list")
    return BrowsedRecord(
        topic=str(d["topic"]),
        partition=_int(d["partition"]),
        offset=_int(d["offset"]),
        timestamp=_int(d["timestamp"]),
        timestamp_type=TimestampType(str(d["timestamp_type"])),
        key=field_bytes(d["key"]),
        value=field_bytes(d["value"]),
        headers=tuple((str(name), field_bytes(value)) for name, value in headers),
        size=_int(d["size"]),
        compression=str(d["compression"]),
        transactional=bool(d["transactional"]),
        control=bool(d["control"]),
        producer_id=_int(d.get("producer_id", -1)),
        note=str(d.get("note", "")),
    )


def write_jsonl(records: Iterable[BrowsedRecord], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per line; returns how many records were written."""

    def write(f: IO[str]) -> int:
        n = 0
        for r in records:
            f.write(json.dumps(record_json(r), ensure_ascii=False))
            f.write("\n")
            n += 1
        return n

    return _write_atomically(Path(path), write)


def read_jsonl(path: str | os.PathLike[str]) -> list[BrowsedRecord]:
    """The records a :func:`write_jsonl` export holds."""
    with open(path, encoding="utf-8") as f:
        return [record_from_json(json.loads(line)) for line in f if line.strip()]


def write_csv(records: Iterable[BrowsedRecord], path: str | os.PathLike[str]) -> int:
    """Write a header row and one row per record; returns how many records were written."""

    def write(f: IO[str]) -> int:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        n = 0
        for r in records:
            key, key_enc = _csv_cell(r.key)
            value, value_enc = _csv_cell(r.value)
            headers = json.dumps(
                [[name, bytes_field(v)] for name, v in r.headers], ensure_ascii=False
            )
            out.writerow((
                r.topic, r.partition, r.offset, r.timestamp, str(r.timestamp_type),
                key, key_enc, value, value_enc, headers, r.size, r.compression,
                int(r.transactional), int(r.control), r.producer_id, r.note,
            ))
            n += 1
        return n

    return _write_atomically(Path(path), write)


def read_csv(path: str | os.PathLike[str]) -> list[BrowsedRecord]:
    """The records a :func:`write_csv` export holds."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(_csv_records(csv.DictReader(f)))


def _csv_records(rows: Iterator[dict[str, str]]) -> Iterator[BrowsedRecord]:
    for row in rows:
        headers = json.loads(row["headers"])
        yield BrowsedRecord(
            topic=row["topic"],
            partition=int(row["partition"]),
            offset=int(row["offset"]),
            timestamp=int(row["timestamp"]),
            timestamp_type=TimestampType(row["timestamp_type"]),
            key=_csv_bytes(row["key"], row["key_encoding"]),
            value=_csv_bytes(row["value"], row["value_encoding"]),
            headers=tuple((str(name), field_bytes(v)) for name, v in headers),
            size=int(row["size"]),
            compression=row["compression"],
            transactional=row["transactional"] == "1",
            control=row["control"] == "1",
            producer_id=int(row["producer_id"]),
            note=row["note"],
        )


def _csv_cell(data: bytes | None) -> tuple[str, str]:
    if data is None:
        return "", "null"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text or text.startswith(_FORMULA_START):
        return base64.b64encode(data).decode("ascii"), "base64"
    return text, "utf-8"


def _csv_bytes(cell: str, encoding: str) -> bytes | None:
    if encoding == "null":
        return None
    if encoding == "utf-8":
        return cell.encode("utf-8")
    if encoding == "base64":
        return base64.b64decode(cell, validate=True)
    raise ValueError(f"unknown cell encoding {encoding!r}")


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}"[:200])
    return v


def _write_atomically(path: Path, write: Callable[[IO[str]], int]) -> int:
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "w", encoding="utf-8", newline="") as f:
            n = write(f)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return n
