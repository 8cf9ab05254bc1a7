"""In-process client parts: Kafka's partitioner, the assignors, the producer, and the one
assignment decoder the consumer shares with the rest of the broker."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2
from streamscope.core.clients import (
    CooperativeStickyAssignor,
    MemberSubscription,
    Producer,
    RangeAssignor,
    RoundRobinAssignor,
    StickyPartitioner,
    murmur2,
    partition_for_key,
)
from streamscope.core.clients.assignors import sticky_assignment
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.node import start_broker
from streamscope.core.protocol import ProtocolError
from streamscope.core.protocol.consumer_protocol import (
    assignment_partitions,
    encode_consumer_assignment,
)
from streamscope.core.records import iter_all_records


@pytest.fixture
async def broker(tmp_path):
    b = await start_broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    try:
        yield b
    finally:
        await b.close()


# --- partitioner ------------------------------------------------------------------------


def test_murmur2_matches_kafkas_published_values():
    # The values in Kafka's UtilsTest.testMurmur2.
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, expected in cases.items():
        assert murmur2(data) == expected


def test_keyed_partition_matches_kafka_pythons_default_partitioner():
    # kafka-python's DefaultPartitioner: murmur2(key) & 0x7fffffff % partitions.
    rng = random.Random(7)
    for i in range(3000):
        key = rng.randbytes(i % 41)
        n = rng.randint(1, 64)
        assert partition_for_key(key, n) == (kafka_python_murmur2(key) & 0x7FFFFFFF) % n


def test_sticky_partitioner_keeps_a_partition_until_a_batch_is_sent():
    sticky = StickyPartitioner(random.Random(1))
    first = {sticky.partition("t", 6) for _ in range(20)}
    assert len(first) == 1
    sticky.batch_sent("t", 6)
    assert sticky.partition("t", 6) != first.pop()
    sticky.batch_sent("one", 1)
    assert sticky.partition("one", 1) == 0


# --- assignors --------------------------------------------------------------------------


def members(*specs, owned=None, generations=None):
    owned = owned or {}
    generations = generations or {}
    return {
        mid: MemberSubscription(mid, tuple(topics), None, frozenset(owned.get(mid, ())),
                                generations.get(mid, -1))
        for mid, topics in specs
    }


def flat(plan):
    return {mid: sorted(tps) for mid, tps in plan.items()}


def test_range_gives_consecutive_runs_extra_to_the_first_members():
    plan = RangeAssignor().assign(members(("b", ["t"]), ("a", ["t"])), {"t": 5})
    assert flat(plan) == {"a": [("t", 0), ("t", 1), ("t", 2)], "b": [("t", 3), ("t", 4)]}


def test_range_works_per_topic_with_different_subscriptions():
    plan = RangeAssignor().assign(members(("a", ["t", "u"]), ("b", ["t"])), {"t": 2, "u": 3})
    assert flat(plan) == {"a": [("t", 0), ("u", 0), ("u", 1), ("u", 2)], "b": [("t", 1)]}


def test_roundrobin_deals_sorted_partitions_in_turn():
    plan = RoundRobinAssignor().assign(members(("c", ["t", "u"]), ("a", ["t", "u"])),
                                       {"t": 3, "u": 2})
    assert flat(plan) == {"a": [("t", 0), ("t", 2), ("u", 1)], "c": [("t", 1), ("u", 0)]}


def test_roundrobin_skips_members_not_subscribed():
    plan = RoundRobinAssignor().assign(members(("a", ["t"]), ("b", ["u"])), {"t": 2, "u": 2})
    assert flat(plan) == {"a": [("t", 0), ("t", 1)], "b": [("u", 0), ("u", 1)]}


def test_cooperative_sticky_keeps_owned_and_withholds_moving_partitions():
    six = [("t", p) for p in range(6)]
    m = members(("a", ["t"]), ("b", ["t"]), ("c", ["t"]),
                owned={"a": six[:3], "b": six[3:]}, generations={"a": 4, "b": 4})
    first = CooperativeStickyAssignor().assign(m, {"t": 6})
    # A and B keep what they can; the two partitions C should get are withheld this round.
    assert len(first["a"]) == 2 and len(first["b"]) == 2 and first["c"] == set()
    assert first["a"] <= set(six[:3]) and first["b"] <= set(six[3:])
    # Round two: A and B revoked their surplus, so C gets it.
    m2 = members(("a", ["t"]), ("b", ["t"]), ("c", ["t"]),
                 owned={"a": first["a"], "b": first["b"]}, generations={"a": 5, "b": 5})
    second = CooperativeStickyAssignor().assign(m2, {"t": 6})
    assert second["a"] == first["a"] and second["b"] == first["b"]
    assert second["c"] == set(six) - first["a"] - first["b"]


def test_sticky_resolves_double_ownership_to_the_newer_generation():
    plan = sticky_assignment(
        members(("a", ["t"]), ("b", ["t"]), owned={"a": [("t", 0)], "b": [("t", 0)]},
                generations={"a": 3, "b": 7}),
        {"t": 2},
    )
    assert plan["b"] == {("t", 0)} and plan["a"] == {("t", 1)}


@settings(max_examples=150, deadline=None)
@given(
    n_members=st.integers(1, 6),
    n_parts=st.integers(0, 20),
    owned_seed=st.integers(0, 10_000),
)
def test_sticky_assignment_is_complete_exclusive_and_balanced(n_members, n_parts, owned_seed):
    rng = random.Random(owned_seed)
    ids = [f"m{i}" for i in range(n_members)]
    owned = {mid: [] for mid in ids}
    for p in range(n_parts):
        if rng.random() < 0.7:
            owned[rng.choice(ids)].append(("t", p))
    m = members(*[(mid, ["t"]) for mid in ids], owned=owned)
    plan = sticky_assignment(m, {"t": n_parts})
    everything = [tp for tps in plan.values() for tp in tps]
    assert sorted(everything) == [("t", p) for p in range(n_parts)]
    sizes = [len(tps) for tps in plan.values()]
    assert max(sizes) - min(sizes) <= 1
    # Sticky: a member keeps min(owned, its share) of what it owned.
    for mid in ids:
        kept = len(plan[mid] & set(owned[mid]))
        assert kept >= min(len(owned[mid]), n_parts // n_members)


# --- producer ---------------------------------------------------------------------------


async def test_producer_puts_keys_where_kafka_would_and_batches(broker):
    broker.create_topic("t", 6)
    producer = Producer(broker, linger_ms=2)
    futures = [await producer.send("t", b"v%d" % i, key=b"key-%d" % (i % 30)) for i in range(600)]
    metas = await asyncio.gather(*futures)
    for i, meta in enumerate(metas):
        assert meta.partition == partition_for_key(b"key-%d" % (i % 30), 6)
    stats = producer.stats()
    assert stats.records_sent == 600 and stats.batches_sent < 100
    # Offsets are dense per partition and the log holds exactly what was sent.
    for p in range(6):
        mine = sorted(m.offset for m in metas if m.partition == p)
        assert mine == list(range(len(mine)))
        records = list(iter_all_records(broker.fetch("t", p, 0, 1 << 20).records))
        assert len(records) == len(mine)
        assert all(partition_for_key(r.key, 6) == p for r in records)


async def test_producer_null_keys_stick_to_a_partition_per_batch(broker):
    broker.create_topic("n", 4)
    producer = Producer(broker, linger_ms=1000, max_batch_records=10)
    futures = [await producer.send("n", b"x") for _ in range(40)]
    metas = await asyncio.gather(*futures)
    batches = [metas[i:i + 10] for i in range(0, 40, 10)]
    for batch in batches:
        assert len({m.partition for m in batch}) == 1
    assert len({b[0].partition for b in batches}) > 1


async def test_producer_flush_sends_lingering_records_and_close_refuses_more(broker):
    producer = Producer(broker, linger_ms=60_000)
    fut = await producer.send("auto", b"x", key=b"k")  # auto-created (1 partition)
    assert not fut.done()
    await producer.close()
    assert fut.result().offset == 0 and broker.topic_partition_count("auto") == 1
    with pytest.raises(KafkaError):
        await producer.send("auto", b"y")


async def test_producer_unknown_topic_without_auto_creation_fails(tmp_path):
    b = await start_broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d",
                                        auto_create_topics=False))
    try:
        with pytest.raises(KafkaError) as exc:
            await Producer(b).send("missing", b"x")
        assert exc.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    finally:
        await b.close()


# --- the one assignment decoder ---------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 3])
def test_an_assignment_blob_decodes_to_the_partitions_it_assigns(version):
    blob = encode_consumer_assignment(version, {
        "assigned_partitions": [{"topic": "a", "partitions": [2, 0]},
                                {"topic": "b", "partitions": []},
                                {"topic": "c", "partitions": [1]}],
        "user_data": None,
    })
    assert assignment_partitions(blob) == {("a", 0), ("a", 2), ("c", 1)}
    assert assignment_partitions(b"") == set()  # a member given nothing
    with pytest.raises(ProtocolError):
        assignment_partitions(blob[:-3])


def test_the_in_process_consumer_has_no_decoder_of_its_own():
    import streamscope.core.clients.consumer as consumer
    import streamscope.core.clients.membership as membership
    assert not hasattr(consumer, "_decode_assignment")
    assert membership.assignment_partitions is assignment_partitions
