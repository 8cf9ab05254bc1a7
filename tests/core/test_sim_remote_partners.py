"""The delivery partners through a real client (``RemotePartners``) and their pacing.

A real broker listens on 127.0.0.1 port 0 (``BrokerThread``); the partners send through
confluent-kafka on their own thread; a real kafka-python consumer reads the topic back.
The pacing (:class:`~streamscope.core.sim.remote.Pacer`) is pure and tested on given times.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.partners import decode_update
from streamscope.core.sim.remote import BrokerUnreachable, Pacer
from streamscope.core.sim.remote_partners import RemotePartners

from tests.core.helpers import broker_thread
from tests.kafka_clients import read_from_start

pytestmark = pytest.mark.timeout(180)

WAIT_S = 60.0  # only a hang reaches it
PARTITIONS = 6


@pytest.fixture
def bt(tmp_path: Path) -> Iterator[BrokerThread]:
    with broker_thread(tmp_path) as thread:
        yield thread


@pytest.fixture
def started() -> Iterator[list[RemotePartners]]:
    """Partners a test starts: each stopped afterwards, before the broker."""
    partners: list[RemotePartners] = []
    yield partners
    for p in partners:
        p.stop()


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def sim_connections(bt: BrokerThread) -> list[tuple[str | None, str | None]]:
    return bt.call(lambda: [(c.client_id, c.software_name)
                            for c in bt.broker.connections.values()
                            if c.client_id == "streamscope-sim-partners"])


def read_all(bt: BrokerThread, topic: str, expected: int) -> list:
    """Every record of ``topic`` (at least ``expected``), and nothing beyond: one more
    poll finds no record."""
    return read_from_start(bt.bootstrap, topic, PARTITIONS, expected, wait_s=WAIT_S,
                           then_poll_ms=300)


def check_stream(received: list) -> dict[str, int]:
    """Every record decodes, sits in its key's partition, and per partner the seqs run
    0, 1, 2 ... within one partition. The partners' update counts."""
    partition_of: dict[str, int] = {}
    last_seq: dict[str, int] = {}
    for rec in sorted(received, key=lambda r: (r.partition, r.offset)):
        update = decode_update(rec.value)
        assert rec.key == update.partner.encode()
        assert rec.partition == partition_for_key(rec.key, PARTITIONS)
        assert partition_of.setdefault(update.partner, rec.partition) == rec.partition
        assert update.seq == last_seq.get(update.partner, -1) + 1, update
        assert rec.timestamp == update.ts
        last_seq[update.partner] = update.seq
    return {partner: seq + 1 for partner, seq in last_seq.items()}


def test_partners_through_confluent_kafka_are_a_real_connection_until_stopped(bt, started):
    partners = RemotePartners(bt.bootstrap, "deliveries", partners=5, rate=50, seed=3)
    started.append(partners)
    partners.start()
    wait_for(lambda: partners.acked > 0, "an acknowledged update")
    # librdkafka may swap its bootstrap connection for one to the broker by id: wait for
    # the listing, rather than catching it in between.
    wait_for(lambda: ("streamscope-sim-partners", "confluent-kafka-python")
             in sim_connections(bt), "the partners' connection in the client list")
    assert partners.running
    partners.stop()
    assert not partners.running
    wait_for(lambda: not sim_connections(bt), "the connection to close")
    assert partners.errors == 0 and partners.acked == partners.sent > 0


def test_limit_is_exact_and_a_kafka_python_consumer_decodes_every_update_in_order(bt, started):
    partners = RemotePartners(bt.bootstrap, "deliveries", partners=12, rate=400, seed=5,
                              limit=600, partitions=PARTITIONS)
    started.append(partners)
    partners.start()
    wait_for(lambda: partners.finished and not partners.running, "the limit")
    assert (partners.sent, partners.acked, partners.errors) == (600, 600, 0)

    received = read_all(bt, "deliveries", 600)
    assert len(received) == 600  # not one update more than the limit
    counts = check_stream(received)
    assert sorted(counts) == sorted(f"partner-{i}" for i in range(12))
    by_partition: dict[int, int] = {}
    for rec in received:
        by_partition[rec.partition] = by_partition.get(rec.partition, 0) + 1
    assert partners.per_partition == by_partition
    assert len(by_partition) > 1  # 12 keys really spread over the partitions


def test_retune_adds_partners_and_the_stream_stays_in_order(bt, started):
    partners = RemotePartners(bt.bootstrap, "deliveries", partners=2, rate=100, seed=8)
    started.append(partners)
    partners.start()
    wait_for(lambda: partners.acked >= 20, "updates from the first two partners")
    partners.retune(partners=4, rate=200)
    assert (partners.partners, partners.rate) == (4, 200.0)
    wait_for(lambda: partners.acked >= 120, "updates after the retune")
    partners.stop()
    assert partners.errors == 0

    counts = check_stream(read_all(bt, "deliveries", partners.acked))
    assert sum(counts.values()) == partners.acked
    assert set(counts) == {"partner-0", "partner-1", "partner-2", "partner-3"}


def test_an_unreachable_broker_fails_start_without_a_thread() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    partners = RemotePartners(f"127.0.0.1:{port}", "deliveries", 1, 1.0, 1,
                              connect_timeout=1.0)
    with pytest.raises(BrokerUnreachable):
        partners.start()
    assert not partners.running and partners.sent == 0
    partners.stop()  # nothing to stop: a no-op


# --- pacing (pure) ----------------------------------------------------------------------


def test_pacer_counts_the_rate_over_time_and_inverts_to_each_updates_slot() -> None:
    pacer = Pacer(100.0, start=10.0)
    assert pacer.due(10.0) == 0
    assert pacer.due(10.5) == 50
    assert pacer.due(12.0) == 200
    for n in (0, 1, 57, 200):
        assert pacer.due(pacer.time_of(n)) == n
    assert pacer.time_of(57) == pytest.approx(10.57)


def test_pacer_rush_multiplies_the_rate_only_inside_its_window() -> None:
    pacer = Pacer(100.0, start=0.0)
    pacer.rush(3.0, 2.0, now=1.0)  # 1 s at 100/s, then 2 s at 300/s, then 100/s again
    assert pacer.due(1.0) == 100
    assert pacer.multiplier(2.0) == 3.0 and pacer.multiplier(3.5) == 1.0
    assert pacer.due(3.0) == 100 + 600
    assert pacer.due(4.0) == 100 + 600 + 100
    assert pacer.time_of(400) == pytest.approx(2.0)
    assert pacer.time_of(750) == pytest.approx(3.5)


def test_pacer_rate_change_keeps_what_was_due_and_applies_from_then_on() -> None:
    pacer = Pacer(100.0, start=0.0)
    pacer.set_rate(1000.0, now=2.0)
    assert pacer.due(2.0) == 200
    assert pacer.due(3.0) == 1200
    # An update due before the change keeps its slot at the old rate.
    assert pacer.time_of(150) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        pacer.set_rate(0.0, now=3.0)
