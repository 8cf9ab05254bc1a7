"""Transactions with confluent-kafka (librdkafka 2.x) against the embedded broker.

A transactional producer's committed records reach read_committed consumers; aborted
ones never do, and read_uncommitted consumers see both. A second producer with the same
transactional id fences the first (its transaction is aborted, its next call fails
fatally). Consume-transform-produce: offsets sent with send_offsets_to_transaction are
invisible to the group until the commit. A producer SIGKILLed mid-transaction has it
aborted after its transaction.timeout.ms; a broker restarted mid-transaction aborts the
open one and keeps the committed one.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.runtime import BrokerThread

from tests.interop.conftest import make_config, restart_broker

pytestmark = pytest.mark.timeout(90)


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    for future in client.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(timeout=15)


def txn_producer(bootstrap: str, txn_id: str, **extra) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "linger.ms": 5, **extra})
    producer.init_transactions(30)
    return producer


def read_to_end(bootstrap: str, topic: str, isolation: str, partitions: int = 1) -> list[bytes]:
    """Every value up to the end of each partition (the LSO under read_committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"r-{isolation}",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": isolation})
    values: list[bytes] = []
    at_end: set[int] = set()
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + 30
        while len(at_end) < partitions and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    continue
                raise KafkaException(msg.error())
            values.append(msg.value())
    finally:
        consumer.close()
    assert len(at_end) == partitions, "never reached the end of the partitions"
    return values


def test_commit_is_visible_to_read_committed_and_abort_only_to_read_uncommitted(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-basic", 2)
    producer = txn_producer(bootstrap, "basic")
    for batch, commit in ((["c1", "c2"], True), (["a1", "a2", "a3"], False), (["c3"], True)):
        producer.begin_transaction()
        for i, v in enumerate(batch):
            producer.produce("tx-basic", v.encode(), partition=i % 2)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            producer.abort_transaction(30)
    committed = read_to_end(bootstrap, "tx-basic", "read_committed", 2)
    uncommitted = read_to_end(bootstrap, "tx-basic", "read_uncommitted", 2)
    assert sorted(committed) == [b"c1", b"c2", b"c3"]
    assert sorted(uncommitted) == [b"a1", b"a2", b"a3", b"c1", b"c2", b"c3"]


def test_open_transaction_holds_read_committed_at_the_last_stable_offset(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-open")
    producer = txn_producer(bootstrap, "open")
    producer.begin_transaction()
    producer.produce("tx-open", b"pending")
    producer.flush(30)
    assert read_to_end(bootstrap, "tx-open", "read_committed") == []
    assert read_to_end(bootstrap, "tx-open", "read_uncommitted") == [b"pending"]
    producer.commit_transaction(30)
    assert read_to_end(bootstrap, "tx-open", "read_committed") == [b"pending"]


def test_second_producer_with_the_same_id_fences_the_first(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-fence")
    zombie = txn_producer(bootstrap, "fenced-id")
    zombie.begin_transaction()
    zombie.produce("tx-fence", b"zombie")
    zombie.flush(30)
    successor = txn_producer(bootstrap, "fenced-id")  # aborts the zombie's transaction
    successor.begin_transaction()
    successor.produce("tx-fence", b"successor")
    successor.commit_transaction(30)
    with pytest.raises(KafkaException) as raised:
        zombie.produce("tx-fence", b"late")
        zombie.commit_transaction(30)
    error = raised.value.args[0]
    assert error.fatal() or error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                             KafkaError.INVALID_PRODUCER_EPOCH)
    assert read_to_end(bootstrap, "tx-fence", "read_committed") == [b"successor"]


def test_offsets_sent_in_a_transaction_are_visible_only_after_commit(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "ctp-in")
    create_topic(bootstrap, "ctp-out")
    source = Producer({"bootstrap.servers": bootstrap})
    for i in range(5):
        source.produce("ctp-in", f"m{i}".encode())
    source.flush(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ctp",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed"})
    producer = txn_producer(bootstrap, "ctp-app")
    try:
        consumer.subscribe(["ctp-in"])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
        assert len(got) == 5
        producer.begin_transaction()
        for msg in got:
            producer.produce("ctp-out", msg.value().upper())
        producer.send_offsets_to_transaction(
            [TopicPartition("ctp-in", 0, got[-1].offset() + 1)],
            consumer.consumer_group_metadata(), 30)
        producer.flush(30)
        groups = broker.node.groups
        assert broker.call(groups.fetch_offsets, "ctp", [("ctp-in", 0)]) == {
            ("ctp-in", 0): None}  # pending in the transaction, not the group's yet
        assert broker.call(broker.node.transactions.pending_offsets, "ctp") == {("ctp-in", 0)}
        producer.commit_transaction(30)
        committed = consumer.committed([TopicPartition("ctp-in", 0)], timeout=10)
        assert committed[0].offset == 5
    finally:
        consumer.close()
    assert sorted(read_to_end(bootstrap, "ctp-out", "read_committed")) == [
        b"M0", b"M1", b"M2", b"M3", b"M4"]


# A producer process that opens a transaction, writes one record, says so, and waits to
# be killed (never commits, never aborts).
_DOOMED_PRODUCER = """
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "transactional.id": sys.argv[2],
              "transaction.timeout.ms": 1500})
p.init_transactions(30)
p.begin_transaction()
p.produce(sys.argv[3], b"doomed")
p.flush(30)
print("open", flush=True)
sys.stdin.read()
"""


def test_transaction_of_a_killed_producer_is_aborted_after_its_timeout(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-killed")
    proc = subprocess.Popen([sys.executable, "-c", _DOOMED_PRODUCER, bootstrap, "killed",
                             "tx-killed"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"open\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    txns = broker.node.transactions
    part = broker.call(broker.broker.partition, "tx-killed", 0)
    deadline = time.monotonic() + 30  # only reached by a hang: the abort is due at 1.5 s
    while broker.call(lambda: txns.transactions["killed"].state) != "CompleteAbort":
        assert time.monotonic() < deadline, "the killed producer's transaction stayed open"
        time.sleep(0.05)
    assert broker.call(lambda: txns.aborted_by_timeout) == 1
    assert broker.call(lambda: part.txns.last_stable_offset(part.log.log_end_offset)) == 2
    assert read_to_end(bootstrap, "tx-killed", "read_committed") == []
    assert read_to_end(bootstrap, "tx-killed", "read_uncommitted") == [b"doomed"]


def test_broker_restart_aborts_the_open_transaction_and_keeps_the_committed_one(broker):
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-restart")
    producer = txn_producer(bootstrap, "restarted", **{"transaction.timeout.ms": 60000})
    producer.begin_transaction()
    producer.produce("tx-restart", b"committed")
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce("tx-restart", b"open")
    producer.flush(30)
    restarted = restart_broker(broker)
    try:
        bootstrap = restarted.bootstrap
        state = restarted.call(lambda: restarted.node.transactions.transactions["restarted"].state)
        assert state == "CompleteAbort"
        assert read_to_end(bootstrap, "tx-restart", "read_committed") == [b"committed"]
        assert read_to_end(bootstrap, "tx-restart", "read_uncommitted") == [
            b"committed", b"open"]
        successor = txn_producer(bootstrap, "restarted")
        successor.begin_transaction()
        successor.produce("tx-restart", b"after")
        successor.commit_transaction(30)
        assert read_to_end(bootstrap, "tx-restart", "read_committed") == [b"committed", b"after"]
    finally:
        restarted.stop()


def test_kcat_librdkafka_2_0_reads_committed_and_skips_aborted(broker, kcat_path):
    """kcat links the system's librdkafka (2.0.2 on bookworm): its Fetch v4-11 path reads
    the aborted-transaction list and the last stable offset too."""
    bootstrap = broker.bootstrap
    create_topic(bootstrap, "tx-kcat")
    producer = txn_producer(bootstrap, "kcat-src")
    for value, commit in ((b"one", True), (b"aborted", False), (b"two", True)):
        producer.begin_transaction()
        producer.produce("tx-kcat", value)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce("tx-kcat", b"open")
    producer.flush(30)

    def kcat(isolation: str) -> list[str]:
        result = subprocess.run(
            [kcat_path, "-b", bootstrap, "-C", "-t", "tx-kcat", "-p", "0", "-o", "beginning",
             "-e", "-f", "%s\n", "-X", f"isolation.level={isolation}"],
            capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert kcat("read_committed") == ["one", "two"]
    assert kcat("read_uncommitted") == ["one", "aborted", "two", "open"]
    producer.abort_transaction(30)


def test_transactions_with_fsync_always(tmp_path):
    """The durable mode: markers are appended like records, visible once synced."""
    bt = BrokerThread(make_config(tmp_path / "durable", fsync="always")).start()
    try:
        bootstrap = bt.bootstrap
        create_topic(bootstrap, "tx-durable")
        producer = txn_producer(bootstrap, "durable", **{"acks": "all"})
        for value, commit in ((b"kept", True), (b"dropped", False)):
            producer.begin_transaction()
            producer.produce("tx-durable", value)
            if commit:
                producer.commit_transaction(30)
            else:
                producer.flush(30)
                producer.abort_transaction(30)
        assert read_to_end(bootstrap, "tx-durable", "read_committed") == [b"kept"]
        assert read_to_end(bootstrap, "tx-durable", "read_uncommitted") == [b"kept", b"dropped"]
    finally:
        bt.stop()
