"""Answer shapes several APIs share: every topic (or partition) answered on its own.

Contract: a ``KafkaError`` raised while answering one entry becomes that entry's error
answer (built by the caller's ``failed``) and never fails the others; any other exception
fails the whole request, as before. Not an API module (its name starts with ``_``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from streamscope.core.errors import ErrorCode, KafkaError


def answer_each_topic(
    request: dict,
    request_name: str,
    answer: Callable[[str, dict, bool], dict],
    failed: Callable[[str, KafkaError], dict],
) -> list[dict]:
    """One answer per topic of the request's ``topics``, in request order:
    ``answer(name, entry, validate_only)`` (the request's ``validate_only`` flag).

    A name given twice gets INVALID_REQUEST (42) for each copy, with Kafka's message
    ("<request_name> request contains multiple entries for topic <name>.").
    """
    topics = request.get("topics") or []
    validate_only = bool(request.get("validate_only", False))
    counts = Counter(t["name"] for t in topics)
    out = []
    for t in topics:
        name = t["name"]
        try:
            if counts[name] > 1:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST,
                    f"{request_name} request contains multiple entries for topic {name}.",
                )
            out.append(answer(name, t, validate_only))
        except KafkaError as exc:
            out.append(failed(name, exc))
    return out


def answer_each_partition(
    topics: list[dict] | None,
    answer: Callable[[str, dict], dict],
    failed: Callable[[int, KafkaError], dict],
) -> list[dict]:
    """``[{"name", "partitions": [...]}]``: ``answer(topic name, partition entry)`` per
    requested partition, or ``failed(partition index, error)`` when it raises KafkaError."""
    topics_out = []
    for t in topics or []:
        name = t["name"]
        parts_out = []
        for p in t.get("partitions") or []:
            try:
                parts_out.append(answer(name, p))
            except KafkaError as exc:
                parts_out.append(failed(p["partition_index"], exc))
        topics_out.append({"name": name, "partitions": parts_out})
    return topics_out


def partition_errors(
    order: list[tuple[str, list[int]]], errors: Mapping[tuple[str, int], int]
) -> list[dict]:
    """``[{"name", "partitions": [{"partition_index", "error_code"}]}]``, in ``order``
    (topic name, partition indexes), from the error code of each (topic, partition)."""
    return [
        {"name": name, "partitions": [
            {"partition_index": p, "error_code": int(errors[(name, p)])} for p in parts
        ]}
        for name, parts in order
    ]
