"""The delivery partners' stream as real clients see it: every update decodes with
msgpack in a kafka-python consumer, each partner's updates stay in order in one
partition, and that partition is the one real producers choose for the partner's key
(confluent-kafka with librdkafka's Java-compatible ``murmur2_random``, and kafka-python's
default partitioner)."""

from __future__ import annotations

import asyncio
import time

import msgpack
from confluent_kafka import KafkaError, Message
from confluent_kafka import Producer as ConfluentProducer
from kafka import KafkaProducer
from streamscope.core.groups.clock import ManualClock
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.runner import SimRunner

from tests.kafka_clients import read_from_start

TOPIC = "deliveries"
PARTITIONS = 6
PARTNERS = 40
RATE = 4000.0  # updates/s on the simulated clock
SECONDS = 1.0
WAIT_S = 60.0  # only a hang reaches it


def _run_sim(bt: BrokerThread) -> dict[int, int]:
    """Two simulated seconds of the partners on the broker loop; sent per partition."""

    async def run() -> dict[int, int]:
        clock = ManualClock()
        runner = SimRunner(bt.broker, topic=TOPIC, partitions=PARTITIONS, partners=PARTNERS,
                           rate=RATE, seed=12, clock=clock, wall=lambda: 1_700_000_000.0)
        await runner.start()
        try:
            deadline = time.monotonic() + WAIT_S
            for _ in range(10):
                clock.advance(SECONDS / 10)
                while runner.accounted_until != clock.time():
                    assert time.monotonic() < deadline, "runner did not catch up"
                    await asyncio.sleep(0.005)
        finally:
            await runner.stop()
        assert runner.errors == 0
        return dict(runner.sent_per_partition)

    return bt.submit(run).result(WAIT_S)


def _consume_all(bt: BrokerThread, expected: int) -> list:
    return read_from_start(bt.bootstrap, TOPIC, PARTITIONS, expected, wait_s=WAIT_S)


def test_kafka_python_decodes_every_update_in_per_partner_order(broker):
    sent = _run_sim(broker)
    total = int(RATE * SECONDS)
    assert sum(sent.values()) == total
    received = _consume_all(broker, total)
    assert len(received) == total

    partition_of: dict[bytes, int] = {}
    last_seq: dict[str, tuple[int, int]] = {}
    counts: dict[int, int] = {}
    for rec in sorted(received, key=lambda r: (r.partition, r.offset)):
        update = msgpack.unpackb(rec.value)
        assert update["v"] == 1
        assert rec.key == update["partner"].encode()
        assert update["status"] in {"to_restaurant", "to_customer", "idle"}
        assert isinstance(update["x"], float) and isinstance(update["heading"], float)
        assert rec.timestamp == update["ts"]
        assert partition_of.setdefault(rec.key, rec.partition) == rec.partition
        prev = last_seq.get(update["partner"])
        if prev is not None:
            assert update["seq"] == prev[0] + 1 and update["ts"] >= prev[1], update
        last_seq[update["partner"]] = (update["seq"], update["ts"])
        counts[rec.partition] = counts.get(rec.partition, 0) + 1
    assert counts == sent
    assert len(last_seq) == PARTNERS


def test_partner_keys_land_where_real_producers_put_them(broker):
    _run_sim(broker)
    received = _consume_all(broker, int(RATE * SECONDS))
    sim_partition = {rec.key: rec.partition for rec in received}
    assert len(sim_partition) == PARTNERS
    assert len(set(sim_partition.values())) > 1  # the keys really spread

    confluent = ConfluentProducer({"bootstrap.servers": broker.bootstrap,
                                   "partitioner": "murmur2_random"})
    confluent_partition: dict[bytes, int] = {}

    def delivered(err: KafkaError | None, msg: Message) -> None:
        assert err is None, err
        confluent_partition[msg.key()] = msg.partition()

    for key in sim_partition:
        confluent.produce(TOPIC, key=key, value=b"probe", on_delivery=delivered)
    assert confluent.flush(30) == 0
    assert confluent_partition == sim_partition

    kp = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    try:
        futures = {key: kp.send(TOPIC, key=key, value=b"probe") for key in sim_partition}
        kp.flush(timeout=30)
        assert {k: f.get(timeout=10).partition for k, f in futures.items()} == sim_partition
    finally:
        kp.close(timeout=10)
