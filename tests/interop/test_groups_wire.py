"""The group APIs over a real socket at every version served, version by version.

The real-client tests cover the versions librdkafka, kafka-python and aiokafka pick;
this file drives the others (old and newest) with the project's own codec on a plain
socket, checking each answer field by field.
"""

from __future__ import annotations

import socket
import struct

import pytest
from streamscope.core.errors import ErrorCode
from streamscope.core.protocol import decode_response, encode_consumer_subscription, encode_request

from tests.interop.conftest import make_config

E = ErrorCode


@pytest.fixture
def broker_config(tmp_path):
    return make_config(tmp_path / "data", group_initial_rebalance_delay_ms=0)


class Wire:
    def __init__(self, bootstrap: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.correlation = 0

    def call(self, key: int, version: int, body: dict) -> dict:
        self.correlation += 1
        self.sock.sendall(encode_request(key, version, self.correlation, "wire-test", body,
                                         size_prefix=True))
        size = struct.unpack(">i", self._read(4))[0]
        correlation, response = decode_response(key, version, self._read(size))
        assert correlation == self.correlation
        return response

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            out += chunk
        return out

    def close(self):
        self.sock.close()


@pytest.fixture
def wire(broker):
    w = Wire(broker.bootstrap)
    try:
        yield w
    finally:
        w.close()


SUB = encode_consumer_subscription(0, {"topics": ["t"], "user_data": None})


def join_body(member_id="", group="g", **extra):
    body = {"group_id": group, "session_timeout_ms": 6000, "rebalance_timeout_ms": 6000,
            "member_id": member_id, "group_instance_id": None, "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": SUB}]}
    body.update(extra)
    return body


def test_find_coordinator_answers_with_this_broker_at_every_version(broker, wire):
    host, port = broker.bootstrap.rsplit(":", 1)
    for version in range(4):
        r = wire.call(10, version, {"key": "g", "key_type": 0})
        assert (r["error_code"], r["node_id"], r["host"], r["port"]) == (0, 0, host, int(port))
    r = wire.call(10, 3, {"key": "txn", "key_type": 1})
    assert r["error_code"] == 0 and r["port"] == int(port)
    r = wire.call(10, 2, {"key": "x", "key_type": 7})
    assert r["error_code"] == E.INVALID_REQUEST and r["node_id"] == -1
    r = wire.call(10, 4, {"key_type": 0, "coordinator_keys": ["a", "b"]})
    assert [(c["key"], c["node_id"], c["port"], c["error_code"]) for c in r["coordinators"]] == [
        ("a", 0, int(port), 0), ("b", 0, int(port), 0)]


def test_join_sync_heartbeat_leave_at_version_zero(wire):
    r = wire.call(11, 0, join_body())
    assert r["error_code"] == 0 and r["generation_id"] == 1 and r["protocol_name"] == "range"
    me = r["member_id"]
    assert me.startswith("wire-test-") and r["leader"] == me
    assert [m["member_id"] for m in r["members"]] == [me] and r["members"][0]["metadata"] == SUB
    s = wire.call(14, 0, {"group_id": "g", "generation_id": 1, "member_id": me,
                          "assignments": [{"member_id": me, "assignment": b"abc"}]})
    assert s["error_code"] == 0 and s["assignment"] == b"abc"
    assert wire.call(12, 0, {"group_id": "g", "generation_id": 1, "member_id": me}) == {
        "throttle_time_ms": 0, "error_code": 0}
    assert wire.call(12, 0, {"group_id": "g", "generation_id": 9,
                             "member_id": me})["error_code"] == E.ILLEGAL_GENERATION
    assert wire.call(13, 0, {"group_id": "g", "member_id": "nobody"})["error_code"] == (
        E.UNKNOWN_MEMBER_ID)
    assert wire.call(13, 1, {"group_id": "g", "member_id": me})["error_code"] == 0
    d = wire.call(15, 0, {"groups": ["g"]})["groups"][0]
    assert d["group_state"] == "Empty" and d["members"] == []


def test_join_v4_plus_needs_a_member_id_and_v7_names_the_protocol_type(wire):
    first = wire.call(11, 4, join_body())
    assert first["error_code"] == E.MEMBER_ID_REQUIRED and first["generation_id"] == -1
    assert first["member_id"].startswith("wire-test-")
    r = wire.call(11, 7, join_body(first["member_id"]))
    assert r["error_code"] == 0 and r["protocol_type"] == "consumer"
    assert r["protocol_name"] == "range" and r["members"][0]["group_instance_id"] is None
    s = wire.call(14, 5, {"group_id": "g", "generation_id": 1, "member_id": r["member_id"],
                          "group_instance_id": None, "protocol_type": "consumer",
                          "protocol_name": "range", "assignments": []})
    assert (s["error_code"], s["protocol_type"], s["protocol_name"]) == (0, "consumer", "range")
    bad = wire.call(14, 5, {"group_id": "g", "generation_id": 1, "member_id": r["member_id"],
                            "protocol_type": "consumer", "protocol_name": "roundrobin",
                            "assignments": []})
    assert bad["error_code"] == E.INCONSISTENT_GROUP_PROTOCOL
    empty = wire.call(11, 7, join_body(group=""))
    assert empty["error_code"] == E.INVALID_GROUP_ID and empty["protocol_name"] is None
    old = wire.call(11, 2, join_body(group=""))
    assert old["error_code"] == E.INVALID_GROUP_ID and old["protocol_name"] == ""


def test_leave_group_v3_to_v5_answers_per_member(wire):
    r = wire.call(11, 5, join_body(group_instance_id="static-1"))
    me = r["member_id"]
    wire.call(14, 3, {"group_id": "g", "generation_id": r["generation_id"], "member_id": me,
                      "group_instance_id": "static-1", "assignments": []})
    answer = wire.call(13, 5, {"group_id": "g", "members": [
        {"member_id": "ghost", "group_instance_id": None, "reason": "test"},
        {"member_id": "", "group_instance_id": "static-1", "reason": "admin removal"},
    ]})
    assert answer["error_code"] == 0
    assert [(m["member_id"], m["group_instance_id"], m["error_code"])
            for m in answer["members"]] == [("ghost", None, E.UNKNOWN_MEMBER_ID),
                                            ("", "static-1", 0)]
    assert wire.call(16, 4, {"states_filter": ["Empty"]})["groups"] == [
        {"group_id": "g", "protocol_type": "consumer", "group_state": "Empty"}]


def test_offset_commit_and_fetch_across_versions(broker, wire):
    broker.call(broker.broker.create_topic, "t", 2)
    # v0: no generation -> an admin-style commit, fine for a group with no members.
    c0 = wire.call(8, 0, {"group_id": "g", "topics": [{"name": "t", "partitions": [
        {"partition_index": 0, "committed_offset": 11, "committed_metadata": None}]}]})
    assert c0["topics"][0]["partitions"][0]["error_code"] == 0
    c8 = wire.call(8, 8, {"group_id": "g", "generation_id_or_member_epoch": -1,
                          "member_id": "", "group_instance_id": None, "topics": [
        {"name": "t", "partitions": [
            {"partition_index": 1, "committed_offset": 22, "committed_leader_epoch": 4,
             "committed_metadata": "m"},
            {"partition_index": 5, "committed_offset": 1, "committed_metadata": ""}]}]})
    assert [p["error_code"] for p in c8["topics"][0]["partitions"]] == [
        0, E.UNKNOWN_TOPIC_OR_PARTITION]
    f1 = wire.call(9, 1, {"group_id": "g", "topics": [
        {"name": "t", "partition_indexes": [0, 1]}, {"name": "u", "partition_indexes": [0]}]})
    got = {(t["name"], p["partition_index"]): (p["committed_offset"], p["metadata"])
           for t in f1["topics"] for p in t["partitions"]}
    assert got == {("t", 0): (11, ""), ("t", 1): (22, "m"), ("u", 0): (-1, "")}
    f7 = wire.call(9, 7, {"group_id": "g", "topics": None, "require_stable": True})
    parts = f7["topics"][0]["partitions"]
    assert f7["error_code"] == 0 and [(p["partition_index"], p["committed_leader_epoch"])
                                      for p in parts] == [(0, -1), (1, 4)]
    f8 = wire.call(9, 8, {"groups": [
        {"group_id": "g", "topics": [{"name": "t", "partition_indexes": [1]}]},
        {"group_id": "other", "topics": None}]})
    assert [g["group_id"] for g in f8["groups"]] == ["g", "other"]
    assert f8["groups"][0]["topics"][0]["partitions"][0]["committed_offset"] == 22
    assert f8["groups"][1]["topics"] == []
    # A generation from nowhere is refused.
    bad = wire.call(8, 2, {"group_id": "new", "generation_id_or_member_epoch": 3,
                           "member_id": "m", "retention_time_ms": -1, "topics": [
        {"name": "t", "partitions": [{"partition_index": 0, "committed_offset": 1,
                                      "committed_metadata": ""}]}]})
    assert bad["topics"][0]["partitions"][0]["error_code"] == E.ILLEGAL_GENERATION


def test_describe_list_delete_and_offset_delete(broker, wire):
    broker.call(broker.broker.create_topic, "t", 1)
    r = wire.call(11, 7, join_body(wire.call(11, 7, join_body())["member_id"]))
    me = r["member_id"]
    wire.call(14, 5, {"group_id": "g", "generation_id": 1, "member_id": me,
                      "assignments": [{"member_id": me, "assignment": b"\x00\x00"}]})
    wire.call(8, 8, {"group_id": "g", "generation_id_or_member_epoch": 1, "member_id": me,
                     "topics": [{"name": "t", "partitions": [
                         {"partition_index": 0, "committed_offset": 0,
                          "committed_metadata": ""}]}]})
    d = wire.call(15, 5, {"groups": ["g", "ghost"], "include_authorized_operations": True})
    g, ghost = d["groups"]
    assert (g["group_state"], g["protocol_type"], g["protocol_data"]) == (
        "Stable", "consumer", "range")
    m = g["members"][0]
    assert m["member_id"] == me and m["client_id"] == "wire-test"
    assert m["client_host"] == "/127.0.0.1" and m["member_metadata"] == SUB
    assert g["authorized_operations"] == (1 << 3) | (1 << 6) | (1 << 8)
    assert ghost["error_code"] == 0 and ghost["group_state"] == "Dead"
    assert wire.call(15, 2, {"groups": ["g"]})["groups"][0]["authorized_operations"] == (
        -2147483648)
    listed = wire.call(16, 0, {})
    assert listed["groups"] == [{"group_id": "g", "protocol_type": "consumer",
                                 "group_state": ""}]
    od = wire.call(47, 0, {"group_id": "g", "topics": [
        {"name": "t", "partitions": [{"partition_index": 0}]}]})
    assert od["topics"][0]["partitions"][0]["error_code"] == E.GROUP_SUBSCRIBED_TO_TOPIC
    assert wire.call(47, 0, {"group_id": "nope", "topics": []})["error_code"] == (
        E.GROUP_ID_NOT_FOUND)
    dg = wire.call(42, 2, {"groups_names": ["g", "nope"]})
    assert [(x["group_id"], x["error_code"]) for x in dg["results"]] == [
        ("g", E.NON_EMPTY_GROUP), ("nope", E.GROUP_ID_NOT_FOUND)]
    wire.call(13, 4, {"group_id": "g", "members": [{"member_id": me}]})
    od = wire.call(47, 0, {"group_id": "g", "topics": [
        {"name": "t", "partitions": [{"partition_index": 0}]}]})
    assert od["error_code"] == 0 and od["topics"][0]["partitions"][0]["error_code"] == 0
    dg = wire.call(42, 0, {"groups_names": ["g"]})
    assert dg["results"] == [{"group_id": "g", "error_code": 0}]
    assert wire.call(16, 3, {})["groups"] == []
