"""``streamscope sim --bootstrap ...`` as a subprocess against a real broker.

The CLI sends through confluent-kafka; a real confluent-kafka consumer then reads the
topic back and checks the acknowledged count, the wire schema and key placement. Every
subprocess wait has a timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.partners import decode_update

SUMMARY = re.compile(r"^summary: sent (\d+) acked (\d+) errors (\d+) in ", re.M)
PER_PARTITION = re.compile(r"^per partition: (.*)$", re.M)


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "streamscope.core.cli", "sim", *args]


def _read_all(bootstrap: str, topic: str) -> list:
    """Every record of ``topic`` up to the high watermarks, read by a real consumer."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        meta = consumer.list_topics(topic, timeout=10)
        partitions = sorted(meta.topics[topic].partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records = []
        want = sum(ends.values())
        for _ in range(200):  # bounded: each poll waits at most a second
            if len(records) >= want:
                break
            for msg in consumer.consume(1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                records.append(msg)
        return records
    finally:
        consumer.close()


def test_sim_cli_sends_every_update_acked_and_decodable_with_partners_in_one_partition(
    broker: BrokerThread,
) -> None:
    proc = subprocess.run(
        _sim("--bootstrap", broker.bootstrap, "--partners", "20", "--rate", "50",
             "--seconds", "2", "--topic", "t"),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    m = SUMMARY.search(proc.stderr)
    assert m is not None, proc.stderr
    sent, acked, errors = map(int, m.groups())
    assert (sent, acked, errors) == (2000, 2000, 0)
    per_partition = dict(
        tuple(map(int, kv.split("="))) for kv in PER_PARTITION.search(proc.stderr).group(1).split())
    assert sum(per_partition.values()) == acked

    records = _read_all(broker.bootstrap, "t")
    assert len(records) == acked
    assert len({r.partition() for r in records}) > 1  # 20 keys over the default 6 partitions
    partition_of: dict[str, int] = {}
    last_seq: dict[str, int] = {}
    counts: dict[int, int] = {}
    for r in records:
        update = decode_update(r.value())
        assert r.key() == update.partner.encode()
        assert partition_of.setdefault(update.partner, r.partition()) == r.partition()
        # Kafka's default partitioner, as the in-process sim computes it.
        assert partition_for_key(r.key(), 6) == r.partition()
        assert update.seq == last_seq.get(update.partner, -1) + 1  # in order, none lost
        last_seq[update.partner] = update.seq
        counts[r.partition()] = counts.get(r.partition(), 0) + 1
    assert len(partition_of) == 20
    assert counts == per_partition


def test_sim_cli_interrupted_by_ctrl_c_prints_summary_and_exits_zero(
    broker: BrokerThread,
) -> None:
    proc = subprocess.Popen(
        _sim("--bootstrap", broker.bootstrap, "--partners", "5", "--rate", "20",
             "--topic", "forever"),
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first progress line: it is sending
        assert first.startswith("sent "), first
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, rest
    m = SUMMARY.search(rest)
    assert m is not None, rest
    sent, acked, errors = map(int, m.groups())
    assert sent == acked > 0 and errors == 0
    assert "(interrupted)" in rest


def test_sim_cli_unreachable_broker_exits_nonzero_with_a_clear_message() -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        _sim("--bootstrap", f"127.0.0.1:{port}", "--partners", "2", "--rate", "1",
             "--seconds", "1", "--connect-timeout", "2"),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"streamscope: cannot reach broker: no answer from 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "summary:" not in proc.stderr
