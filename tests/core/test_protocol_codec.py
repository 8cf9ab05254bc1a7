"""Headers, golden bytes against kafka-python, ApiVersions quirks, strictness on bad
input, tagged-field handling and encode-time errors of the codec."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.protocol.consumer import FetchResponse
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceRequest
from streamscope.core.protocol import (
    SCHEMAS,
    ApiKey,
    EncodeError,
    ProtocolError,
    UnsupportedVersionError,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    is_flexible,
    read_request_header,
    request_header_version,
    response_header_version,
    schema_versions,
)


def _kp_request(msg, version: int, correlation_id: int = 3, client_id: str | None = "kp") -> bytes:
    msg.with_header(correlation_id=correlation_id, client_id=client_id)
    return bytes(msg.encode(version=version, header=True))


# ------------------------------------------------------------------ golden bytes

def test_metadata_v4_request_matches_kafka_python_and_golden_bytes():
    kp = _kp_request(MetadataRequest(
        topics=[MetadataRequest.MetadataRequestTopic(name="a")],
        allow_auto_topic_creation=False), 4)
    golden = bytes.fromhex("0003 0004 00000003 0002 6b70 00000001 0001 61 00".replace(" ", ""))
    ours = encode_request(3, 4, 3, "kp", {"topics": [{"name": "a"}],
                                          "allow_auto_topic_creation": False})
    assert kp == golden == ours
    header, pos = read_request_header(kp)
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (
        3, 4, 3, "kp")
    body = decode_request(3, 4, kp, pos)
    assert body["topics"] == [{"name": "a", "topic_id": uuid.UUID(int=0)}]
    assert body["allow_auto_topic_creation"] is False


@pytest.mark.parametrize("version", [0, 1, 5, 9, 12])
def test_metadata_requests_from_kafka_python_decode(version):
    topics = [] if version == 0 else None  # v0 has no null: empty means "all topics"
    kp = _kp_request(MetadataRequest(topics=topics), version)
    header, pos = read_request_header(kp)
    body = decode_request(3, version, kp, pos)
    assert body["topics"] == topics
    assert encode_request(3, version, 3, "kp", {"topics": topics}) == kp


@pytest.mark.parametrize("version", [3, 7, 9])
def test_produce_request_from_kafka_python_decodes_with_zero_copy_records(version):
    records = bytes(range(61)) * 3
    kp = _kp_request(ProduceRequest(
        transactional_id=None, acks=-1, timeout_ms=30000,
        topic_data=[ProduceRequest.TopicProduceData(name="orders", partition_data=[
            ProduceRequest.TopicProduceData.PartitionProduceData(index=2, records=records)])]),
        version)
    header, pos = read_request_header(kp)
    body = decode_request(0, version, kp, pos)
    assert body["acks"] == -1 and body["timeout_ms"] == 30000
    part = body["topic_data"][0]["partition_data"][0]
    assert body["topic_data"][0]["name"] == "orders" and part["index"] == 2
    assert isinstance(part["records"], memoryview) and part["records"] == records
    assert part["records"].obj is kp  # a view into the frame, not a copy
    assert encode_request(0, version, 3, "kp", body) == kp


def test_api_versions_v4_request_from_kafka_python_uses_header_v2_with_int16_client_id():
    kp = _kp_request(ApiVersionsRequest(client_software_name="kafka-python",
                                        client_software_version="3.0.12"), 4, 9, "my-client")
    # api_key, version, correlation id, int16 client_id length + bytes, empty tags
    assert kp[:20] == b"\x00\x12\x00\x04\x00\x00\x00\x09\x00\x09my-client\x00"
    header, pos = read_request_header(kp)
    assert header.client_id == "my-client" and pos == 20
    assert decode_request(18, 4, kp, pos) == {"client_software_name": "kafka-python",
                                              "client_software_version": "3.0.12"}


def test_metadata_v12_response_decodes_in_kafka_python():
    tid = uuid.UUID("8d2c5d7e-3f0a-4d59-9d4b-5b6a0e0e9a11")
    frame = encode_response(3, 12, 41, {
        "brokers": [{"node_id": 1, "host": "127.0.0.1", "port": 9092, "rack": None}],
        "cluster_id": "streamscope", "controller_id": 1,
        "topics": [{"name": "orders", "topic_id": tid, "partitions": [
            {"partition_index": 0, "leader_id": 1, "leader_epoch": 0, "replica_nodes": [1],
             "isr_nodes": [1]}]}],
    })
    resp = MetadataResponse.decode(frame, version=12, header=True)
    assert resp.header.correlation_id == 41
    assert resp.cluster_id == "streamscope" and resp.controller_id == 1
    assert (resp.brokers[0].host, resp.brokers[0].port) == ("127.0.0.1", 9092)
    topic = resp.topics[0]
    assert topic.name == "orders" and topic.topic_id == tid
    assert topic.partitions[0].isr_nodes == [1] and topic.partitions[0].leader_epoch == 0


# ------------------------------------------------------------------ headers

def test_flexible_request_header_keeps_client_id_an_int16_string():
    frame = encode_request(3, 9, 1, "abc", {})
    assert request_header_version(3, 9) == 2
    assert frame[8:10] == b"\x00\x03" and frame[10:13] == b"abc" and frame[13] == 0
    assert read_request_header(frame)[1] == 14


def test_null_client_id_round_trips():
    frame = encode_request(18, 0, 5, None, {})
    header, pos = read_request_header(frame)
    assert header.client_id is None and pos == len(frame) == 10


def test_api_versions_response_header_never_has_tagged_fields():
    assert response_header_version(18, 3) == 0 and response_header_version(3, 9) == 1
    body = {"error_code": 0, "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4}]}
    frame = encode_response(18, 3, 7, body)
    assert frame[:4] == b"\x00\x00\x00\x07" and frame[4:6] == b"\x00\x00"  # error_code next
    assert decode_response(18, 3, frame)[1]["api_keys"] == body["api_keys"]
    resp = ApiVersionsResponse.decode(frame, version=3, header=True)
    assert resp.header.correlation_id == 7 and resp.api_keys[0].max_version == 4
    # A flexible response of any other API does carry the empty tag section.
    assert encode_response(3, 9, 7, {})[4] == 0


def test_unsupported_api_versions_request_gets_a_v0_body_clients_can_read():
    # A client asks ApiVersions v7 (unknown to us); the header still parses, and the
    # body start skips its v2 tagged-field section.
    frame = (struct.pack(">hhih", 18, 7, 12, 2) + b"kc" + b"\x00" + b"\x03x\x00\x021\x00")
    header, pos = read_request_header(frame)
    assert (header.api_key, header.api_version, header.correlation_id, pos) == (18, 7, 12, 13)
    with pytest.raises(UnsupportedVersionError):
        decode_request(18, 7, frame, pos)
    reply = encode_response(18, 0, 12, {"error_code": 35, "api_keys": [
        {"api_key": 18, "min_version": 0, "max_version": 4}]})
    assert reply == bytes.fromhex("0000000c" "0023" "00000001" "0012" "0000" "0004")
    # kafka-python, having asked v3/v4, falls back to reading v0 on a non-zero error.
    resp = ApiVersionsResponse.decode(reply, version=3, header=True)
    assert resp.error_code == 35 and resp.api_keys[0].max_version == 4


# 17 (SaslHandshake) is served now; 29 (DescribeAcls) is not.
@pytest.mark.parametrize("api_key,version", [(29, 1), (1000, 3), (67, 0), (1, 40)])
def test_request_header_parses_for_unknown_keys_and_versions(api_key, version):
    frame = struct.pack(">hhih", api_key, version, 99, 3) + b"cli" + b"\x00\x02"
    header, pos = read_request_header(frame)
    assert (header.api_key, header.api_version, header.correlation_id) == (api_key, version, 99)
    # Fetch v40 is flexible ("12+"): the tag section is read; the others are not flexible.
    assert pos == (14 if is_flexible(api_key, version) else 13)
    with pytest.raises(UnsupportedVersionError):
        decode_request(api_key, version, frame, pos)


@pytest.mark.parametrize("frame", [b"", b"\x00\x03\x00", b"\x00\x03\x00\x01\x00\x00\x00\x01\x00",
                                   b"\x00\x03\x00\x01\x00\x00\x00\x01\x00\x05ab",
                                   b"\x00\x03\x00\x01\x00\x00\x00\x01\xff\xfe",
                                   b"\x00\x03\x00\x09\x00\x00\x00\x01\x00\x00\x02\x05"])
def test_garbage_request_headers_raise_protocol_error(frame):
    with pytest.raises(ProtocolError):
        read_request_header(frame)


def test_version_ranges_and_flexibility():
    assert schema_versions(ApiKey.API_VERSIONS) == (0, 4)
    assert schema_versions(ApiKey.METADATA) == (0, 12)
    assert schema_versions(ApiKey.FETCH) == (4, 12)
    assert schema_versions(ApiKey.OFFSET_DELETE) == (0, 0)
    assert is_flexible(18, 3) and not is_flexible(18, 2)
    assert is_flexible(1, 12, request=False) and not is_flexible(1, 11)
    assert is_flexible(60, 0) and not is_flexible(47, 0) and not is_flexible(999, 5)
    assert ApiKey(60).name == "DESCRIBE_CLUSTER" and ApiKey.API_VERSIONS.title == "ApiVersions"
    assert [ApiKey(k).value for k in SCHEMAS] == list(SCHEMAS)


# ------------------------------------------------------------------ strict decoding

def _some_frames() -> list[tuple[str, int, int, bytes]]:
    fetch12 = {"responses": [{"topic": "t", "partitions": [{
        "partition_index": 0, "high_watermark": 10, "records": b"r" * 20,
        "current_leader": {"leader_id": 1, "leader_epoch": 3},
        "aborted_transactions": [{"producer_id": 1, "first_offset": 2}]}]}]}
    meta12 = {"brokers": [{"node_id": 1, "host": "h", "port": 1}], "topics": [
        {"name": "t", "topic_id": uuid.UUID(int=0x5EED_0F_70_91C), "partitions": [
            {"partition_index": 0, "replica_nodes": [1, 2], "isr_nodes": [1]}]}]}
    produce9 = {"acks": 1, "topic_data": [{"name": "t", "partition_data": [
        {"index": 0, "records": b"x" * 30}]}]}
    join7 = {"group_id": "g", "member_id": "", "protocol_type": "consumer",
             "protocols": [{"name": "range", "metadata": b"\x00\x01"}]}
    return [
        ("response", 1, 12, encode_response(1, 12, 5, fetch12)),
        ("response", 3, 12, encode_response(3, 12, 5, meta12)),
        ("response", 3, 1, encode_response(3, 1, 5, meta12)),
        ("request", 0, 9, encode_request(0, 9, 5, "c", produce9)),
        ("request", 0, 3, encode_request(0, 3, 5, "c", produce9)),
        ("request", 11, 7, encode_request(11, 7, 5, "c", join7)),
        ("request", 18, 3, encode_request(18, 3, 5, "c", {"client_software_name": "x"})),
    ]


def _decode_frame(kind: str, key: int, version: int, frame: bytes) -> dict:
    if kind == "response":
        return decode_response(key, version, frame)[1]
    header, pos = read_request_header(frame)
    return decode_request(key, version, frame, pos)


@pytest.mark.parametrize("kind,key,version,frame", _some_frames(),
                         ids=lambda x: str(x)[:12] if isinstance(x, bytes) else str(x))
def test_truncation_at_every_position_raises_protocol_error(kind, key, version, frame):
    _decode_frame(kind, key, version, frame)  # the whole frame is fine
    for cut in range(len(frame)):
        with pytest.raises(ProtocolError):
            _decode_frame(kind, key, version, frame[:cut])
    with pytest.raises(ProtocolError, match="trailing"):
        _decode_frame(kind, key, version, frame + b"\x00")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from([0, 3, 11, 18, 19, 1, 8]), data=st.binary(max_size=80))
def test_random_bytes_only_ever_raise_protocol_error(key, data):
    lo, hi = schema_versions(key)
    for version in (lo, hi):
        try:
            assert isinstance(decode_request(key, version, data, 0), dict)
        except ProtocolError:
            pass
        try:
            assert isinstance(decode_response(key, version, data), tuple)
        except ProtocolError:
            pass


# ------------------------------------------------------------------ tagged fields

def test_unknown_tagged_fields_are_skipped_at_top_level_and_nested():
    # Heartbeat v4 by hand: group_id "g", generation 3, member "m", null instance id,
    # then a tag section with unknown tag 7 (3 bytes) -- and a known-free struct.
    frame = (struct.pack(">hhih", 12, 4, 1, 1) + b"c" + b"\x00"
             + b"\x02g" + b"\x00\x00\x00\x03" + b"\x02m" + b"\x00"
             + b"\x01\x07\x03abc")
    header, pos = read_request_header(frame)
    assert decode_request(12, 4, frame, pos) == {
        "group_id": "g", "generation_id": 3, "member_id": "m", "group_instance_id": None}
    # Nested: an ApiVersions v3 response whose api_keys entry carries unknown tag 9
    # before the top-level section with known tag 1 (finalized_features_epoch) and
    # unknown tag 30.
    body = (b"\x00\x00\x00\x01" + b"\x00\x00" + b"\x02" + b"\x00\x03\x00\x00\x00\x0c"
            + b"\x01\x09\x02zz" + b"\x00\x00\x00\x00"
            + b"\x02" + b"\x01\x08" + struct.pack(">q", 42) + b"\x1e\x00")
    _, decoded = decode_response(18, 3, body)
    assert decoded["api_keys"] == [{"api_key": 3, "min_version": 0, "max_version": 12}]
    assert decoded["finalized_features_epoch"] == 42
    assert decoded["supported_features"] == [] and decoded["zk_migration_ready"] is False


def test_known_tagged_fields_are_written_only_when_not_default():
    part = {"partition_index": 0, "high_watermark": 5, "records": b""}
    plain = encode_response(1, 12, 1, {"responses": [{"topic": "t", "partitions": [part]}]})
    explicit_defaults = encode_response(1, 12, 1, {"responses": [{"topic": "t", "partitions": [
        {**part, "current_leader": {"leader_id": -1, "leader_epoch": -1},
         "diverging_epoch": {}, "snapshot_id": {"end_offset": -1}}]}]})
    assert plain == explicit_defaults
    leader = {**part, "current_leader": {"leader_id": 2, "leader_epoch": 7}}
    with_leader = encode_response(1, 12, 1, {"responses": [{"topic": "t", "partitions": [leader]}]})
    # tag, size, two int32 and the nested struct's own (empty) tag section
    assert len(with_leader) == len(plain) + 1 + 1 + 8 + 1
    decoded = decode_response(1, 12, with_leader)[1]["responses"][0]["partitions"][0]
    assert decoded["current_leader"] == {"leader_id": 2, "leader_epoch": 7}
    assert decoded["diverging_epoch"] == {"epoch": -1, "end_offset": -1}
    # kafka-python reads the tagged field too.
    kp = FetchResponse.decode(with_leader, version=12, header=True)
    assert kp.responses[0].partitions[0].current_leader.leader_epoch == 7


def test_fetch_v12_request_tagged_cluster_id_round_trips():
    frame = encode_request(1, 12, 1, "c", {"cluster_id": "abc", "topics": []})
    header, pos = read_request_header(frame)
    assert decode_request(1, 12, frame, pos)["cluster_id"] == "abc"
    frame = encode_request(1, 12, 1, "c", {"topics": []})
    assert decode_request(1, 12, frame, read_request_header(frame)[1])["cluster_id"] is None


# ------------------------------------------------------------------ defaults & errors

def test_fields_absent_at_a_version_decode_as_their_defaults():
    frame = encode_request(3, 3, 1, "c", {"topics": [{"name": "t"}]})
    body = decode_request(3, 3, frame, read_request_header(frame)[1])
    assert body["allow_auto_topic_creation"] is True  # v0-3 always allowed auto-create
    frame = encode_request(0, 2, 1, "c", {"acks": 1, "timeout_ms": 5, "topic_data": []})
    assert decode_request(0, 2, frame, read_request_header(frame)[1])["transactional_id"] is None


def test_omitted_response_fields_take_spec_defaults():
    _, body = decode_response(0, 9, encode_response(0, 9, 1, {"responses": [
        {"name": "t", "partition_responses": [{"index": 0, "base_offset": 5}]}]}))
    part = body["responses"][0]["partition_responses"][0]
    assert part["log_append_time_ms"] == -1 and part["log_start_offset"] == -1
    assert part["error_message"] is None and part["record_errors"] == []
    _, body = decode_response(1, 11, encode_response(1, 11, 1, {"responses": [
        {"topic": "t", "partitions": [{"partition_index": 0}]}]}))
    part = body["responses"][0]["partitions"][0]
    assert part["records"] == b"" and part["preferred_read_replica"] == -1
    assert part["last_stable_offset"] == -1 and part["aborted_transactions"] == []


@pytest.mark.parametrize("body,path", [
    ({"topics": [{"partitions": [{"leader_id": "x"}]}]}, "topics[0].partitions[0].leader_id"),
    ({"topics": [{"partitions": [{"isr_nodes": [1, None]}]}]}, "topics[0].partitions[0].isr_nodes[1]"),
    ({"topics": [{"name": 5}]}, "topics[0].name"),
    ({"brokers": [{"host": None}]}, "brokers[0].host"),
    ({"brokers": [{"port": 1 << 31}]}, "brokers[0].port"),
    ({"topics": "orders"}, "topics"),
    ({"topics": [["not", "a", "dict"]]}, "topics[0]"),
    ({"topics": [{"topic_id": "not-a-uuid"}]}, "topics[0].topic_id"),
    ({"topics": [{"is_internal": "yes"}]}, "topics[0].is_internal"),
])
def test_wrong_value_types_raise_encode_error_naming_the_field(body, path):
    with pytest.raises(EncodeError) as info:
        encode_response(3, 12, 1, body)
    assert path in str(info.value) and "Metadata v12 response" in str(info.value)


def test_bytes_fields_reject_str_and_accept_bytes_like():
    with pytest.raises(EncodeError, match=r"protocols\[0\]\.metadata"):
        encode_request(11, 5, 1, "c", {"protocols": [{"name": "range", "metadata": "x"}]})
    for records in (b"abc", bytearray(b"abc"), memoryview(b"xabc")[1:]):
        frame = encode_request(0, 9, 1, "c", {"topic_data": [{"name": "t", "partition_data": [
            {"index": 0, "records": records}]}]})
        body = decode_request(0, 9, frame, read_request_header(frame)[1])
        assert body["topic_data"][0]["partition_data"][0]["records"] == b"abc"


def test_size_prefix_option_frames_the_message():
    framed = encode_response(3, 1, 9, {}, size_prefix=True)
    assert struct.unpack(">i", framed[:4])[0] == len(framed) - 4
    assert framed[4:] == encode_response(3, 1, 9, {})
    framed = encode_request(3, 1, 9, "c", {}, size_prefix=True)
    assert framed[4:] == encode_request(3, 1, 9, "c", {})


def test_unsupported_versions_raise():
    with pytest.raises(UnsupportedVersionError):
        encode_response(1, 3, 1, {})  # Fetch below v4 is not defined
    with pytest.raises(UnsupportedVersionError):
        decode_response(3, 13, b"\x00\x00\x00\x01\x00")
