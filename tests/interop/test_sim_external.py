"""The simulation and the lessons on a cluster that is not ours (Tansu), through real clients.

``ExternalSimThread`` / ``ExternalScenario`` (core/sim/external.py) run the delivery
partners and a consumer app against Tansu: what they did is checked on Tansu itself with
separate confluent-kafka clients (the records read back, the group listed with its
committed offsets). ``streamscope lesson NAME --check --bootstrap`` plays a built-in
lesson's headless check against Tansu, and refuses a lesson that needs the embedded broker.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from streamscope.core.lessons.cli import main as lesson_main
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.sim.external import ExternalSimThread
from streamscope.core.sim.external_apps import EmbeddedOnly
from streamscope.core.sim.partners import decode_update
from streamscope.core.sim.remote import BrokerUnreachable

from tests.tansu import free_port


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)  # polling a real state with a deadline


@pytest.fixture
def sim(tansu: str) -> Iterator[ExternalSimThread]:
    thread = ExternalSimThread(ExternalSettings(tansu), seed=7)
    thread.start()
    yield thread
    thread.stop()
    assert not thread.running


def read_back(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, bytes, bytes]]:
    """Every record of ``topic`` on the cluster, read by a consumer of our own."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    out = []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        pending = set(range(partitions))
        deadline = time.monotonic() + 15
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                    continue
                out.append((msg.partition(), msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def test_partners_stream_to_tansu_and_an_app_group_appears_there(sim, tansu):
    sim.submit(lambda s: s.start_partners(topic="ext-deliveries", partitions=3, partners=10,
                                          rate=300, limit=300)).result(30)
    sim.submit(lambda s: s.add_app("counter", "ext-counter", topic="ext-deliveries",
                                   consumers=2)).result(30)

    def caught_up() -> bool:
        view = sim.submit(lambda s: s.view()).result(5)
        app = view.apps[0]
        return (not view.partners.running
                and app.delivery.updates - app.delivery.duplicates == 300)

    wait_for(caught_up, 20, "the app to read all 300 updates")
    view = sim.submit(lambda s: s.view()).result(5)
    assert view.partners.real_client and view.partners.sent == view.partners.acked == 300
    assert sum(view.partners.per_partition) == 300  # acknowledged by Tansu
    app = view.apps[0]
    assert app.kind == "counter" and app.delivery.lost == 0
    wait_for(lambda: all(m.status == "stable" for m in
                         sim.submit(lambda s: s.view()).result(5).apps[0].members),
             15, "both members to be assigned")
    members = sim.submit(lambda s: s.view()).result(5).apps[0].members
    owned = sorted(tp for m in members for tp in m.assignment)
    assert owned == [("ext-deliveries", p) for p in range(3)]
    assert all(m.member_id for m in members)

    # On Tansu itself, with clients of our own: the records, keyed by partner id ...
    records = read_back(tansu, "ext-deliveries", 3)
    assert len(records) == 300
    homes: dict[bytes, set[int]] = {}
    for partition, key, value in records:
        assert decode_update(value).partner.encode() == key
        homes.setdefault(key, set()).add(partition)
    assert len(homes) == 10 and all(len(p) == 1 for p in homes.values())
    # ... and the app's group, with everything committed (the app commits after each batch).
    admin = AdminClient({"bootstrap.servers": tansu})
    listed = admin.list_consumer_groups(request_timeout=10).result(15)
    assert "ext-counter" in {g.group_id for g in listed.valid}

    def committed() -> int:
        request = ConsumerGroupTopicPartitions(
            "ext-counter", [TopicPartition("ext-deliveries", p) for p in range(3)])
        fut = admin.list_consumer_group_offsets([request], request_timeout=10)["ext-counter"]
        return sum(max(tp.offset, 0) for tp in fut.result(15).topic_partitions)

    wait_for(lambda: committed() == 300, 10, "the group's commits on Tansu")
    # The probe's lag agrees: everything read and committed.
    wait_for(lambda: sim.submit(lambda s: s.view()).result(5).apps[0].lag == 0, 10, "lag 0")

    # What only in-process consumers can do is refused with the reason.
    with pytest.raises(EmbeddedOnly, match="LeaveGroup"):
        sim.submit(lambda s: s.app("ext-counter").kill_consumer()).result(5)
    # A reset deletes the group and the topic on the cluster.
    sim.submit(lambda s: s.reset(delete_topics=["ext-deliveries"])).result(60)
    assert "ext-deliveries" not in admin.list_topics(timeout=10).topics
    listed = admin.list_consumer_groups(request_timeout=10).result(15)
    assert "ext-counter" not in {g.group_id for g in listed.valid}


def test_a_builtin_lesson_passes_its_headless_check_on_tansu(tansu):
    out = io.StringIO()
    # Lesson 5 (ordering): partners and a map app, records read back per partition, then
    # updates without a key through the sticky partitioner, all through real clients.
    assert lesson_main(["ordering", "--check", "--bootstrap", tansu], out=out) == 0, \
        out.getvalue()
    text = out.getvalue()
    assert f"cluster at {tansu}" in text
    assert "PASS ordered" in text and "PASS scattered" in text
    assert "lesson ordering: 2 assertions passed" in text
    # Its topics are gone from the cluster afterwards.
    topics = AdminClient({"bootstrap.servers": tansu}).list_topics(timeout=10).topics
    assert "deliveries" not in topics and "deliveries-unkeyed" not in topics


def test_a_lesson_that_needs_the_embedded_broker_is_refused_with_why(capsys):
    # Refused before any connection: the address need not answer.
    assert lesson_main(["crash-rebalance", "--check", "--bootstrap", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "runs only on the embedded broker" in err and "LeaveGroup" in err
    out = io.StringIO()
    assert lesson_main(["--list"], out=out) == 0
    marked = {line.split()[0] for line in out.getvalue().splitlines()
              if line.endswith("[embedded broker only]")}
    assert marked == {"crash-rebalance", "database", "delivery-guarantees", "idempotence",
                      "compaction"}


def test_an_unreachable_cluster_is_a_clear_error_not_a_hang():
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    sim = ExternalSimThread(ExternalSettings(address), timeout_s=2.0)
    sim.start()
    try:
        started = time.monotonic()
        with pytest.raises(BrokerUnreachable, match=f"no answer from {address} within 2 s"):
            sim.submit(lambda s: s.start_partners(topic="t", partners=1, rate=1)).result(30)
        assert time.monotonic() - started < 10
        assert sim.submit(lambda s: s.view()).result(5).partners is None
    finally:
        sim.stop()
