"""Metadata auto-create flood (issue 13): creating topics for one client's Metadata never
holds up other connections, is capped per request and per connection with Kafka's
errors, and is refused up front past what the descriptor limit allows.

A real broker and server on this test's loop; requests over sockets (test_server's Wire).
A file layer holding the creation of new segment files at a gate makes "creation is
still running" a state the test controls: the other connection's ApiVersions must be
answered while it is, i.e. before the Metadata answer.
"""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from streamscope.core import broker as broker_module
from streamscope.core.errors import ErrorCode
from streamscope.core.log import files
from streamscope.core.protocol import ZERO_UUID

from tests.core.helpers import loopback_node
from tests.core.test_server import API_VERSIONS, CREATE_TOPICS, METADATA, Wire

pytestmark = pytest.mark.timeout(90)

GATE_S = 30.0


class GatedOpen(files.FileOps):
    """Opening a new ``.log`` file waits at a gate while it is closed."""

    def __init__(self) -> None:
        self.open_gate = threading.Event()
        self.entered = threading.Event()

    def open(self, path, flags: int, mode: int = 0o644) -> int:  # type: ignore[override]
        if str(path).endswith(".log") and not self.open_gate.is_set():
            self.entered.set()
            self.open_gate.wait(GATE_S)
        return os.open(path, flags, mode)


def metadata_body(names: list[str]) -> dict:
    return {"topics": [{"name": n, "topic_id": ZERO_UUID} for n in names],
            "allow_auto_topic_creation": True,
            "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False}


def codes(body: dict) -> dict[str, int]:
    return {t["name"]: t["error_code"] for t in body["topics"]}


async def test_api_versions_of_another_connection_is_answered_while_300_topics_are_created(
        tmp_path):
    node = await loopback_node(tmp_path, auto_create_max_per_request=300)
    flooder, other = await Wire.connect(node.server), await Wire.connect(node.server)
    gate = GatedOpen()
    try:
        with files.installed(gate):
            names = [f"flood-{i:03d}" for i in range(300)]
            flood = asyncio.create_task(flooder.call(METADATA, 12, metadata_body(names),
                                                     timeout=GATE_S * 2))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            versions = await other.call(API_VERSIONS, 3, {"client_software_name": "t",
                                                          "client_software_version": "1"})
            # Answered while the creation is held, so before the Metadata answer.
            assert versions["error_code"] == 0
            assert not flood.done()
            gate.open_gate.set()
            body = await flood
        assert set(codes(body).values()) == {0}
        assert all(n in node.broker.topics for n in names)
    finally:
        gate.open_gate.set()
        await flooder.close()
        await other.close()
        await node.close()


async def test_auto_creation_is_capped_per_request_then_per_connection(tmp_path, caplog):
    node = await loopback_node(tmp_path, auto_create_max_per_request=5, auto_create_max_per_connection=8)
    wire = await Wire.connect(node.server)
    try:
        first = codes(await wire.call(METADATA, 12, metadata_body([f"a{i}" for i in range(12)])))
        created = [n for n, c in first.items() if c == 0]
        assert len(created) == 5
        assert {c for c in first.values() if c} == {ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert "auto-creation(s) refused" in caplog.text
        # Asking again creates more, up to the connection's budget (8), then POLICY_VIOLATION.
        second = codes(await wire.call(METADATA, 12, metadata_body([f"a{i}" for i in range(12)])))
        assert sum(1 for c in second.values() if c == 0) == 8
        assert ErrorCode.POLICY_VIOLATION in second.values()
        # Another connection has its own budget; topics already there cost nothing.
        fresh = await Wire.connect(node.server)
        try:
            third = codes(await fresh.call(METADATA, 12, metadata_body([f"a{i}" for i in range(12)])))
            assert sum(1 for c in third.values() if c == 0) == 12
        finally:
            await fresh.close()
        assert len(node.broker.topics) == 12
    finally:
        await wire.close()
        await node.close()


async def test_partitions_past_the_descriptor_limit_are_refused_up_front(tmp_path, monkeypatch):
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    node = await loopback_node(tmp_path)
    wire = await Wire.connect(node.server)
    try:
        # Leave room for exactly 3 partitions under the real limit.
        monkeypatch.setattr(broker_module, "RESERVED_FDS", soft - 3)
        body = await wire.call(CREATE_TOPICS, 7, {"topics": [
            {"name": "wide", "num_partitions": 4, "replication_factor": 1, "assignments": [],
             "configs": []}], "timeout_ms": 5000, "validate_only": False})
        (answer,) = body["topics"]
        assert answer["error_code"] == ErrorCode.POLICY_VIOLATION
        assert "RLIMIT_NOFILE" in answer["error_message"]
        assert "wide" not in node.broker.topics
        assert not (tmp_path / "data" / "wide-0").exists()
        meta = codes(await wire.call(METADATA, 12, metadata_body(["x", "y", "z", "w"])))
        assert list(meta.values()) == [0, 0, 0, ErrorCode.POLICY_VIOLATION]
    finally:
        await wire.close()
        await node.close()


async def test_create_topics_of_many_partitions_leaves_other_connections_served(tmp_path):
    node = await loopback_node(tmp_path)
    admin, other = await Wire.connect(node.server), await Wire.connect(node.server)
    gate = GatedOpen()
    try:
        with files.installed(gate):
            created = asyncio.create_task(admin.call(CREATE_TOPICS, 7, {"topics": [
                {"name": "wide", "num_partitions": 64, "replication_factor": 1,
                 "assignments": [], "configs": []}], "timeout_ms": 5000,
                "validate_only": False}, timeout=GATE_S * 2))
            await asyncio.to_thread(gate.entered.wait, GATE_S)
            versions = await other.call(API_VERSIONS, 3, {"client_software_name": "t",
                                                          "client_software_version": "1"})
            assert versions["error_code"] == 0 and not created.done()
            assert "wide" not in node.broker.topics  # committed on the loop only when done
            gate.open_gate.set()
            (answer,) = (await created)["topics"]
        assert answer["error_code"] == 0 and answer["num_partitions"] == 64
        assert len(node.broker.topics["wide"].partitions) == 64
    finally:
        gate.open_gate.set()
        await admin.close()
        await other.close()
        await node.close()
