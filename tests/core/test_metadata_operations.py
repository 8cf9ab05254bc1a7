"""Metadata v8+ authorized operations over the wire: Kafka's bit sets (no authorizer:
every operation its ACL model supports for the resource type), INT32_MIN unless asked."""

from __future__ import annotations

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_node
from streamscope.core.protocol import ZERO_UUID
from streamscope.core.protocol.api_keys import ApiKey

from tests.core.test_server import Wire

INT32_MIN = -(2**31)
# Kafka's AclOperation codes.
READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE = 3, 4, 5, 6, 7, 8
CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 9, 10, 11, 12
TOPIC_OPS = {READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS}
CLUSTER_OPS = {CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
               IDEMPOTENT_WRITE}


def bits(field: int) -> set[int]:
    return {op for op in range(32) if field >> op & 1}


@pytest.fixture
async def wire(tmp_path):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    node.broker.create_topic("t", 1)
    w = await Wire.connect(node.server)
    try:
        yield w
    finally:
        await w.close()
        await node.close()


@pytest.mark.parametrize("version", [8, 9, 10])
async def test_cluster_and_topic_operations_when_asked(wire, version):
    asked = await wire.call(ApiKey.METADATA, version, {
        "topics": [{"name": "t"}], "allow_auto_topic_creation": False,
        "include_cluster_authorized_operations": True,
        "include_topic_authorized_operations": True})
    assert bits(asked["cluster_authorized_operations"]) == CLUSTER_OPS
    assert bits(asked["topics"][0]["topic_authorized_operations"]) == TOPIC_OPS
    plain = await wire.call(ApiKey.METADATA, version, {
        "topics": [{"name": "t"}], "allow_auto_topic_creation": False,
        "include_cluster_authorized_operations": False,
        "include_topic_authorized_operations": False})
    assert plain["cluster_authorized_operations"] == INT32_MIN
    assert plain["topics"][0]["topic_authorized_operations"] == INT32_MIN


async def test_v11_and_later_answer_topic_operations_only(wire):
    asked = await wire.call(ApiKey.METADATA, 12, {
        "topics": [{"name": "t", "topic_id": ZERO_UUID}], "allow_auto_topic_creation": False,
        "include_topic_authorized_operations": True})
    assert bits(asked["topics"][0]["topic_authorized_operations"]) == TOPIC_OPS
