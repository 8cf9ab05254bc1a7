"""Real Kafka clients (confluent-kafka, kafka-python) driven from test threads: produce,
consume in a group, read a topic from its start, wait."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def topic_partitions(bootstrap: str, name: str) -> int | None:
    """Partition count of ``name`` as a real client's metadata request sees it."""
    md = admin(bootstrap).list_topics(timeout=10)
    t = md.topics.get(name)
    if t is None or t.error is not None:
        return None
    return len(t.partitions)


def produce(
    bootstrap: str, topic: str, n: int, *, key: bytes | None = None, partition: int = -1
) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        p.produce(topic, value=b"v%d" % i, key=key, partition=partition)
    assert p.flush(15) == 0


def read_from_start(bootstrap: str, topic: str, partitions: int, expected: int, *,
                    wait_s: float = 60.0, then_poll_ms: int = 0) -> list[ConsumerRecord]:
    """The records of ``topic``'s ``partitions`` from offset 0, read by a kafka-python
    consumer without a group, until ``expected`` came (``wait_s`` only turns a hang into a
    short list). ``then_poll_ms`` > 0: one more poll that long, so that records beyond the
    expected ones would show."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=1000)
    received: list[ConsumerRecord] = []
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + wait_s
        while len(received) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=2000).values():
                received.extend(records)
        if then_poll_ms > 0:
            for records in consumer.poll(timeout_ms=then_poll_ms).values():
                received.extend(records)
    finally:
        consumer.close()
    return received


class ProducerThread(threading.Thread):
    """Produces continuously until stopped."""

    def __init__(self, bootstrap: str, topic: str, *, name: str = "test-producer",
                 join_s: float = 15) -> None:
        super().__init__(daemon=True, name=name)
        self.bootstrap = bootstrap
        self.topic = topic
        self.sent = 0
        self._join_s = join_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        while not self._stop_event.is_set():
            for _ in range(200):
                p.produce(self.topic, value=b"x" * 100)
                self.sent += 1
            p.poll(0)
            self._stop_event.wait(0.02)
        p.flush(10)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(self._join_s)


class ConsumerThread(threading.Thread):
    """A group member polling in its own thread; records what it was given."""

    def __init__(self, bootstrap: str, group: str, topic: str, client_id: str, **conf) -> None:
        super().__init__(daemon=True, name=f"test-consumer-{client_id}")
        self.conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": client_id,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **conf,
        }
        self.topic = topic
        self.offsets: list[tuple[int, int]] = []  # (partition, offset) in delivery order
        self.assigned: set[tuple[str, int]] = set()
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        def on_assign(consumer, partitions):
            self.assigned = {(p.topic, p.partition) for p in partitions}

        def on_revoke(consumer, partitions):
            self.assigned = set()

        try:
            c = Consumer(self.conf)
            c.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
            try:
                while not self._stop_event.is_set():
                    msg = c.poll(0.1)
                    if msg is not None and msg.error() is None:
                        self.offsets.append((msg.partition(), msg.offset()))
                        self.on_message(c, msg)
            finally:
                c.close()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def on_message(self, consumer: Consumer, msg: Message) -> None:
        """Called with each record once it is recorded: with auto commit off, commits it."""
        if not self.conf.get("enable.auto.commit", True):
            consumer.commit(msg, asynchronous=False)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(15)


def wait_for(predicate, timeout: float = 15.0) -> None:
    """For waits outside Qt (a client thread); tests use qtbot.waitUntil for the GUI."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)
