"""A multi-broker cluster drawn as such (issue 15), from a hand-built 3-broker snapshot: the
overview's Brokers tab (node, host:port, controller, partitions led, replicas hosted) and
the topics page's placement columns, with an under-replicated partition marked in colour
and words, explained in its tooltip; the embedded broker shows its one node. Rendered at
1280x720 to PNG."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from streamscope.core import monitor
from streamscope.desktop import format as fmt
from streamscope.desktop.models.brokers_model import CONTROLLER_TIP, BrokersModel
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.theme import LIGHT

from tests.desktop import snapshots

SHOTS = Path("/tmp/streamscope-gui-shots")


def three_brokers() -> monitor.ClusterSnapshot:
    brokers = tuple(
        monitor.BrokerInfo(n, "prod", f"kafka-{n}.example.com", 9092, "", 0.0, 0.0)
        for n in (1, 2, 3)
    )
    t = snapshots.topic("payments", partitions=3)
    placement = {0: (1, (1, 2, 3), (1, 2, 3)),
                 1: (2, (2, 3, 1), (2, 3)),  # broker 1 fell behind: under-replicated
                 2: (3, (3, 1, 2), (3, 1, 2))}
    parts = tuple(dataclasses.replace(p, leader=placement[p.index][0],
                                      replicas=placement[p.index][1],
                                      isr=placement[p.index][2]) for p in t.partitions)
    t = dataclasses.replace(t, partitions=parts)
    snap = snapshots.snapshot(topics=[t])
    return dataclasses.replace(snap, broker=brokers[1], brokers=brokers, controller_id=2)


def test_brokers_model_counts_leadership_and_replicas():
    model = BrokersModel()
    model.update(three_brokers())
    rows = [[model.index(r, c).data() for c in range(5)] for r in range(model.rowCount())]
    assert rows == [
        ["1", "kafka-1.example.com:9092", "", "1", "3"],
        ["2", "kafka-2.example.com:9092", "controller", "1", "3"],
        ["3", "kafka-3.example.com:9092", "", "1", "3"],
    ]
    tip = model.index(1, BrokersModel.ROLE).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == fmt.plain_tooltip(CONTROLLER_TIP)  # made plain by the model's base


def test_the_embedded_broker_is_one_node():
    model = BrokersModel()
    model.update(snapshots.snapshot(topics=[snapshots.topic("t", 2)]))
    assert model.rowCount() == 1
    assert model.index(0, 1).data() == "127.0.0.1:9092"


def test_an_under_replicated_partition_is_marked_in_colour_and_words():
    snap = three_brokers()
    model = PartitionsModel()
    model.set_theme(LIGHT)
    model.update(snap.topics[0])
    isr = PartitionsModel.ISR
    assert [model.index(r, isr).data() for r in range(3)] == [
        "1,2,3", "2,3 URP", "3,1,2"]
    assert [model.index(r, isr - 1).data() for r in range(3)] == ["1,2,3", "2,3,1", "3,1,2"]
    assert [model.index(r, isr - 2).data() for r in range(3)] == ["1", "2", "3"]
    assert model.index(1, isr).data(Qt.ItemDataRole.ForegroundRole) == QColor(LIGHT.warn)
    assert model.index(0, isr).data(Qt.ItemDataRole.ForegroundRole) is None
    tip = model.index(1, isr).data(Qt.ItemDataRole.ToolTipRole)
    assert "Under-replicated: only 2,3 of replicas 2,3,1 are in sync" in tip
    assert [p.index for p in snap.under_replicated] == [1]


def test_three_brokers_render_at_1280x720(app_shell, qtbot):
    win = app_shell.window
    app_shell.ticker.stop()  # the synthetic snapshot stays on screen
    snap = three_brokers()
    win.overview.set_external(True)
    win.topics.set_external(True)
    for key in ("overview", "topics"):
        win.views[key].on_slow_tick(snap, app_shell.ticker.history)
    win.resize(1280, 720)
    SHOTS.mkdir(exist_ok=True)
    win.show_view("overview")
    win.overview.on_slow_tick(snap, app_shell.ticker.history)
    qtbot.waitUntil(lambda: win.overview.brokers_model.rowCount() == 3, timeout=2000)
    win.grab().save(str(SHOTS / "three_brokers_overview.png"))
    win.show_view("topics")
    win.topics.on_slow_tick(snap, app_shell.ticker.history)
    assert win.topics.table.select_key("payments")
    qtbot.waitUntil(lambda: win.topics.partitions_model.rowCount() == 3, timeout=2000)
    win.grab().save(str(SHOTS / "three_brokers_topics.png"))
    assert win.overview.snippet_tabs.tabText(
        win.overview.snippet_tabs.indexOf(win.overview.brokers)) == "Brokers (3)"
    # Every partitions column shows whole beside the chart.
    table = win.topics.partitions
    assert table.width() >= table.columns_width() - 2
