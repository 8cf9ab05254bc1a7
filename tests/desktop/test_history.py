"""History ring buffers: bounded, contiguous views, rates from counter deltas."""

from __future__ import annotations

import numpy as np
import pytest
from streamscope.desktop.history import MonitorHistory, RateWindow, Ring

from tests.desktop.snapshots import group, snapshot, topic


def test_ring_view_is_contiguous_oldest_first_across_wraparound():
    ring = Ring(4, columns=2)
    for i in range(10):
        ring.append((i, i * 10))
    view = ring.view()
    assert view.shape == (2, 4)
    assert view[0].tolist() == [6, 7, 8, 9]
    assert view[1].tolist() == [60, 70, 80, 90]
    assert view.base is not None  # a view into the buffer, not a copy
    assert ring.view(last=2)[0].tolist() == [8, 9]
    assert ring.latest().tolist() == [9, 90]


def test_ring_rejects_zero_capacity():
    with pytest.raises(ValueError):
        Ring(0)


def test_rate_window_measures_over_about_a_second():
    w = RateWindow(1.0)
    assert w.update(0.0, (0,)) == (0.0,)
    rates = [w.update(t / 10, (t * 100,))[0] for t in range(1, 31)]
    assert rates[-1] == pytest.approx(1000.0)


def test_rate_window_restarts_when_a_counter_goes_backwards():
    w = RateWindow(1.0)
    w.update(0.0, (1000,))
    w.update(0.5, (2000,))
    assert w.update(1.0, (10,)) == (0.0,)  # reset, never negative
    assert w.update(1.5, (510,))[0] == pytest.approx(1000.0)


def test_history_turns_counters_into_rates_per_topic_and_total():
    h = MonitorHistory()
    for i in range(25):
        h.update(snapshot(topics=[topic("a", records_in=i * 50)], records_in=i * 150, t=i * 0.1))
    assert h.total_rates[0] == pytest.approx(1500.0, rel=0.01)
    assert h.topic_rates["a"][0] == pytest.approx(1500.0, rel=0.01)  # 3 partitions x 500/s
    t = h.totals.view()[0]
    assert np.all(np.diff(t) > 0)
    assert h.now == pytest.approx(2.4)


def test_history_forgets_vanished_topics_and_groups():
    h = MonitorHistory()
    g = group("g", committed={("a", 0): 5})
    h.update(snapshot(topics=[topic("a"), topic("b")], groups=[g], t=1.0))
    assert set(h.topics) == {"a", "b"}
    assert ("g", "a", 0) in h.partition_lag
    h.update(snapshot(topics=[topic("a")], t=2.0))
    assert set(h.topics) == {"a"}
    assert h.group_lag == {} and h.partition_lag == {}


def test_history_ignores_a_snapshot_seen_twice():
    h = MonitorHistory()
    s = snapshot(t=5.0)
    h.update(s)
    h.update(s)
    assert len(h.totals) == 1


def test_history_is_bounded():
    h = MonitorHistory(hz=1)  # tiny capacities for the test
    for i in range(h.totals.capacity + 50):
        h.update(snapshot(t=float(i + 1)))
    assert len(h.totals) == h.totals.capacity


# -- group health by lag trend (a healthy fast consumer trails by a second of records) ------


def _feed_lag(h: MonitorHistory, lags) -> None:
    """One snapshot per 0.1 s with the group's total lag (one partition, one member)."""
    for i, lag in enumerate(lags):
        g = group("g", {"m": [("t", 0)]}, committed={("t", 0): 1_000_000}, hw=1_000_000 + lag)
        h.update(snapshot(groups=[g], t=1000.0 + i / 10))


def test_a_saw_tooth_lag_of_thousands_is_steady_not_falling_behind():
    h = MonitorHistory()
    # 5,000 msg/s with a commit every second: lag climbs to ~5,000 then drops, for 20 s.
    _feed_lag(h, [(i % 10) * 500 for i in range(200)])
    assert h.group_trend("g") == "steady"


def test_a_lag_that_keeps_growing_is_growing_and_a_draining_one_shrinking():
    h = MonitorHistory()
    _feed_lag(h, [100 + 40 * i + (i % 10) * 30 for i in range(200)])
    assert h.group_trend("g") == "growing"
    h2 = MonitorHistory()
    _feed_lag(h2, [20_000 - 90 * i for i in range(200)])
    assert h2.group_trend("g") == "shrinking"


def test_a_trend_needs_a_few_seconds_of_history():
    h = MonitorHistory()
    _feed_lag(h, [10 * i for i in range(30)])  # 3 s
    assert h.group_trend("g") is None
    assert h.group_trend("unknown") is None
