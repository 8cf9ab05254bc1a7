"""Transactions with kafka-python 3 (its own protocol code, not librdkafka).

Committed records reach read_committed consumers, aborted ones only read_uncommitted
ones; the consumer's end offset under read_committed is the last stable offset;
consume-transform-produce with send_offsets_to_transaction makes the group's offsets
visible only when the transaction commits; a second producer with the same id fences
the first; a SIGKILLed producer's transaction is aborted after its timeout; a broker
restarted mid-transaction aborts the open one and keeps the committed one.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from tests.interop.conftest import restart_broker

pytestmark = pytest.mark.timeout(90)


def create_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()


def txn_producer(bootstrap: str, txn_id: str) -> KafkaProducer:
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id,
                             request_timeout_ms=10_000, linger_ms=5)
    producer.init_transactions()
    return producer


def read_to_end(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, isolation_level=isolation)
    tp = TopicPartition(topic, 0)
    values: list[bytes] = []
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
    finally:
        consumer.close()
    return values


def test_commit_abort_and_isolation_levels(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-tx")
    producer = txn_producer(bootstrap, "kp-basic")
    try:
        for vals, commit in (([b"c1", b"c2"], True), ([b"a1"], False), ([b"c3"], True)):
            producer.begin_transaction()
            for v in vals:
                producer.send("kp-tx", v)
            producer.flush()
            if commit:
                producer.commit_transaction()
            else:
                producer.abort_transaction()
        producer.begin_transaction()
        producer.send("kp-tx", b"open")
        producer.flush()
        assert read_to_end(bootstrap, "kp-tx", "read_committed") == [b"c1", b"c2", b"c3"]
        assert read_to_end(bootstrap, "kp-tx", "read_uncommitted") == [
            b"c1", b"c2", b"a1", b"c3", b"open"]
        producer.commit_transaction()
        assert read_to_end(bootstrap, "kp-tx", "read_committed") == [
            b"c1", b"c2", b"c3", b"open"]
    finally:
        producer.close(timeout=10)


def test_send_offsets_to_transaction_are_visible_only_after_commit(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-in")
    create_topic(bootstrap, "kp-out")
    producer = txn_producer(bootstrap, "kp-ctp")
    groups = broker.node.groups
    try:
        producer.begin_transaction()
        producer.send("kp-out", b"derived")
        producer.send_offsets_to_transaction(
            {TopicPartition("kp-in", 0): OffsetAndMetadata(42, "", -1)}, "kp-group")
        producer.flush()
        assert broker.call(groups.fetch_offsets, "kp-group", [("kp-in", 0)]) == {
            ("kp-in", 0): None}
        producer.commit_transaction()
    finally:
        producer.close(timeout=10)
    committed = broker.call(groups.fetch_offsets, "kp-group", [("kp-in", 0)])[("kp-in", 0)]
    assert committed is not None and committed.offset == 42
    assert read_to_end(bootstrap, "kp-out", "read_committed") == [b"derived"]


def test_second_init_transactions_fences_the_first_producer(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-fence")
    zombie = txn_producer(bootstrap, "kp-fenced")
    successor = None
    try:
        zombie.begin_transaction()
        zombie.send("kp-fence", b"zombie")
        zombie.flush()
        successor = txn_producer(bootstrap, "kp-fenced")
        successor.begin_transaction()
        successor.send("kp-fence", b"successor")
        successor.commit_transaction()
        with pytest.raises(KafkaError):
            zombie.send("kp-fence", b"late")
            zombie.commit_transaction()
    finally:
        zombie.close(timeout=5)
        if successor is not None:
            successor.close(timeout=10)
    assert read_to_end(bootstrap, "kp-fence", "read_committed") == [b"successor"]


_DOOMED_PRODUCER = """
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], transactional_id=sys.argv[2],
                  transaction_timeout_ms=1500, request_timeout_ms=10000)
p.init_transactions()
p.begin_transaction()
p.send(sys.argv[3], b"doomed")
p.flush()
print("open", flush=True)
sys.stdin.read()
"""


def test_transaction_of_a_killed_producer_is_aborted_after_its_timeout(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-killed")
    proc = subprocess.Popen([sys.executable, "-c", _DOOMED_PRODUCER, bootstrap, "kp-killed",
                             "kp-killed"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"open\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    txns = broker.node.transactions
    deadline = time.monotonic() + 30  # only reached by a hang: the abort is due at 1.5 s
    while broker.call(lambda: txns.transactions["kp-killed"].state) != "CompleteAbort":
        assert time.monotonic() < deadline, "the killed producer's transaction stayed open"
        time.sleep(0.05)
    assert read_to_end(bootstrap, "kp-killed", "read_committed") == []
    assert read_to_end(bootstrap, "kp-killed", "read_uncommitted") == [b"doomed"]


def test_broker_restart_mid_transaction(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-restart")
    producer = txn_producer(bootstrap, "kp-restarted")
    try:
        producer.begin_transaction()
        producer.send("kp-restart", b"committed")
        producer.commit_transaction()
        producer.begin_transaction()
        producer.send("kp-restart", b"open")
        producer.flush()
    finally:
        producer.close(timeout=1)
    restarted = restart_broker(broker)
    try:
        bootstrap = restarted.bootstrap
        assert read_to_end(bootstrap, "kp-restart", "read_committed") == [b"committed"]
        assert read_to_end(bootstrap, "kp-restart", "read_uncommitted") == [
            b"committed", b"open"]
        successor = txn_producer(bootstrap, "kp-restarted")
        try:
            successor.begin_transaction()
            successor.send("kp-restart", b"after")
            successor.commit_transaction()
        finally:
            successor.close(timeout=10)
        assert read_to_end(bootstrap, "kp-restart", "read_committed") == [
            b"committed", b"after"]
    finally:
        restarted.stop()


def test_admin_lists_and_describes_transactions_and_producers(broker):
    """kafka-python's KIP-664 admin calls (what kafka-transactions.sh does)."""
    from kafka.admin._transactions import TransactionState

    bootstrap = broker.bootstrap
    create_topic(bootstrap, "kp-admin")
    producer = txn_producer(bootstrap, "kp-admin-id")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        producer.begin_transaction()
        producer.send("kp-admin", b"open")
        producer.flush()
        listed = [t for rows in admin.list_transactions().values() for t in rows]
        (listing,) = [t for t in listed if t.transactional_id == "kp-admin-id"]
        assert listing.state == TransactionState.ONGOING
        ongoing = admin.list_transactions(state_filters=["Ongoing"])
        assert [t.transactional_id for rows in ongoing.values() for t in rows] == [
            "kp-admin-id"]
        described = admin.describe_transactions(["kp-admin-id"])["kp-admin-id"]
        assert described.state == TransactionState.ONGOING
        assert described.producer_id == listing.producer_id
        assert described.topic_partitions == {TopicPartition("kp-admin", 0)}
        assert described.transaction_start_time_ms > 0
        tp = TopicPartition("kp-admin", 0)
        (active,) = admin.describe_producers([tp])[tp].active_producers
        assert active.producer_id == listing.producer_id
        assert active.current_transaction_start_offset == 0
        assert admin.find_hanging_transactions() == []
        producer.commit_transaction()
        described = admin.describe_transactions(["kp-admin-id"])["kp-admin-id"]
        assert described.state == TransactionState.COMPLETE_COMMIT
        (active,) = admin.describe_producers([tp])[tp].active_producers
        assert active.current_transaction_start_offset == -1
    finally:
        admin.close()
        producer.close(timeout=10)
