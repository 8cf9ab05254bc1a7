"""Group administration with real admin clients (confluent-kafka and kafka-python):
list and describe groups, list / alter / delete group offsets, delete groups, and the
errors Kafka answers (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, INVALID_GROUP_ID,
GROUP_SUBSCRIBED_TO_TOPIC, UNKNOWN_MEMBER_ID for an admin commit into a live group).
"""

from __future__ import annotations

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, KafkaConsumer
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import GroupSubscribedToTopicError, InvalidGroupIdError, NoError
from kafka.structs import OffsetAndMetadata
from streamscope.core.clients import Consumer

from tests.interop.test_groups_harness import Member, distinct_seen, produce, wait_until

TOPIC = "admin-t"


@pytest.fixture
def live_group(broker, tmp_path):
    """'live': one kafka-python member that has read and committed all 400 messages."""
    broker.call(broker.broker.create_topic, TOPIC, 4)
    produce(broker.bootstrap, TOPIC, 0, 400, keys=40)
    member = Member("kafka-python", broker.bootstrap, "live", TOPIC, "kp-live", tmp_path)
    try:
        wait_until(lambda: distinct_seen([member]) >= 400 and len(member.assigned) == 4, 30,
                   "the live member", [member])
        member.commit()
        yield member
    finally:
        member.stop()


def _error_code(future) -> int:
    with pytest.raises(KafkaException) as exc:
        future.result(10)
    return exc.value.args[0].code()


def test_confluent_admin_lists_describes_alters_and_deletes_groups(broker, live_group):
    bt = broker
    admin = AdminClient({"bootstrap.servers": bt.bootstrap})
    hw = {p: bt.call(bt.broker.partition_offsets, TOPIC, p)[1] for p in range(4)}
    # A simple (offsets-only) group, made by an admin commit.
    tool = [TopicPartition(TOPIC, p, 1) for p in range(4)]
    done = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("tool", tool)])
    assert all(tp.error is None for tp in done["tool"].result(10).topic_partitions)

    listed = admin.list_consumer_groups().result(10)
    by_id = {g.group_id: g for g in listed.valid}
    assert by_id["live"].state == ConsumerGroupState.STABLE
    assert not by_id["live"].is_simple_consumer_group
    assert by_id["tool"].state == ConsumerGroupState.EMPTY
    assert by_id["tool"].is_simple_consumer_group
    stable = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(10)
    assert [g.group_id for g in stable.valid] == ["live"]

    desc = admin.describe_consumer_groups(["live", "ghost"])
    live = desc["live"].result(10)
    assert live.state == ConsumerGroupState.STABLE and live.partition_assignor == "range"
    assert live.coordinator.id == 0 and not live.is_simple_consumer_group
    (member,) = live.members
    assert member.client_id == "kp-live" and member.host == "/127.0.0.1"
    assert sorted((tp.topic, tp.partition) for tp in member.assignment.topic_partitions) == [
        (TOPIC, p) for p in range(4)]
    assert desc["ghost"].result(10).state == ConsumerGroupState.DEAD

    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("live")])
    got = {tp.partition: tp.offset for tp in offsets["live"].result(10).topic_partitions}
    assert got == hw
    asked = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions("tool", [TopicPartition(TOPIC, 0), TopicPartition("x", 0)])]
    )
    assert [(tp.topic, tp.offset) for tp in asked["tool"].result(10).topic_partitions] == [
        (TOPIC, 1), ("x", -1001)]  # -1001: OFFSET_INVALID, nothing committed

    # Kafka refuses an admin commit into a group with members: UNKNOWN_MEMBER_ID.
    busy = admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions("live", [TopicPartition(TOPIC, 0, 0)])])
    with pytest.raises(KafkaException) as exc:
        result = busy["live"].result(10)
        for tp in result.topic_partitions:
            if tp.error is not None:
                raise KafkaException(tp.error)
    assert exc.value.args[0].code() == KafkaError.UNKNOWN_MEMBER_ID

    deleted = admin.delete_consumer_groups(["live", "nobody", ""])
    assert _error_code(deleted["live"]) == KafkaError.NON_EMPTY_GROUP
    assert _error_code(deleted["nobody"]) == KafkaError.GROUP_ID_NOT_FOUND
    assert _error_code(deleted[""]) == KafkaError.GROUP_ID_NOT_FOUND  # as Kafka answers ""

    live_group.close()
    admin.delete_consumer_groups(["live"])["live"].result(10)
    remaining = {g.group_id for g in admin.list_consumer_groups().result(10).valid}
    assert "live" not in remaining and "tool" in remaining
    assert bt.call(bt.broker.groups.fetch_offsets, "live") == {}


def test_kafka_python_admin_manages_group_offsets_and_members(broker, live_group):
    bt = broker
    admin = KafkaAdminClient(bootstrap_servers=bt.bootstrap)
    try:
        assert admin.list_groups() == [
            {"group_id": "live", "protocol_type": "consumer", "group_state": "Stable"}]
        described = admin.describe_groups(["live"])["live"]
        assert described["group_state"] == "Stable" and described["protocol_data"] == "range"
        (member,) = described["members"]
        assert member["client_id"] == "kp-live" and member["client_host"] == "/127.0.0.1"
        assert member["member_metadata"]["topics"] == [TOPIC]
        assert member["member_assignment"]["assigned_partitions"] == [
            {"topic": TOPIC, "partitions": [0, 1, 2, 3]}]
        assert set(described["authorized_operations"]) == {"DESCRIBE", "READ", "DELETE"}
        offsets = admin.list_group_offsets({"live": None})["live"]
        assert sum(o.offset for o in offsets.values()) == 400
        # OffsetDelete on a topic the live group subscribes to is refused per partition.
        refused = admin.delete_group_offsets("live", [KpTopicPartition(TOPIC, 0)])
        assert refused[KpTopicPartition(TOPIC, 0)] is GroupSubscribedToTopicError
        assert admin.delete_groups(["live", "no-such-group"]) == {
            "live": "NonEmptyGroupError", "no-such-group": "GroupIdNotFoundError"}

        live_group.close()
        rewind = {KpTopicPartition(TOPIC, p): OffsetAndMetadata(0, "rewound", -1)
                  for p in range(4)}
        assert set(admin.alter_group_offsets("live", rewind).values()) == {NoError}
        after = admin.list_group_offsets({"live": None})["live"]
        assert {tp.partition: (o.offset, o.metadata) for tp, o in after.items()} == {
            p: (0, "rewound") for p in range(4)}
        assert sum(bt.call(bt.broker.groups.lag, "live").values()) == 400
        dropped = admin.delete_group_offsets("live", [KpTopicPartition(TOPIC, 3)])
        assert dropped == {KpTopicPartition(TOPIC, 3): NoError}
        assert (TOPIC, 3) not in bt.call(bt.broker.groups.fetch_offsets, "live")
        assert admin.delete_groups(["live"]) == {"live": "OK"}
        assert bt.call(bt.broker.groups.fetch_offsets, "live") == {}
        assert admin.list_groups() == []
    finally:
        admin.close()


def test_an_empty_group_id_is_invalid_for_a_consuming_client(broker):
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=broker.bootstrap, group_id="")
    try:
        with pytest.raises(InvalidGroupIdError):
            consumer.poll(timeout_ms=5000)
    finally:
        consumer.close()


def test_admin_client_describes_an_in_process_consumer_group(broker):
    bt = broker
    bt.call(bt.broker.create_topic, "sim", 2)
    consumer = bt.call(lambda: Consumer(bt.broker, "simulated", ["sim"], client_id="courier"))
    bt.submit(consumer.start).result(10)
    wait_until(lambda: len(consumer.assignment()) == 2, 10, "the in-process assignment")
    admin = AdminClient({"bootstrap.servers": bt.bootstrap})
    desc = admin.describe_consumer_groups(["simulated"])["simulated"].result(10)
    assert desc.state == ConsumerGroupState.STABLE
    (member,) = desc.members
    assert member.client_id == "courier" and member.host == "/in-process"
    assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1]
    bt.submit(consumer.close).result(10)
    assert admin.describe_consumer_groups(["simulated"])["simulated"].result(10).state == (
        ConsumerGroupState.EMPTY)
