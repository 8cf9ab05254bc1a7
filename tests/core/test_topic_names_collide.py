"""Topic names that collide (issue 13): by '.' versus '_' (Kafka's rule) or by case (so no
two topics' directories collide on a case-insensitive file system) are refused with
INVALID_TOPIC_EXCEPTION naming the existing topic, by CreateTopics, Metadata and Produce
auto-creation alike; a live topic's directory is never discarded.
"""

from __future__ import annotations

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.node import start_node
from streamscope.core.protocol import ZERO_UUID

from tests.core.test_server import CREATE_TOPICS, METADATA, PRODUCE, Wire, batch, produce_body

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def node(tmp_path):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    try:
        yield node
    finally:
        await node.close()


def create_body(*names: str) -> dict:
    return {"topics": [{"name": n, "num_partitions": 1, "replication_factor": 1,
                        "assignments": [], "configs": []} for n in names],
            "timeout_ms": 5000, "validate_only": False}


@pytest.mark.parametrize(("existing", "colliding"), [
    ("orders.eu", "orders_eu"),
    ("orders_eu", "orders.eu"),
    ("Orders", "orders"),
    ("a.B_c", "A_b.C"),
])
async def test_create_topics_refuses_a_name_colliding_with_a_live_topic(node, existing, colliding):
    wire = await Wire.connect(node.server)
    try:
        (ok,) = (await wire.call(CREATE_TOPICS, 7, create_body(existing)))["topics"]
        assert ok["error_code"] == 0
        node.broker.produce(existing, 0, batch(b"kept"))
        (refused,) = (await wire.call(CREATE_TOPICS, 7, create_body(colliding)))["topics"]
        assert refused["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert existing in refused["error_message"]
        assert colliding not in node.broker.topics
        # The live topic and its directory are untouched.
        assert node.broker.partition_offsets(existing, 0) == (0, 1)
        assert (node.broker.data_dir / f"{existing}-0").is_dir()
    finally:
        await wire.close()


async def test_auto_creation_refuses_colliding_names_too(node):
    node.broker.create_topic("metrics.cpu", 1)
    wire = await Wire.connect(node.server)
    try:
        body = await wire.call(METADATA, 12, {
            "topics": [{"name": "metrics_cpu", "topic_id": ZERO_UUID},
                       {"name": "METRICS.CPU", "topic_id": ZERO_UUID}],
            "allow_auto_topic_creation": True, "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False})
        assert [t["error_code"] for t in body["topics"]] == [ErrorCode.INVALID_TOPIC_EXCEPTION] * 2
        answer = await wire.call(PRODUCE, 8, produce_body("Metrics.cpu", 0, batch(b"x")))
        code = answer["responses"][0]["partition_responses"][0]["error_code"]
        assert code == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert set(node.broker.topics) == {"metrics.cpu"}
    finally:
        await wire.close()


async def test_a_name_is_free_again_once_the_colliding_topic_is_deleted(node):
    broker = node.broker
    broker.create_topic("jobs.done", 1)
    with pytest.raises(KafkaError) as refused:
        broker.create_topic("jobs_done", 1)
    assert refused.value.code == ErrorCode.INVALID_TOPIC_EXCEPTION
    broker.delete_topic("jobs.done")
    assert broker.create_topic("jobs_done", 1) is not None


async def test_a_live_topics_directory_is_never_discarded_for_another(node, tmp_path):
    broker = node.broker
    broker.create_topic("live", 2)
    broker.produce("live", 1, batch(b"precious"))
    # A topic whose partition dirs would be "live-0", "live-1" on a case-insensitive
    # file system: refused before any directory is touched.
    with pytest.raises(KafkaError):
        broker.create_topic("LIVE", 2)
    # And the discard of stale directories refuses a live one outright.
    with pytest.raises(KafkaError):
        broker._discard_stale(broker.data_dir / "LIVE-1")
    assert broker.partition_offsets("live", 1) == (0, 1)
    assert broker.fetch("live", 1, 0, 1 << 20).records
