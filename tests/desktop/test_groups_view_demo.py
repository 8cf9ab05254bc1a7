"""The consumer-groups view as a live demo shows it (issue 9, items 2, 3, 5, 6, 7 and 14).

Real app on a real broker (``app_shell``), with in-process :class:`core.clients.Consumer`
members that can be killed abruptly (no LeaveGroup: heartbeats just stop), and a busy
group with six-digit lag rendered at 1280x720. Chart behaviours that depend on what the
history holds (pauses in sampling, an idle group after a busy one) are fed hand-built
snapshots through the same :class:`MonitorHistory` the app uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from streamscope.core.clients import Consumer
from streamscope.core.config import BrokerConfig
from streamscope.core.records import build_batch
from streamscope.desktop import history as history_module
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.models import members_model
from streamscope.desktop.models.groups_model import LEVEL_TEXT
from streamscope.desktop.models.lag_model import LagModel
from streamscope.desktop.models.members_model import MembersModel
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.charts import LiveChart, MultiLineChart, bytes_axis_format
from streamscope.desktop.views.groups_view import GroupsView

from tests.desktop.helpers import create_topic
from tests.desktop.snapshots import group, snapshot, topic

DECO = Qt.ItemDataRole.DecorationRole
PER_PARTITION, PER_MEMBER = "partition", "member"


def column(model, title: str) -> int:
    """A model's column by its header (what a user reads), so tests name columns alike."""
    for c in range(model.columnCount()):
        if model.headerData(c, Qt.Orientation.Horizontal) == title:
            return c
    raise AssertionError(f"no column {title!r}")


@pytest.fixture
def broker_config(tmp_path) -> BrokerConfig:
    # Short first-rebalance delay: members started together still share one rebalance.
    return BrokerConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path / "data", group_initial_rebalance_delay_ms=100
    )


class Members:
    """In-process consumers on the app's broker loop, started and killed from the test."""

    def __init__(self, shell) -> None:
        self.service = shell.service
        self.started: dict[str, Consumer] = {}

    def start(self, group_id: str, topic_name: str, client_id: str, **kw) -> None:
        async def run(broker) -> Consumer:
            c = Consumer(
                broker, group_id, [topic_name], client_id=client_id,
                auto_offset_reset="earliest", **kw,
            )
            return await c.start()

        self.started[client_id] = self.service.submit(run).result(10)

    def kill(self, client_id: str) -> None:
        """Die without LeaveGroup: the coordinator only notices the heartbeats stop."""
        c = self.started[client_id]
        self.service.submit(lambda _b: c.kill()).result(10)

    def close_all(self) -> None:
        async def run(_broker) -> None:
            for c in self.started.values():
                await c.close()

        if self.service.running:
            self.service.submit(run).result(20)


@pytest.fixture
def members(app_shell) -> Iterator[Members]:
    m = Members(app_shell)
    yield m
    m.close_all()


def stable_with(view: GroupsView, group_id: str, clients: set[str]) -> bool:
    g = view.snapshot.group(group_id) if view.snapshot else None
    return (
        g is not None
        and g.state == "Stable"
        and {m.client_id for m in g.members} == clients
        and all(m.assignment for m in g.members)
    )


def shown_stable_group(
    shell, qtbot, members: Members, topic: str, partitions: int, group: str,
    names: tuple[str, ...], **settings,
) -> GroupsView:
    """A topic, and a group of real consumers ``names`` on it, Stable and selected in the
    groups view shown."""
    create_topic(shell, qtbot, topic, partitions)
    view = shell.window.groups
    shell.window.show_view("groups")
    for name in names:
        members.start(group, topic, name, **settings)
    qtbot.waitUntil(lambda: stable_with(view, group, set(names)), timeout=20_000)
    assert view.select_group(group)
    return view


def member_colours(view: GroupsView) -> dict[str, str]:
    """client id -> the colour of its swatch in the members table, as drawn."""
    model = view.members_model
    out = {}
    for row in range(model.rowCount()):
        icon = model.index(row, MembersModel.CLIENT).data(DECO)
        out[model.index(row, MembersModel.CLIENT).data()] = (
            icon.pixmap(12, 12).toImage().pixelColor(6, 6).name()
        )
    return out


# -- item 2: member colours ------------------------------------------------------------


def test_member_colours_stay_put_when_a_member_dies_and_a_newcomer_gets_an_unused_one(
    app_shell, qtbot, members
):
    fast = dict(session_timeout_ms=2000, heartbeat_interval_ms=300, rebalance_timeout_ms=4000)
    view = shown_stable_group(app_shell, qtbot, members, "rides", 6, "fleet",
                              ("m-1", "m-2", "m-3"), **fast)
    qtbot.waitUntil(lambda: view.members_model.rowCount() == 3, timeout=5000)
    before = member_colours(view)
    assert len(set(before.values())) == 3

    # m-1 sorts first by member id: a colour per sorted position would hand its colour
    # to m-2, as if the dead consumer had taken over the partitions.
    members.kill("m-1")
    qtbot.waitUntil(lambda: stable_with(view, "fleet", {"m-2", "m-3"}), timeout=20_000)
    qtbot.waitUntil(lambda: view.members_model.rowCount() == 2, timeout=5000)
    after = member_colours(view)
    assert after == {"m-2": before["m-2"], "m-3": before["m-3"]}
    # The assignment chips are drawn in the same, unchanged colours.
    for m in view.selected_group().members:
        chips = {view.assignment.chip_owner(t, p) for t, p in m.assignment}
        assert chips == {view.members_model.slot_of(m.member_id)}

    members.start("fleet", "rides", "m-4", **fast)
    qtbot.waitUntil(lambda: stable_with(view, "fleet", {"m-2", "m-3", "m-4"}), timeout=20_000)
    qtbot.waitUntil(lambda: view.members_model.rowCount() == 3, timeout=5000)
    now = member_colours(view)
    assert now["m-2"] == before["m-2"] and now["m-3"] == before["m-3"]
    assert now["m-4"] not in (now["m-2"], now["m-3"])  # no live member has it
    assert now["m-4"] != before["m-1"]  # nor does it pose as the member that just died
    # The lag chart, per member, draws each member in that same colour.
    view.set_lag_mode(PER_MEMBER)
    legend = dict(view.lag_chart.legend())
    for client, colour in now.items():
        assert QColor(legend[client]).name() == colour


def test_member_colors_prefer_slots_never_used_then_the_longest_freed():
    colors = history_module.MemberColors(palette=3)
    assert colors.update("g", ["a", "b"]) == {"a": 0, "b": 1}
    assert colors.update("g", ["b"]) == {"b": 1}  # a died: b keeps its slot
    assert colors.update("g", ["b", "c"]) == {"b": 1, "c": 2}  # never-used slot first
    colors.update("g", ["c"])  # b leaves after a did
    assert colors.update("g", ["c", "d"])["d"] == 0  # a's slot, freed longest ago
    assert colors.update("g", ["c", "d", "e", "f"]) == {"c": 2, "d": 0, "e": 1, "f": 3}


# -- item 3: heartbeats against the session timeout ---------------------------------------


def test_a_killed_member_is_marked_silent_with_its_heartbeat_age_before_eviction(
    app_shell, qtbot, members
):
    cfg = dict(session_timeout_ms=8000, heartbeat_interval_ms=300, rebalance_timeout_ms=8000)
    view = shown_stable_group(app_shell, qtbot, members, "pings", 3, "beats",
                              ("hb-1", "hb-2", "hb-3"), **cfg)
    model = view.members_model
    heartbeat = column(model, "Last heartbeat")

    def cell(client: str) -> str:
        for row in range(model.rowCount()):
            if model.index(row, MembersModel.CLIENT).data() == client:
                return model.index(row, heartbeat).data()
        return ""

    # Healthy members read "0.3 s of 8.0 s": the time since they were last heard from,
    # against their session timeout, once the broker has seen them heartbeat.
    qtbot.waitUntil(lambda: all(cell(c).endswith(" of 8.0 s") for c in ("hb-1", "hb-2", "hb-3")))
    assert not any(cell(c).startswith("no heartbeat") for c in ("hb-1", "hb-2", "hb-3"))

    members.kill("hb-2")

    def silent() -> bool:
        g = view.selected_group()
        return (
            cell("hb-2").startswith("no heartbeat for ")
            and not cell("hb-1").startswith("no heartbeat")
            and not cell("hb-3").startswith("no heartbeat")
            and g is not None
            and [m.client_id for m in g.suspect_members] == ["hb-2"]
        )

    qtbot.waitUntil(silent, timeout=8000)
    # Still a member, and the group still says Stable: the session timeout has not run
    # out, and only the heartbeat age tells the class it is dead.
    g = view.selected_group()
    assert {m.client_id for m in g.members} == {"hb-1", "hb-2", "hb-3"}
    assert g.state == "Stable"
    assert cell("hb-2").endswith(" of 8.0 s")
    row = [r for r in range(model.rowCount()) if model.index(r, 0).data() == "hb-2"][0]
    colour = model.index(row, heartbeat).data(Qt.ItemDataRole.ForegroundRole)
    assert colour == QColor(LIGHT.bad)
    groups = view.model
    health = column(groups, "Health")
    assert groups.index(groups.row_of("beats"), health).data() == "1 member silent"
    assert "1 member silent" in view.detail_info.text()

    # The coordinator then evicts it, and nobody is left silent.
    qtbot.waitUntil(lambda: stable_with(view, "beats", {"hb-1", "hb-3"}), timeout=30_000)
    qtbot.waitUntil(
        lambda: groups.index(groups.row_of("beats"), health).data() == "keeping up", timeout=5000
    )


# -- item 5: the lag chart ----------------------------------------------------------------


class _NoCommands:
    """The view's commands, for tests that only feed it snapshots (nothing is started)."""

    def consumer_count(self, _group: str) -> int:
        return 0


@pytest.fixture
def groups_view(qtbot) -> GroupsView:
    view = GroupsView(_NoCommands(), LIGHT)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    view.resize(1100, 650)
    view.show()
    return view


def feed(view: GroupsView, history: MonitorHistory, snaps) -> None:
    for s in snaps:
        history.update(s)
        view.on_slow_tick(s, history)
        view.on_tick(s, history)


def busy_and_idle(t: float, lag: int):
    """A busy group (six-digit lag over 4 partitions, two members) and an idle one."""
    busy = group(
        "busy",
        members={"a": [("rides", 0), ("rides", 1)], "b": [("rides", 2), ("rides", 3)]},
        committed={("rides", p): 0 for p in range(4)},
        hw=lag,
    )
    idle = group("idle", members={"c": [("quiet", 0)]}, committed={("quiet", 0): 5}, hw=5)
    return snapshot(topics=[topic("rides", 4), topic("quiet", 1)], groups=[busy, idle], t=t)


def test_lag_chart_draws_a_line_per_partition_or_per_member_with_legend_and_stable_colours(
    groups_view,
):
    history = MonitorHistory()
    feed(groups_view, history, [busy_and_idle(1 + i * 0.1, 100_000 + i * 500) for i in range(30)])
    assert groups_view.select_group("busy")
    feed(groups_view, history, [busy_and_idle(4.1, 115_000)])

    assert groups_view.lag_mode == PER_PARTITION
    chart = groups_view.lag_chart
    per_partition = chart.legend()
    assert [label for label, _ in per_partition] == [f"rides {p}" for p in range(4)]
    assert len({c for _, c in per_partition}) == 4  # one colour per partition
    legend = groups_view.lag_legend.entries()
    assert ("rides", "") in legend and ("0", per_partition[0][1]) in legend
    # Colours belong to partitions: the next tick draws each in the same colour.
    feed(groups_view, history, [busy_and_idle(4.2, 116_000)])
    assert chart.legend() == per_partition

    groups_view.per_member_button.click()
    assert groups_view.lag_mode == PER_MEMBER
    per_member = chart.legend()
    assert [label for label, _ in per_member] == ["client-a", "client-b"]
    slots = history.member_colors.slots("busy")
    assert [c for _, c in per_member] == [
        LIGHT.member_color(slots["a"]).name(), LIGHT.member_color(slots["b"]).name()
    ]
    # Total of each member's partitions: two partitions at 116,000 each.
    x, y = chart.line_data("a")
    assert y[np.isfinite(y)][-1] == pytest.approx(232_000)
    groups_view.per_partition_button.click()
    assert chart.line_count() == 4


def test_lag_chart_starts_at_zero_and_rescales_when_another_group_is_selected(groups_view):
    history = MonitorHistory()
    snaps = [busy_and_idle(1 + i * 0.1, 900_000 + (i % 5) * 1000) for i in range(30)]
    feed(groups_view, history, snaps)
    assert groups_view.select_group("busy")
    feed(groups_view, history, [busy_and_idle(4.1, 900_000)])
    low, high = groups_view.lag_chart.getPlotItem().viewRange()[1]
    assert low == 0  # from zero, not from the smallest lag shown
    assert 900_000 <= high <= 1_000_000

    assert groups_view.select_group("idle")  # lag 0 throughout
    low, high = groups_view.lag_chart.getPlotItem().viewRange()[1]
    assert (low, high) == (0, 10)  # the busy group's scale is gone at once


def test_lag_chart_leaves_a_gap_where_sampling_paused(groups_view):
    history = MonitorHistory()
    before = [busy_and_idle(1 + i * 0.1, 100_000 + i * 100) for i in range(50)]
    # Nothing sampled for 20 s (the GUI or the broker was busy), then sampling resumes.
    after = [busy_and_idle(26 + i * 0.1, 300_000 + i * 100) for i in range(50)]
    feed(groups_view, history, before)
    assert groups_view.select_group("busy")
    feed(groups_view, history, after)
    # The pause on the chart's "seconds ago" axis.
    now = history.now
    pause = (
        before[-1].monotonic - history.epoch - now,
        after[0].monotonic - history.epoch - now,
    )
    drawn = groups_view.lag_chart.getPlotItem().listDataItems()
    assert len(drawn) == 4
    for item in drawn:
        x, y = item.getData()
        finite = np.isfinite(x) & np.isfinite(y)
        # No drawn segment joins a point before the pause to one after it.
        for i in range(len(x) - 1):
            if finite[i] and finite[i + 1]:
                assert not (x[i] <= pause[0] + 1e-6 and x[i + 1] >= pause[1] - 1e-6)


def test_an_idle_topic_chart_does_not_keep_the_scale_of_busy_data(qtbot):
    chart = LiveChart("Messages per second", ("in", "out"), theme=LIGHT)
    qtbot.addWidget(chart)
    t = np.arange(0, 30, 0.1)
    chart.set_series(t, (np.full_like(t, 28_000.0), np.full_like(t, 27_000.0)), 29.9)
    assert chart.getPlotItem().viewRange()[1] == [0, 50_000]
    chart.set_series(t, (np.zeros_like(t), np.zeros_like(t)), 29.9)  # the topic went idle
    assert chart.getPlotItem().viewRange()[1] == [0, 10]
    chart.set_series(t, (np.full_like(t, 28_000.0), np.zeros_like(t)), 29.9)
    chart.clear_series()  # another topic selected, no history yet
    assert chart.getPlotItem().viewRange()[1] == [0, 10]


# -- item 6: axes ---------------------------------------------------------------------------


def drawn_labels(chart, axis_name: str) -> list[str]:
    """The tick labels pyqtgraph would actually draw (after dropping what does not fit)."""
    chart.resize(600, 220)
    chart.show()
    image = QImage(600, 220, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        axis = chart.getPlotItem().getAxis(axis_name)
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in texts]


def test_axis_labels_share_one_si_format(qtbot):
    chart = MultiLineChart("", theme=LIGHT)
    qtbot.addWidget(chart)
    axis = chart.getPlotItem().getAxis("left")
    labels = axis.tickStrings([0, 5000, 10000, 15000], 1.0, 5000)
    assert labels == ["0", "5 k", "10 k", "15 k"]  # never "5000" beside "10.0 k"
    assert axis.tickStrings([0, 500_000, 1_000_000], 1.0, 500_000) == ["0", "0.5 M", "1.0 M"]
    assert axis.tickStrings([0, 2, 4, 6], 1.0, 2) == ["0", "2", "4", "6"]
    byte_chart = LiveChart(
        "Bytes per second", ("in",), theme=LIGHT, value_format=bytes_axis_format
    )
    qtbot.addWidget(byte_chart)
    b = byte_chart.getPlotItem().getAxis("left")
    assert b.tickStrings([0, 524_288, 1_048_576], 1.0, 524_288) == ["0", "0.5 MiB", "1.0 MiB"]


def test_an_empty_chart_reads_from_zero_and_its_time_axis_ends_at_now(qtbot):
    chart = MultiLineChart("", theme=LIGHT)
    qtbot.addWidget(chart)
    chart.set_lines({}, 0.0)
    left = drawn_labels(chart, "left")
    assert "0" in left  # a zero baseline
    assert all(float(s) == int(float(s)) for s in left)  # no 0.2 ... 0.8
    assert "now" in drawn_labels(chart, "bottom")


# -- item 7 and 14: the groups view at 1280x720 with a busy group -----------------------------


def fill(broker, topic_name: str, partitions: int, per_partition: int) -> None:
    batch = build_batch([(b"k%d" % i, b"v") for i in range(1000)])
    for p in range(partitions):
        for _ in range(per_partition // 1000):
            broker.produce(topic_name, p, batch)


def test_busy_group_at_1280x720_shows_every_column_whole(app_shell, qtbot, members, tmp_path):
    w = app_shell.window
    w.resize(1280, 720)
    w.show_view("groups")
    create_topic(app_shell, qtbot, "rider-locations", 6)
    app_shell.service.submit(lambda b: fill(b, "rider-locations", 6, 150_000)).result(60)
    create_topic(app_shell, qtbot, "orders", 1)
    for i in range(1, 4):
        members.start("dispatch", "rider-locations", f"dispatch-{i}", auto_commit_interval_ms=300)
    for gid in ("analytics", "billing", "fraud-check", "map-app", "notifier"):
        members.start(gid, "orders", f"{gid}-1")
    view = w.groups

    def busy() -> bool:
        g = view.snapshot.group("dispatch") if view.snapshot else None
        return (
            stable_with(view, "dispatch", {"dispatch-1", "dispatch-2", "dispatch-3"})
            and len(view.snapshot.groups) == 6
            and all(o.lag is not None and o.lag >= 100_000 for o in g.offsets)
        )

    qtbot.waitUntil(busy, timeout=30_000)
    assert view.select_group("dispatch")
    qtbot.waitUntil(lambda: view.lag_model.rowCount() == 6, timeout=5000)
    app_shell.ticker.refresh_now()
    # Let the layouts settle before measuring them: deliver every posted layout request
    # and run the zero-delay column fits they schedule (no time passes, nothing to hope).
    for _ in range(3):
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
    if os.environ.get("STREAMSCOPE_SHOTS"):
        w.grab().save(str(tmp_path / "groups.png"))

    # The group list shows more than four rows.
    table = view.table
    assert table.viewport().height() // table.rowHeight(0) >= 5

    # Six-digit lag and the member's client id are shown whole, with no sideways scrolling.
    lag = view.lag_table
    fm = lag.fontMetrics()
    for row in range(view.lag_model.rowCount()):
        for col in (LagModel.LAG, LagModel.MEMBER, LagModel.HIGH_WATERMARK):
            index = lag.index_for_key(view.lag_model.key_at(row), col)
            text = index.data()
            assert text, (row, col)
            room = lag.visualRect(index).width()
            assert fm.horizontalAdvance(text) < room, (text, room)
    assert lag.horizontalScrollBar().maximum() == 0
    assert view.members.horizontalScrollBar().maximum() == 0

    # Assigned partitions as compact ranges ("rider-locations 0-1" for two of six).
    mm = view.members_model
    parts = column(mm, "Partitions")
    shown = sorted(mm.index(r, parts).data() for r in range(mm.rowCount()))
    assert shown == ["rider-locations 0-1", "rider-locations 2-3", "rider-locations 4-5"]
    mfm = view.members.fontMetrics()
    for r in range(mm.rowCount()):
        index = view.members.index_for_key(mm.key_at(r), parts)
        assert mfm.horizontalAdvance(index.data()) < view.members.visualRect(index).width()

    # Item 14: the status dot is in a column of its own, under its own header.
    gm = view.model
    row = gm.row_of("dispatch")
    dotted = [c for c in range(gm.columnCount()) if gm.index(row, c).data(DECO) is not None]
    assert len(dotted) == 1
    dot = dotted[0]
    assert gm.headerData(dot, Qt.Orientation.Horizontal) == "Health"
    align = gm.headerData(dot, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole)
    assert not align & Qt.AlignmentFlag.AlignRight  # the dot sits under its header's start
    # Words beside the dot (which ones depends on the lag's trend: see test_models).
    assert gm.index(row, dot).data() in LEVEL_TEXT.values()

    # And the view fits the main window's page at 1280x720: nothing to scroll to.
    page = view.parentWidget().parentWidget()
    assert view.minimumSizeHint().height() <= page.maximumViewportSize().height()


def test_compact_assignment_writes_ranges():
    value = (("rider-locations", 0), ("rider-locations", 1), ("rider-locations", 4))
    assert members_model.compact_assignment(value) == "rider-locations 0-1, 4"
    assert members_model.compact_assignment((("b", 3), ("a", 0), ("a", 1), ("a", 2))) == "a 0-2; b 3"
    assert members_model.compact_assignment(()) == ""
