"""Consumer groups with real clients: confluent-kafka, kafka-python and aiokafka.

For each client, one scenario on a 6-partition topic, 30,000 keyed messages in four
waves, three members (one OS process each, see test_groups_harness.py):

1. three members share the partitions (2 each) and read the first 10,000;
2. one member leaves (close: commit + LeaveGroup): the other two take over;
3. one member is killed (SIGKILL, no LeaveGroup): evicted after its 6 s session
   timeout, the last member takes everything;
4. the last member closes (committing), the broker restarts on the same data dir, and
   a new member resumes exactly at the committed offsets.

Checked: every message seen, per-partition offsets and per-key order kept by each
member, no partition owned by two members at once (by the members' own rebalance
callbacks, on one system-wide clock) and as the broker describes the group. Printed
(``pytest -s``): rebalance and eviction times, duplicate counts.

Also kcat's balanced consumer (Debian's older librdkafka): it commits on exit and a
second run resumes from the committed offsets.
"""

from __future__ import annotations

import pytest

from tests.interop.conftest import restart_broker
from tests.interop.test_groups_harness import (
    SESSION_TIMEOUT_MS,
    Member,
    check_delivery,
    distinct_seen,
    produce,
    wait_until,
)

TOPIC = "orders"
PARTITIONS = 6
WAVES = (10_000, 10_000, 5_000, 5_000)
TOTAL = sum(WAVES)
CLIENT_ASSIGNOR = {"confluent": "range", "kafka-python": "range", "aiokafka": "roundrobin"}


def group_state(bt, group):
    info = bt.call(bt.broker.groups.group_info, group)
    if info is None:
        return None, {}, None
    owners = {}
    for m in info.members:
        for topic, parts in m.assignment.items():
            for p in parts:
                assert (topic, p) not in owners, f"{(topic, p)} assigned twice"
                owners[(topic, p)] = m.member_id
    return info.state.value, owners, info


def stable_with(bt, group, n_members):
    state, owners, info = group_state(bt, group)
    return (state == "Stable" and len(info.members) == n_members
            and len(owners) == PARTITIONS)


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_group_of_three_shares_rebalances_and_resumes_after_restart(broker, tmp_path, client):
    bt = broker
    group = f"{client}-group"
    bt.call(bt.broker.create_topic, TOPIC, PARTITIONS)
    produce(bt.bootstrap, TOPIC, 0, WAVES[0])
    members = [Member(client, bt.bootstrap, group, TOPIC, f"{client}-{i}", tmp_path)
               for i in range(3)]
    restarted = None
    try:
        # 1. Three members, two partitions each.
        join_s = wait_until(
            lambda: stable_with(bt, group, 3) and all(len(m.assigned) == 2 for m in members),
            60, "three members with two partitions each", members)
        _, _, info = group_state(bt, group)
        assert info.protocol_name == CLIENT_ASSIGNOR[client]
        wait_until(lambda: distinct_seen(members) >= WAVES[0], 60, "wave 1", members)

        # 2. A member leaves: the other two take its partitions.
        produce(bt.bootstrap, TOPIC, WAVES[0], WAVES[1])
        generation = info.generation
        leave_s = _timed(lambda: members[2].close())
        leave_s += wait_until(
            lambda: stable_with(bt, group, 2) and all(len(m.assigned) == 3 for m in members[:2]),
            30, "two members with three partitions each", members)
        leave_rebalance_ms = group_state(bt, group)[2].rebalances[-1].duration_ms
        assert group_state(bt, group)[2].generation > generation
        wait_until(lambda: distinct_seen(members) >= sum(WAVES[:2]), 60, "wave 2", members)

        # 3. A member dies without leaving: evicted after its session timeout.
        produce(bt.bootstrap, TOPIC, sum(WAVES[:2]), WAVES[2])
        victim_id = next(m.member_id for m in group_state(bt, group)[2].members
                         if m.client_id == members[1].name)
        killed_at = members[1].kill()
        evict_s = wait_until(
            lambda: stable_with(bt, group, 1) and len(members[0].assigned) == PARTITIONS,
            SESSION_TIMEOUT_MS / 1000 + 20, "the killed member's eviction", members)
        left = bt.call(lambda: [e for e in bt.broker.events if e.kind == "member_left"
                                and e.data.get("member_id") == victim_id])
        assert left and "session timeout" in left[-1].data["reason"]
        # Evicted by the session timeout, counted from its last heartbeat (sent every
        # 500 ms, later under load) before the kill.
        assert left[-1].ts - _wall(killed_at) >= SESSION_TIMEOUT_MS / 1000 - 1.5
        assert evict_s >= SESSION_TIMEOUT_MS / 1000 - 1.5
        wait_until(lambda: distinct_seen(members) >= sum(WAVES[:3]), 60, "wave 3", members)
        # The survivor re-reads what the dead member read but never committed.
        wait_until(lambda: caught_up(bt, members[0]), 60, "the survivor at the end", members)

        # 4. Commit, close, restart the broker: a new member resumes where the group was.
        members[0].commit()
        members[0].close()
        committed = bt.call(bt.broker.groups.fetch_offsets, group)
        assert sum(c.offset for c in committed.values()) == sum(WAVES[:3])
        restarted = restart_broker(bt)
        after = restarted.call(restarted.broker.groups.fetch_offsets, group)
        assert {tp: c.offset for tp, c in after.items()} == {
            tp: c.offset for tp, c in committed.items()}
        produce(restarted.bootstrap, TOPIC, sum(WAVES[:3]), WAVES[3])
        resumed = Member(client, restarted.bootstrap, group, TOPIC, f"{client}-3", tmp_path)
        members.append(resumed)
        wait_until(lambda: distinct_seen(members) >= TOTAL, 60, "wave 4", members)
        assert resumed.first_offsets == {p: committed[(TOPIC, p)].offset
                                         for p in resumed.first_offsets}
        assert len(resumed.records) == WAVES[3]  # nothing read twice across the restart
        resumed.close()

        figures = check_delivery(members, TOTAL)
        # Leaving and closing commit first: every duplicate is something the killed
        # member read but had not committed yet (auto-commit every second).
        assert figures["duplicates"] <= len(members[1].records)
        print(f"\n[{client}] join {join_s:.2f}s | leave -> rebalanced {leave_s:.2f}s "
              f"(broker rebalance {leave_rebalance_ms:.0f} ms) | kill -> evicted and "
              f"rebalanced {evict_s:.2f}s (session {SESSION_TIMEOUT_MS} ms) | "
              f"{figures['received']} received, {figures['duplicates']} duplicates "
              f"(killed member had read {len(members[1].records)}, some uncommitted)")
    finally:
        for m in members:
            m.stop()
        if restarted is not None:
            restarted.stop()


def caught_up(bt, member) -> bool:
    """``member`` has read every partition up to its high watermark."""
    last: dict[int, int] = {}
    for p, offset, _ in member.records:
        last[p] = max(offset, last.get(p, -1))
    return all(last.get(p, -1) + 1 >= bt.call(bt.broker.partition_offsets, TOPIC, p)[1]
               for p in range(PARTITIONS))


def _timed(fn) -> float:
    import time

    start = time.monotonic()
    fn()
    return time.monotonic() - start


def _wall(monotonic_ts: float) -> float:
    """A monotonic timestamp as wall-clock time (broker events carry wall time)."""
    import time

    return time.time() - (time.monotonic() - monotonic_ts)


def test_kcat_balanced_consumer_commits_and_a_second_run_resumes(broker, kcat_path):
    """kcat -G (Debian's librdkafka 2.0: FindCoordinator v0-2, JoinGroup v5, SyncGroup v3)."""
    import subprocess

    bt = broker
    bt.call(bt.broker.create_topic, "kcat-t", 3)
    produce(bt.bootstrap, "kcat-t", 0, 300)

    def run() -> list[str]:
        out = subprocess.run(
            # Not "-o beginning": in -G mode kcat would force that offset and skip the
            # committed ones.
            [kcat_path, "-b", bt.bootstrap, "-G", "kcat-group", "-X", "auto.offset.reset=earliest",
             "-X", "session.timeout.ms=6000", "-e", "-q", "-f", "%p:%o\\n", "kcat-t"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    first = run()
    assert sorted(first) == sorted(
        f"{p}:{o}" for p in range(3) for o in range(bt.call(bt.broker.partition_offsets,
                                                            "kcat-t", p)[1]))
    committed = bt.call(bt.broker.groups.fetch_offsets, "kcat-group")
    assert sum(c.offset for c in committed.values()) == 300
    produce(bt.bootstrap, "kcat-t", 300, 30)
    second = run()
    assert len(second) == 30  # resumed from the committed offsets
