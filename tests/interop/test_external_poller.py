"""ExternalPoller (core.monitor.external_poller) against the embedded broker and Tansu:
focus refreshed every poll, the rest every ``full_every`` polls, counters from deltas.
Time is an injected clock and the schedule is poll counts: no wall-clock waits."""

from __future__ import annotations

import pytest
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.monitor.external_admin import ExternalAdmin
from streamscope.core.monitor.external_poller import ExternalPoller
from streamscope.core.monitor.feed import key_hash


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _hw(snap, topic: str) -> list[int]:
    return [p.high_watermark for p in snap.topic(topic).partitions]


def test_focus_every_poll_the_rest_every_full_every_and_counters(cluster):
    kind, bootstrap = cluster
    settings = ExternalSettings(bootstrap)
    clock = FakeClock()
    with ExternalAdmin(settings, timeout_s=15) as admin, ExternalPoller(
            settings, interval_s=2.0, full_every=3, timeout_s=15, clock=clock) as poller:
        admin.create_topic("seen", 2)
        admin.create_topic("other", 1)
        admin.reset_offsets("readers", 0, [("seen", 0), ("seen", 1)])
        admin.reset_offsets("others", 0, [("other", 0)])
        poller.set_focus(topics=["seen"], groups=["readers"])

        first = poller.poll()  # poll 0: full, the baseline
        assert poller.full_last and first.monotonic == 1000.0
        assert first.counters.records_in == 0 and first.topic("seen").records_in == 0
        assert {g.group_id for g in first.groups} == {"readers", "others"}
        assert poller.wait_s() == 2.0
        clock.now += 2.0
        assert poller.wait_s() == 0.0

        for i in range(3):
            admin.produce("seen", b"s%d" % i, partition=0)
        admin.produce("seen", b"s", partition=1)
        admin.produce("other", b"o", partition=0)
        admin.reset_offsets("readers", 2, [("seen", 0)])

        second = poller.poll()  # poll 1: focused
        assert not poller.full_last and second.monotonic == 1002.0
        # Two ListOffsets, one DescribeGroups, one OffsetFetch: no Metadata, no configs.
        assert poller.requests_last == 4
        assert _hw(second, "seen") == [3, 1]
        assert _hw(second, "other") == [0]  # carried over: not in focus
        seen = second.topic("seen")
        assert [p.records_in for p in seen.partitions] == [3, 1] and seen.records_in == 4
        assert [p.records_out for p in seen.partitions] == [2, 0] and seen.records_out == 2
        assert (second.counters.records_in, second.counters.records_out) == (4, 2)
        readers = second.group("readers")
        assert [(o.partition, o.committed_offset, o.lag) for o in readers.offsets] == [
            (0, 2, 1), (1, 0, 1)]

        clock.now += 2.0
        third = poller.poll()  # poll 2: focused, nothing new
        assert not poller.full_last and third.counters.records_in == 4
        clock.now += 2.0
        fourth = poller.poll()  # poll 3: full (every 3rd)
        assert poller.full_last and poller.requests_last >= 7
        assert _hw(fourth, "other") == [1]
        assert fourth.topic("other").records_in == 1
        assert (fourth.counters.records_in, fourth.counters.records_out) == (5, 2)
        assert fourth.monotonic == 1006.0

        # A focus topic the last full refresh did not have: the next poll is full.
        admin.create_topic("fresh", 1)
        poller.set_focus(topics=["fresh"], groups=())
        clock.now += 2.0
        fifth = poller.poll()
        assert poller.full_last and fifth.topic("fresh") is not None
        # A reset backwards is a new baseline, not a negative delta.
        admin.reset_offsets("readers", 0, [("seen", 0)])
        poller.set_focus(topics=["seen"], groups=["readers"])
        clock.now += 2.0
        sixth = poller.poll()
        assert not poller.full_last
        assert sixth.counters.records_out == 2 and sixth.topic("seen").records_out == 2

        poller.interval_s = 0.5
        assert poller.interval_s == 0.5 and poller.wait_s() == 0.5
        with pytest.raises(ValueError):
            poller.interval_s = 0


def test_new_records_of_the_focus_topics_are_sampled_with_their_keys(cluster):
    """The Log page's new-record colours over the wire: a tail that is only assigned
    (never a group) turns what arrives on the focus topic into append samples with the
    keys' hashes, as the embedded broker's feed does; other topics are not followed."""
    kind, bootstrap = cluster
    settings = ExternalSettings(bootstrap)
    with ExternalAdmin(settings, timeout_s=15) as admin, ExternalPoller(
            settings, interval_s=2.0, timeout_s=15, clock=FakeClock()) as poller:
        admin.create_topic("tailed", 2)
        admin.create_topic("ignored", 1)
        poller.set_focus(topics=["tailed"])
        assert poller.poll().activity.appends == ()  # following from the end now
        sent = {}
        for i in range(6):
            key = f"partner-{i}".encode()
            sent[admin.produce("tailed", b"x", key=key, partition=i % 2)] = key_hash(key)
        admin.produce("ignored", b"y", key=b"z", partition=0)

        def sampled() -> dict[tuple[int, int], int | None]:
            out = {}
            for a in poller.poll().activity.appends:
                assert a.topic == "tailed"
                for i, h in enumerate(a.key_hashes):
                    out[(a.partition, a.base_offset + i)] = h
            return out

        seen: dict = {}
        for _ in range(200):  # polls, each taking what has arrived; no sleeping
            seen = sampled()
            if len(seen) == len(sent):
                break
            poller._tail.sample(0.05)  # let the tail's fetch arrive (bounded wait)
        assert seen == sent
        snap = poller.poll()
        assert [a.seq for a in snap.activity.appends] == sorted(
            a.seq for a in snap.activity.appends)
        assert snap.activity.read_positions == () and snap.activity.appends_dropped == 0
    # The tail never joined or committed as a group.
    with ExternalAdmin(settings, timeout_s=15) as admin:
        from confluent_kafka.admin import AdminClient

        listed = AdminClient(settings.client_config()).list_consumer_groups().result(15)
        assert not [g for g in listed.valid if g.group_id.startswith("streamscope-tail")]
