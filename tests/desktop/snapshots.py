"""Hand-built cluster snapshots for model tests (no broker needed), of the monitor's own
classes (``monitor.TopicSnapshot``, ...)."""

from __future__ import annotations

import itertools
import time

from streamscope.core import monitor

_clock = itertools.count(1)


def topic(name: str, partitions: int = 3, per_partition: int = 100, records_in: int = 0):
    parts = tuple(
        monitor.PartitionSnapshot(
            name, i, 0, per_partition, per_partition * 80, 1, records_in, 0, 0, 0, 0
        )
        for i in range(partitions)
    )
    return monitor.TopicSnapshot(
        name=name,
        topic_id=f"id-{name}",
        partitions=parts,
        configs=(),
        retention_ms=604_800_000,
        retention_bytes=-1,
        segment_bytes=64 << 20,
        messages=per_partition * partitions,
        size_bytes=per_partition * 80 * partitions,
        segment_count=partitions,
        records_in=records_in * partitions,
        bytes_in=0,
        records_out=0,
        bytes_out=0,
    )


def group(
    group_id: str,
    members: dict[str, list[tuple[str, int]]] | None = None,
    committed: dict[tuple[str, int], int] | None = None,
    hw: int = 100,
    state: str | None = None,
):
    members = members or {}
    committed = committed or {}
    owner = {tp: m for m, tps in members.items() for tp in tps}
    offsets = []
    total = 0
    for tp in sorted(set(owner) | set(committed)):
        c = committed.get(tp, -1)
        lag = hw - c if c >= 0 else None
        total += lag or 0
        offsets.append(monitor.OffsetSnapshot(tp[0], tp[1], c, hw, 0, lag, owner.get(tp)))
    return monitor.GroupSnapshot(
        group_id=group_id,
        state=state or ("Stable" if members else "Empty"),
        protocol_type="consumer",
        assignor="range",
        generation=len(members),
        leader=min(members) if members else None,
        members=tuple(
            monitor.MemberSnapshot(m, f"client-{m}", "/127.0.0.1", None, tuple(sorted(tps)))
            for m, tps in sorted(members.items())
        ),
        offsets=tuple(offsets),
        total_lag=total,
        rebalances=(
            monitor.RebalanceSnapshot(1, time.time() - 5, time.time() - 4.9, "join", 1),
        ),
    )


def connection(conn_id: int, requests: int = 10, client_id: str = "rdkafka"):
    return monitor.ConnectionSnapshot(
        conn_id,
        "127.0.0.1",
        40000 + conn_id,
        time.time(),
        client_id,
        "librdkafka",
        "2.4.0",
        ((0, requests // 2), (3, requests - requests // 2)),
        requests,
        1000,
        2000,
    )


def snapshot(topics=(), groups=(), connections=(), events=(), records_in: int = 0, t=None):
    mono = t if t is not None else float(next(_clock))
    return monitor.ClusterSnapshot(
        taken_at=time.time(),
        monotonic=mono,
        build_ms=0.1,
        broker=monitor.BrokerInfo(
            0, "cluster", "127.0.0.1", 9092, "/tmp/data", time.time() - 60, 60.0
        ),
        counters=monitor.Counters(records_in=records_in, bytes_in=records_in * 100),
        topics=tuple(sorted(topics, key=lambda t: t.name)),
        groups=tuple(sorted(groups, key=lambda g: g.group_id)),
        connections=tuple(connections),
        events=tuple(events),
    )


def event(seq: int, kind: str = "topic_created", message: str = "Topic x created"):
    return monitor.EventSnapshot(seq, time.time(), kind, message)
