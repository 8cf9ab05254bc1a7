"""Only the page on screen is refreshed per tick (hidden ones in turn, a bounded few per
tick); a hidden page is current the moment it is shown; the chart history records every
tick whatever is shown.

The real app on a real broker (``app_shell``): the topic is created through the broker
service and the ticks are the app's own ticker's.
"""

from __future__ import annotations

import pytest
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop.history import MonitorHistory

from tests.desktop.helpers import create_topic

pytestmark = pytest.mark.timeout(60)

TOPIC = "unseen"


def past_first_slow_tick(shell, qtbot) -> None:
    """Wait for a slow tick (the first one refreshes every view, shown or not)."""
    with qtbot.waitSignal(shell.ticker.slow_tick, timeout=10_000):
        pass


def count_slow_ticks(view) -> list[int]:
    """Wrap ``view.on_slow_tick`` (an instance attribute, which the window looks up) to
    count its calls."""
    calls = [0]
    real = view.on_slow_tick

    def counted(snap: ClusterSnapshot, history: MonitorHistory) -> None:
        calls[0] += 1
        real(snap, history)

    view.on_slow_tick = counted
    return calls


def test_a_hidden_page_is_not_refreshed_per_tick_but_is_current_when_shown(app_shell, qtbot):
    w = app_shell.window
    ticker = app_shell.ticker
    w.background_views = 0  # no refresh in turn: hidden means untouched until shown
    w.show_view("overview")
    past_first_slow_tick(app_shell, qtbot)
    topics_calls = count_slow_ticks(w.topics)
    overview_calls = count_slow_ticks(w.overview)

    create_topic(app_shell, qtbot, TOPIC, 2)
    qtbot.waitUntil(
        lambda: ticker.snapshot is not None and ticker.snapshot.topic(TOPIC) is not None,
        timeout=10_000,
    )
    slow = [0]
    ticker.slow_tick.connect(lambda *_: slow.__setitem__(0, slow[0] + 1))
    qtbot.waitUntil(lambda: slow[0] >= 3, timeout=10_000)

    # The overview (on screen) took every slow tick; the topics page none, so its table
    # has not heard of the topic yet.
    assert overview_calls[0] >= 3
    assert topics_calls[0] == 0
    assert TOPIC not in w.topics.model.keys()

    # Shown: refreshed at once from the latest snapshot, before any further tick.
    w.show_view("topics")
    assert topics_calls[0] == 1
    assert TOPIC in w.topics.model.keys()
    assert w.current_view() == "topics"

    # And now it is the one refreshed per tick, while the overview rests.
    before_topics, before_overview = topics_calls[0], overview_calls[0]
    slow[0] = 0
    qtbot.waitUntil(lambda: slow[0] >= 2, timeout=10_000)
    assert topics_calls[0] - before_topics >= 2
    assert overview_calls[0] == before_overview


def test_hidden_views_are_refreshed_in_turn_one_per_slow_tick(app_shell, qtbot):
    w = app_shell.window
    ticker = app_shell.ticker
    w.show_view("overview")
    past_first_slow_tick(app_shell, qtbot)
    # Each hidden view's turn runs in an event-loop slice of its own, just after its tick:
    # count from and to moments when none is pending.
    ticker.stop()
    qtbot.waitUntil(lambda: w.background_pending == 0, timeout=5_000)
    hidden = [k for k in w.views if k != "overview"]
    calls = {k: count_slow_ticks(w.views[k]) for k in w.views}
    slow = [0]
    ticker.slow_tick.connect(lambda *_: slow.__setitem__(0, slow[0] + 1))
    rounds = 2 * len(hidden)
    ticker.start()
    qtbot.waitUntil(lambda: slow[0] >= rounds, timeout=20_000)
    ticker.stop()
    qtbot.waitUntil(lambda: w.background_pending == 0, timeout=5_000)
    ticks = slow[0]
    assert calls["overview"][0] == ticks
    assert sum(calls[k][0] for k in hidden) == ticks * w.background_views
    # Round robin: every hidden view had its turns, none more than its share.
    share = -(-ticks * w.background_views // len(hidden))
    for k in hidden:
        assert 1 <= calls[k][0] <= share, (k, calls[k][0], ticks)


def test_a_hidden_view_asked_for_by_name_is_brought_up_to_date_first(app_shell, qtbot):
    w = app_shell.window
    w.background_views = 0
    w.show_view("overview")
    past_first_slow_tick(app_shell, qtbot)
    calls = count_slow_ticks(w.topics)
    create_topic(app_shell, qtbot, TOPIC, 1)
    qtbot.waitUntil(lambda: app_shell.ticker.snapshot.topic(TOPIC) is not None, timeout=10_000)
    assert calls[0] == 0
    assert w.select_topic(TOPIC)  # the hidden topics view caught up, then selected
    assert calls[0] == 1
    assert w.topics.selected_topic() == TOPIC
    assert w.current_view() == "overview"


def test_the_chart_history_records_every_tick_while_its_charts_are_hidden(app_shell, qtbot):
    w = app_shell.window
    ticker = app_shell.ticker
    create_topic(app_shell, qtbot, TOPIC, 1)
    qtbot.waitUntil(lambda: TOPIC in ticker.history.topics, timeout=10_000)
    # The overview's throughput charts and the topics page's topic chart are hidden.
    w.show_view("clients")
    history = ticker.history
    ticks = [0]
    start = (len(history.totals), len(history.topics[TOPIC]))
    ticker.tick.connect(lambda *_: ticks.__setitem__(0, ticks[0] + 1))
    qtbot.waitUntil(lambda: ticks[0] >= 5, timeout=10_000)
    assert len(history.totals) - start[0] == ticks[0]
    assert len(history.topics[TOPIC]) - start[1] == ticks[0]
