"""Markers on the lag and throughput charts (issue 11): a chart says why it moved.

The real app on a real broker: an offsets reset and a rebalance put a marker on the
charts that show them, with the event's text on hover (a real mouse move over the plot);
the marker arithmetic (window, merging, bound, scrolling) on plain values.
"""

from __future__ import annotations

from functools import partial

from confluent_kafka import Consumer, TopicPartition
from PySide6.QtCore import QPoint, QPointF
from streamscope.desktop.app import Streamscope
from streamscope.desktop.dialogs.delete_records_dialog import delete_records_before
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.chart_markers import (
    MAX_MARKERS,
    MERGE_S,
    ChartEvent,
    cluster_events,
    markers_for,
    topic_events,
)
from streamscope.desktop.views.charts import LiveChart

from tests.desktop.helpers import command, create_topic
from tests.kafka_clients import produce

WINDOW_S = 120.0


def hover(qtbot, chart, index: int) -> str | None:
    """Move the real mouse onto marker ``index`` of ``chart``; the text it shows."""
    markers = chart.markers

    def moved_onto_it() -> bool:
        # The marker scrolls left with the time axis: aim at where it is now, each try
        # (under load a tick can move it off a point computed a moment before).
        vb = chart.getPlotItem().getViewBox().sceneBoundingRect()
        at = chart.mapFromScene(QPointF(markers.marker_scene_x(index), vb.center().y()))
        qtbot.mouseMove(chart.viewport(), QPoint(at.x() + 1, at.y()))
        return markers.hover_text() is not None

    qtbot.waitUntil(moved_onto_it, timeout=5000)
    return markers.hover_text()


def texts(chart) -> list[str]:
    return [m.text for m in chart.markers.markers()]


def commit_and_leave(bootstrap: str, group: str, topic: str, offset: int) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


def test_an_offsets_reset_puts_a_marker_with_its_text_on_the_group_lag_chart(app_shell, qtbot):
    shell: Streamscope = app_shell
    create_topic(shell, qtbot, "orders", 1)
    gid = "<b>billing</b>"  # a group id is the client's data: its text is never markup
    commit_and_leave(shell.service.bootstrap, gid, "orders", 0)
    window = shell.window
    window.resize(1280, 720)
    window.show_view("groups")
    qtbot.waitUntil(lambda: window.select_group(gid), timeout=10_000)
    chart = window.groups.lag_chart
    assert not any("reset" in t for t in texts(chart))

    command(shell, qtbot, lambda cb: shell.commands.reset_offsets(gid, "orders", "latest", 0, cb))
    wanted = f"Group {gid} offsets on orders reset (latest)"
    qtbot.waitUntil(lambda: any(wanted in t for t in texts(chart)), timeout=5000)
    index = next(i for i, t in enumerate(texts(chart)) if wanted in t)
    marker = chart.markers.markers()[index]
    assert -5.0 <= marker.x <= 0.0  # it happened just now: at the right end of the axis
    shown = hover(qtbot, chart, index)
    assert wanted in shown and "<b>billing</b>" in shown  # the tags are shown, as text
    # The marker scrolls left with the chart's time axis.
    qtbot.waitUntil(lambda: chart.markers.markers()[index].x < marker.x - 0.5, timeout=5000)
    # Moving off the plot hides the text.
    qtbot.mouseMove(chart.viewport(), QPoint(1, 1))
    qtbot.waitUntil(lambda: chart.markers.hover_text() is None, timeout=2000)


def test_a_rebalance_puts_a_marker_on_the_topic_and_cluster_throughput_charts(
    app_shell, qtbot
):
    shell: Streamscope = app_shell
    create_topic(shell, qtbot, "rides", 2)
    window = shell.window
    window.resize(1280, 720)
    window.show_view("topics")
    view = window.topics
    shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: view.table.select_key("rides"), timeout=5000)
    created = "Topic rides created with 2 partitions"
    qtbot.waitUntil(  # the topic's creation is an admin event on its own chart
        lambda: any(created in t for t in texts(view.chart)), timeout=5000
    )
    # Events closer together share one marker: let the creation age past that first.
    qtbot.waitUntil(lambda: view.chart.markers.markers()[0].x < -MERGE_S, timeout=5000)
    command(shell, qtbot,
            lambda cb: shell.commands.start_consumers("map-app", "rides", 1, "range", cb))
    wanted = "Rebalance of map-app: member"
    qtbot.waitUntil(lambda: any(wanted in t for t in texts(view.chart)), timeout=10_000)
    index = next(i for i, t in enumerate(texts(view.chart)) if wanted in t)
    assert view.chart.markers.markers()[index].kind == "rebalance"
    assert wanted in hover(qtbot, view.chart, index)

    # The overview's charts show the whole cluster: the rebalance is there too.
    window.show_view("overview")
    overview = window.overview
    qtbot.waitUntil(lambda: any(wanted in t for t in texts(overview.msg_chart)),
                    timeout=5000)
    assert any(wanted in t for t in texts(overview.bytes_chart))
    command(shell, qtbot, lambda cb: shell.commands.stop_consumers("map-app", cb))


# -- the arithmetic of markers, on plain values ---------------------------------------------


def test_markers_sit_at_their_age_and_drop_out_of_the_window():
    now = 10_000.0
    events = [ChartEvent(now - 200, "topic_created", "too old"),
              ChartEvent(now - 30, "topic_created", "half a minute ago"),
              ChartEvent(now - 2, "rebalance", "just now")]
    shown = markers_for(events, now, WINDOW_S)
    assert [(m.x, m.kind) for m in shown] == [(-30.0, "topic_created"), (-2.0, "rebalance")]
    later = markers_for(events, now + 5, WINDOW_S)  # five seconds on: five seconds left
    assert [m.x for m in later] == [-35.0, -7.0]


def test_events_close_together_share_one_marker_drawn_as_the_most_serious():
    now = 10_000.0
    events = [ChartEvent(now - 10 + i * 0.1, "records_deleted", f"orders-{i} log start moved")
              for i in range(9)] + [ChartEvent(now - 10.05, "rebalance", "Rebalance of g")]
    (one,) = markers_for(events, now, WINDOW_S)
    assert one.kind == "records_deleted"
    lines = one.text.splitlines()
    assert len(lines) == 7 and lines[-1] == "… and 4 more"
    assert "Rebalance of g" in lines[0]
    assert len(markers_for([ChartEvent(now - 10, "rebalance", "a"),
                            ChartEvent(now - 10 + MERGE_S, "rebalance", "b")],
                           now, WINDOW_S)) == 2


def test_markers_are_bounded_and_the_newest_are_kept():
    now = 10_000.0
    events = [ChartEvent(now - 100 + i * 2, "topic_created", f"event {i}") for i in range(50)]
    shown = markers_for(events, now, WINDOW_S)
    assert len(shown) == MAX_MARKERS
    assert shown[-1].text.endswith("event 49")
    assert shown[0].text.endswith(f"event {50 - MAX_MARKERS}")


def test_a_chart_reuses_its_marker_items_tick_after_tick(qtbot):
    chart = LiveChart("Messages/s", ("in", "out"), theme=LIGHT)
    qtbot.addWidget(chart)
    view = chart.getPlotItem().getViewBox()
    now = 10_000.0
    events = [ChartEvent(now - 50 + i * 5, "offsets_reset", f"reset {i}") for i in range(5)]
    chart.markers.set_events(events, now)
    count = len(view.addedItems)
    for step in range(20):
        chart.markers.set_events(events, now + step)
    assert len(view.addedItems) == count
    assert [round(m.x) for m in chart.markers.markers()] == [-69, -64, -59, -54, -49]


def test_flags_scroll_with_their_lines_without_rebuilding_their_spots(qtbot):
    chart = LiveChart("Messages/s", ("in", "out"), theme=LIGHT)
    qtbot.addWidget(chart)
    flags = chart.markers._flags
    now = 10_000.0
    events = [ChartEvent(now - 50 + i * 20, "offsets_reset", f"reset {i}") for i in range(2)]
    chart.markers.set_events(events, now)
    built = flags.setData
    rebuilt = []
    flags.setData = lambda *a, **k: (rebuilt.append(1), built(*a, **k))
    for step in (1, 7, 30):
        chart.markers.set_events(events, now + step)
        # Each flag sits on its line, in data coordinates, however far time moved.
        xs = sorted(flags.mapToParent(QPointF(p.pos().x(), 0)).x() for p in flags.points())
        assert [round(x, 6) for x in xs] == [round(m.x, 6) for m in chart.markers.markers()]
    assert rebuilt == []  # moved, not rebuilt
    chart.markers.set_events(events[:1], now + 31)  # an event fewer: rebuilt
    assert rebuilt == [1] and len(flags.points()) == 1


def test_admin_events_mark_the_chart_of_their_own_topic_only(app_shell, qtbot):
    """Topic names may contain "-" and prefix one another: a records-deleted event of
    orders-eu-1 belongs to that topic, not to orders-eu or orders."""
    shell: Streamscope = app_shell
    for name in ("orders", "orders-eu", "orders-eu-1"):
        create_topic(shell, qtbot, name, 2)
    produce(shell.service.bootstrap, "orders-eu-1", 5, partition=1)
    deleted = command(shell, qtbot, lambda cb: shell.service.call(
        partial(delete_records_before, topic="orders-eu-1", offsets={1: 3}), cb))
    assert deleted.deleted == 3
    shell.ticker.refresh_now()
    qtbot.waitUntil(
        lambda: any(e.kind == "records_deleted" for e in shell.ticker.snapshot.events),
        timeout=5000,
    )
    snap = shell.ticker.snapshot
    mine = [e.text for e in topic_events(snap, "orders-eu-1")]
    assert "Topic orders-eu-1 created with 2 partitions" in mine
    assert "orders-eu-1-1 log start moved to 3" in mine
    for other in ("orders", "orders-eu"):
        texts_of_other = [e.text for e in topic_events(snap, other)]
        assert texts_of_other == [f"Topic {other} created with 2 partitions"]
    assert len(cluster_events(snap)) == 4
