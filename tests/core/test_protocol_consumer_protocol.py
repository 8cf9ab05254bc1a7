"""ConsumerProtocol subscription/assignment blobs: round trips at v0-3, agreement with
kafka-python's consumer, and tolerance of newer versions with extra trailing fields."""

from __future__ import annotations

import struct

import pytest
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)
from streamscope.core.protocol import (
    EncodeError,
    ProtocolError,
    decode_consumer_assignment,
    decode_consumer_subscription,
    encode_consumer_assignment,
    encode_consumer_subscription,
)

SUBSCRIPTION = {"topics": ["orders", "payments"], "user_data": b"\x01\x02",
                "owned_partitions": [{"topic": "orders", "partitions": [0, 2]}],
                "generation_id": 7, "rack_id": "rack-a"}
ASSIGNMENT = {"assigned_partitions": [{"topic": "orders", "partitions": [0, 1]},
                                      {"topic": "payments", "partitions": [3]}],
              "user_data": None}


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_subscription_round_trips_and_matches_kafka_python(version):
    blob = encode_consumer_subscription(version, SUBSCRIPTION)
    decoded = decode_consumer_subscription(blob)
    assert decoded["version"] == version and decoded["topics"] == ["orders", "payments"]
    assert decoded["user_data"] == b"\x01\x02"
    if version >= 1:
        assert decoded["owned_partitions"] == SUBSCRIPTION["owned_partitions"]
    assert decoded["generation_id"] == (7 if version >= 2 else -1)
    assert decoded["rack_id"] == ("rack-a" if version >= 3 else None)
    kp = ConsumerProtocolSubscription(
        version=version, topics=SUBSCRIPTION["topics"], user_data=b"\x01\x02",
        owned_partitions=[ConsumerProtocolSubscription.TopicPartition(topic="orders",
                                                                      partitions=[0, 2])],
        generation_id=7, rack_id="rack-a")
    assert bytes(kp.encode()) == blob


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_assignment_round_trips_and_matches_kafka_python(version):
    blob = encode_consumer_assignment(version, ASSIGNMENT)
    decoded = decode_consumer_assignment(blob)
    assert decoded == {**ASSIGNMENT, "version": version}
    kp = ConsumerProtocolAssignment.decode(blob)
    assert [(tp.topic, tp.partitions) for tp in kp.assigned_partitions] == [
        ("orders", [0, 1]), ("payments", [3])]


def test_kafka_python_member_metadata_decodes():
    # What kafka-python's consumer puts in JoinGroup (subscription v0-style minimum).
    blob = bytes(ConsumerProtocolSubscription(version=0, topics=["t"], user_data=None).encode())
    assert decode_consumer_subscription(blob) == {
        "version": 0, "topics": ["t"], "user_data": None, "owned_partitions": [],
        "generation_id": -1, "rack_id": None}


def test_newer_versions_with_extra_trailing_fields_are_tolerated():
    v3 = encode_consumer_subscription(3, SUBSCRIPTION)
    future = struct.pack(">h", 9) + v3[2:] + b"\x00\x00\x00\x2a extra field"
    decoded = decode_consumer_subscription(future)
    assert decoded["version"] == 9 and decoded["rack_id"] == "rack-a"
    future_assignment = struct.pack(">h", 5) + encode_consumer_assignment(3, ASSIGNMENT)[2:] + b"?"
    assert decode_consumer_assignment(future_assignment)["assigned_partitions"] == (
        ASSIGNMENT["assigned_partitions"])


def test_bad_blobs_raise_protocol_error():
    blob = encode_consumer_assignment(1, ASSIGNMENT)
    for cut in range(len(blob)):
        with pytest.raises(ProtocolError):
            decode_consumer_assignment(blob[:cut])
    with pytest.raises(ProtocolError):
        decode_consumer_assignment(blob + b"\x00")  # a known version must fit exactly
    with pytest.raises(ProtocolError):
        decode_consumer_subscription(b"\xff\xff\x00\x00\x00\x00")
    with pytest.raises(EncodeError, match=r"assigned_partitions\[0\]\.partitions"):
        encode_consumer_assignment(0, {"assigned_partitions": [{"topic": "t", "partitions": "0"}]})
    with pytest.raises(EncodeError):
        encode_consumer_assignment(4, ASSIGNMENT)
