"""The groups read ConsumerProtocol assignments with core.protocol's one decoder.

``core.groups.member_data.assigned_partitions`` shapes what
:func:`core.protocol.consumer_protocol.assignment_partitions` decodes ({topic: sorted partitions}),
tolerating only what that decoder calls a bad blob (:class:`ProtocolError`).
"""

from __future__ import annotations

import pytest
from streamscope.core.groups import member_data
from streamscope.core.protocol import encode_consumer_assignment
from streamscope.core.protocol.consumer_protocol import assignment_partitions


def blob(version: int, topics: dict[str, list[int]]) -> bytes:
    return encode_consumer_assignment(version, {
        "assigned_partitions": [{"topic": t, "partitions": ps} for t, ps in topics.items()],
        "user_data": None,
    })


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_an_assignment_reads_as_sorted_partitions_per_topic(version):
    data = blob(version, {"orders": [2, 0], "audit": [5]})
    assert member_data.assigned_partitions(data) == {"audit": (5,), "orders": (0, 2)}
    assert member_data.assigned_partitions(b"") == {}


def test_the_groups_decode_assignments_with_the_protocol_decoder(monkeypatch):
    seen: list[bytes] = []

    def spy(data: bytes) -> set[tuple[str, int]]:
        seen.append(data)
        return assignment_partitions(data)

    # raising=True: the old copy had no such name to replace.
    monkeypatch.setattr(member_data, "assignment_partitions", spy)
    data = blob(1, {"t": [1]})
    assert member_data.assigned_partitions(data) == {"t": (1,)}
    assert seen == [data]


@pytest.mark.parametrize("bad", [b"\x00", b"\x00\x00\x00\x00\x00\x09ab", b"\xff\xff",
                                 blob(0, {"t": [1]}) + b"trailing"])
def test_a_blob_that_does_not_decode_assigns_nothing(bad):
    assert member_data.assigned_partitions(bad) == {}


def test_a_wrong_argument_is_an_error_not_an_empty_assignment():
    # Only the decoder's ProtocolError means "a client's own format"; anything else is a
    # bug in the caller, and swallowing it would show an owner-less group.
    with pytest.raises(TypeError):
        member_data.assigned_partitions("orders")  # type: ignore[arg-type]
