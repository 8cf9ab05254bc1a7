"""When the lesson screenshots' log shot may be taken: once every group has committed on
the topic and no two cursors stand together (desktop/screenshots.py cursors_apart)."""

from __future__ import annotations

from streamscope.core.lessons import find_lesson
from streamscope.desktop.screenshots import cursor_positions, cursors_apart, slowest_group

from tests.desktop.snapshots import group, snapshot, topic

GROUPS = ("fast", "middle", "slow")


def at(**positions: tuple[int, int]):
    """A snapshot of topic t (2 partitions of 100) with each group's committed offsets."""
    return snapshot(
        topics=[topic("t", partitions=2, per_partition=100)],
        groups=[group(g, committed={("t", 0): p0, ("t", 1): p1})
                for g, (p0, p1) in positions.items()],
    )


def test_cursors_are_apart_when_each_pair_is_at_least_a_twentieth_of_the_log_apart():
    snap = at(fast=(100, 100), middle=(60, 70), slow=(20, 30))
    assert cursor_positions(snap, "t") == {"fast": 200, "middle": 130, "slow": 50}
    assert cursors_apart(snap, "t", GROUPS)


def test_cursors_together_or_missing_are_not_apart():
    # Two at the end of the log: what the fan-out shot used to show.
    assert not cursors_apart(at(fast=(100, 100), middle=(100, 100), slow=(20, 30)), "t", GROUPS)
    # 5 records apart in a 200-record log: under the gap (10 records, 5 %).
    assert not cursors_apart(at(fast=(100, 100), middle=(98, 97), slow=(20, 30)), "t", GROUPS)
    # A group that has not committed yet has no cursor to show.
    assert not cursors_apart(at(fast=(100, 100), middle=(60, 70)), "t", GROUPS)
    assert not cursors_apart(None, "t", GROUPS)


def test_the_panel_shot_shows_the_fanouts_slowest_group():
    assert slowest_group(find_lesson("fanout")) == "analytics"
    assert slowest_group(find_lesson("ordering")) == "customer-map"  # no delays: the first
