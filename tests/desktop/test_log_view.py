"""The Log page in the real app on a real broker, read by real confluent-kafka clients.

Each test runs the whole app (``app_shell``), produces and commits with confluent-kafka,
and checks the lanes against what the clients themselves are told by the broker
(watermarks, committed offsets): numbers are read from the view's model and marks, never
from pixels. The render test saves the page at 1280x720 for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication
from streamscope.desktop import format as fmt
from streamscope.desktop.app import Streamscope
from streamscope.desktop.models.log_marks import Kind, Scale
from streamscope.desktop.models.log_viewport import Mode
from streamscope.desktop.views.log_view import LogView

from tests.desktop.helpers import create_topic
from tests.kafka_clients import ConsumerThread

pytestmark = pytest.mark.timeout(120)

TOPIC = "orders"
# Records produced per partition, in chunks (one batch each), so small segments roll.
PRODUCED = {0: 300, 1: 180}
CHUNK = 30
DELETED_BEFORE = 40  # DeleteRecords on partition 0
GROUPS = {"analytics": {0: 250, 1: 100}, "billing": {0: 290, 1: 175}, "audit": {0: 60}}


def produce_chunks(bootstrap: str) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for partition, n in PRODUCED.items():
        for start in range(0, n, CHUNK):
            for i in range(start, min(n, start + CHUNK)):
                p.produce(TOPIC, value=b"v%d" % i, key=b"k%d" % (i % 5), partition=partition)
            assert p.flush(15) == 0


def commit(bootstrap: str, group: str, offsets: dict[int, int]) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in offsets.items()],
                 asynchronous=False)
    finally:
        c.close()


def client_truth(bootstrap: str) -> tuple[dict[int, tuple[int, int]], dict[str, dict[int, int]]]:
    """(log start, high watermark) per partition and each group's committed offsets, as a
    real client's ListOffsets and OffsetFetch answer them."""
    marks: dict[int, tuple[int, int]] = {}
    committed: dict[str, dict[int, int]] = {}
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "truth-reader"})
    try:
        for p in PRODUCED:
            marks[p] = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
    finally:
        c.close()
    for gid in GROUPS:
        g = Consumer({"bootstrap.servers": bootstrap, "group.id": gid})
        try:
            tps = g.committed([TopicPartition(TOPIC, p) for p in PRODUCED], timeout=10)
            committed[gid] = {tp.partition: tp.offset for tp in tps if tp.offset >= 0}
        finally:
            g.close()
    return marks, committed


def set_up(shell: Streamscope, qtbot) -> LogView:
    """The topic with small segments, records, a DeleteRecords, three groups' commits;
    the Log page open on it and showing all of that."""
    bootstrap = shell.service.bootstrap
    create_topic(shell, qtbot, TOPIC, partitions=2, configs={"segment.bytes": "1024"})
    produce_chunks(bootstrap)
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: its futures need it
    result = admin.delete_records([TopicPartition(TOPIC, 0, DELETED_BEFORE)])
    for future in result.values():
        assert future.result(15).low_watermark == DELETED_BEFORE
    for gid, offsets in GROUPS.items():
        commit(bootstrap, gid, offsets)
    shell.window.show_log(TOPIC)
    view = shell.window.log
    qtbot.waitUntil(
        lambda: view.model.group_ids == tuple(sorted(GROUPS))
        and view.model.lanes[0].log_start == DELETED_BEFORE
        and view.model.lanes[0].high_watermark == PRODUCED[0],
        timeout=10_000,
    )
    return view


def test_lane_markers_equal_the_brokers_offsets_and_every_groups_commit(app_shell, qtbot):
    view = set_up(app_shell, qtbot)
    marks, committed = client_truth(app_shell.service.bootstrap)
    assert view.selected_topic() == TOPIC
    assert view.topic_box.currentText() == TOPIC
    lanes = {ln.partition: ln for ln in view.model.lanes}
    assert set(lanes) == set(PRODUCED)
    for p, (low, high) in marks.items():
        assert (lanes[p].log_start, lanes[p].high_watermark) == (low, high)
        assert len(lanes[p].segment_bases) > 1  # 1 KiB segments rolled
        assert lanes[p].segment_bases[0] <= low
    assert marks[0] == (DELETED_BEFORE, PRODUCED[0])
    for gid, offsets in committed.items():
        assert offsets == GROUPS[gid]
        for p in PRODUCED:
            cursor = lanes[p].group(gid)
            assert cursor is not None
            assert cursor.committed == offsets.get(p)
            if p in offsets:
                assert cursor.lag == marks[p][1] - offsets[p]
    # The drawn cursors are the same numbers: one committed mark per group and partition.
    view.whole_log()
    drawn = {
        (view.model.lanes[m.lane].partition, view.model.lanes[m.lane].groups[m.group].group_id):
        m.offset
        for m in view.lanes.all_marks(Kind.COMMITTED)
    }
    assert drawn == {(p, gid): o for gid, offs in GROUPS.items() for p, o in offs.items()}
    starts = {view.model.lanes[m.lane].partition: m.offset
              for m in view.lanes.all_marks(Kind.LOG_START)}
    assert starts == {p: low for p, (low, _high) in marks.items()}
    tops = {view.model.lanes[m.lane].partition: m.offset
            for m in view.lanes.all_marks(Kind.HIGH_WATERMARK)}
    assert tops == {p: high for p, (_low, high) in marks.items()}


def _center(m) -> QPointF:
    return QPointF(m.cx, (m.y0 + m.y1) / 2)


def test_hovering_a_lag_gap_explains_it_with_the_live_numbers(app_shell, qtbot):
    view = set_up(app_shell, qtbot)
    view.whole_log()
    lag = next(
        m for m in view.lanes.all_marks(Kind.LAG)
        if view.model.lanes[m.lane].groups[m.group].group_id == "analytics"
        and view.model.lanes[m.lane].partition == 0
    )
    text = view.lanes.explain_at(_center(lag))
    assert text.startswith(
        "lag of analytics on orders-0 = high watermark 300 - committed 250 = 50 records"
    )
    start = view.lanes.all_marks(Kind.LOG_START)[0]
    assert "Log start offset of orders-0 = 40" in view.lanes.explain_at(_center(start))


def test_clicking_a_position_asks_the_browser_for_that_record(app_shell, qtbot):
    view = set_up(app_shell, qtbot)
    view.whole_log()
    lane = view.model.lanes[0]
    box = view.lanes.box(0)
    scale = Scale(view.model.viewport.window(lane.partition), box.left, box.right)
    x = scale.x(123.5)
    y = (box.bar_top + box.bar_bottom) / 2
    with qtbot.waitSignal(view.record_requested, timeout=2000) as blocker:
        qtbot.mouseClick(view.lanes, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    topic, partition, offset = blocker.args
    assert (topic, partition) == (TOPIC, 0)
    assert abs(offset - 123) <= 1 / scale.px_per_offset + 1  # one pixel's worth of offsets
    # Below the log start nothing is there to open.
    with qtbot.assertNotEmitted(view.record_requested):
        assert not view.lanes.click(QPointF(scale.x(10), y))


def test_wheel_zooms_and_dragging_pans_away_from_the_tail(app_shell, qtbot):
    view = set_up(app_shell, qtbot)
    canvas = view.lanes
    assert view.model.viewport.mode == Mode.TAIL and view.follow_button.isChecked()
    span = view.model.viewport.span
    pos = QPointF(canvas.width() / 2, 20)
    wheel = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert view.model.viewport.span < span
    assert view.follow_button.isChecked()  # zooming keeps following the tail

    before = view.model.viewport.window(0)

    def mouse(kind: QEvent.Type, x: float, buttons) -> None:
        p = QPointF(x, 20)
        QApplication.sendEvent(canvas, QMouseEvent(
            kind, p, canvas.mapToGlobal(p), Qt.MouseButton.LeftButton, buttons,
            Qt.KeyboardModifier.NoModifier))

    left = Qt.MouseButton.LeftButton
    mouse(QEvent.Type.MouseButtonPress, 400, left)
    mouse(QEvent.Type.MouseMove, 500, left)
    mouse(QEvent.Type.MouseButtonRelease, 500, Qt.MouseButton.NoButton)
    after = view.model.viewport.window(0)
    assert after[0] < before[0]  # dragged right: towards older records
    assert view.model.viewport.mode == Mode.FIXED
    assert not view.follow_button.isChecked()
    view.follow_button.click()
    assert view.model.viewport.mode == Mode.TAIL


def test_group_ids_reach_the_tooltip_escaped(app_shell, qtbot):
    bootstrap = app_shell.service.bootstrap
    view = set_up(app_shell, qtbot)
    odd = "<b>bold</b>&amp;"
    commit(bootstrap, odd, {1: 10})
    qtbot.waitUntil(lambda: odd in view.model.group_ids, timeout=10_000)
    view.whole_log()
    lane1 = next(i for i, ln in enumerate(view.model.lanes) if ln.partition == 1)
    cursor = next(
        m for m in view.lanes.all_marks(Kind.COMMITTED)
        if m.lane == lane1 and view.model.lanes[m.lane].groups[m.group].group_id == odd
    )
    text = view.lanes.explain_at(_center(cursor))
    assert odd in text  # the words quote the id as it is
    shown = fmt.plain_tooltip(text)
    assert odd not in shown and "&lt;b&gt;bold&lt;/b&gt;&amp;amp;" in shown


def test_the_log_page_renders_legibly_at_1280x720(app_shell, qtbot, tmp_path: Path):
    view = set_up(app_shell, qtbot)
    window = app_shell.window
    window.resize(1280, 720)
    view.follow_tail()
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: len(view.lanes.frame_times) > 0, timeout=5000)
    frames = len(view.lanes.frame_times)
    path = tmp_path / "log.png"
    assert window.grab().save(str(path))
    assert len(view.lanes.frame_times) > frames  # grabbing painted the lanes, timed
    assert path.stat().st_size > 10_000
    # Every lane fits at 1280x720 with the event log docked: no vertical scrolling.
    assert not view.scroll.verticalScrollBar().isVisible()


class UncommittingConsumer(ConsumerThread):
    """A real group member that commits once, at ``commit_at`` on partition 0, then keeps
    reading without committing: what it reads past that is read, not committed."""

    def __init__(self, bootstrap: str, group: str, topic: str, commit_at: int) -> None:
        super().__init__(bootstrap, group, topic, f"{group}-1", **{"enable.auto.commit": False})
        self.commit_at = commit_at
        self.committed = False

    @property
    def delivered(self) -> list[int]:
        return [offset for _partition, offset in self.offsets]

    def on_message(self, consumer: Consumer, msg: Message) -> None:
        if msg.offset() + 1 == self.commit_at:
            consumer.commit(offsets=[TopicPartition(self.topic, 0, self.commit_at)],
                            asynchronous=False)
            self.committed = True


def test_read_position_runs_ahead_of_the_commit_and_is_what_a_restart_delivers_again(
    app_shell, qtbot
):
    shell = app_shell
    bootstrap = shell.service.bootstrap
    create_topic(shell, qtbot, "ticks", partitions=1)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(500):
        p.produce("ticks", value=b"t%d" % i, key=b"k%d" % (i % 3))
    assert p.flush(15) == 0
    shell.window.show_log("ticks")
    view = shell.window.log
    first = UncommittingConsumer(bootstrap, "slowpoke", "ticks", commit_at=100)
    first.start()
    try:
        qtbot.waitUntil(lambda: len(first.delivered) == 500 and first.committed,
                        timeout=30_000)

        def cursor():
            lane = view.model.lane(0)
            return lane.group("slowpoke") if lane is not None else None

        qtbot.waitUntil(
            lambda: cursor() is not None and cursor().committed == 100
            and cursor().read == 500,
            timeout=10_000,
        )
        g = cursor()
        assert g.uncommitted == 400  # read 100..499, committed up to 100
        drawn = {m.kind: m for m in view.lanes.all_marks()
                 if m.group >= 0 and m.kind in (Kind.READ, Kind.COMMITTED, Kind.UNCOMMITTED)}
        assert drawn[Kind.READ].cx > drawn[Kind.COMMITTED].cx
        assert (drawn[Kind.UNCOMMITTED].offset, drawn[Kind.UNCOMMITTED].end) == (100, 500)
        assert first.error is None
    finally:
        first.stop()
    # The member is gone; a new one in the group gets exactly the span marked as read,
    # not committed, again.
    second = UncommittingConsumer(bootstrap, "slowpoke", "ticks", commit_at=-1)
    second.start()
    try:
        qtbot.waitUntil(lambda: len(second.delivered) >= 400, timeout=30_000)
        assert second.delivered[:400] == list(range(g.committed, g.read))
    finally:
        second.stop()
    assert second.error is None


def test_show_log_from_the_topics_view_and_a_produced_record_is_ringed(app_shell, qtbot):
    shell = app_shell
    bootstrap = shell.service.bootstrap
    create_topic(shell, qtbot, "rides", partitions=3)
    delivered: list[tuple[int, int]] = []
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(20):
        p.produce("rides", value=b"r%d" % i, partition=2,
                  on_delivery=lambda err, msg: delivered.append((msg.partition(), msg.offset())))
    assert p.flush(15) == 0
    w = shell.window
    w.show_view("topics")
    shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: w.select_topic("rides"), timeout=5000)
    w.topics.show_log_action.trigger()  # the context menu's and double-click's action
    assert w.current_view() == "log"
    view = w.log
    qtbot.waitUntil(lambda: view.selected_topic() == "rides" and len(view.model.lanes) == 3,
                    timeout=5000)
    partition, offset = delivered[-1]
    w.topics.produced.emit("rides", partition, offset)  # what the produce dialog says
    qtbot.waitUntil(lambda: bool(view.lanes.all_marks(Kind.PRODUCED)), timeout=5000)
    ring = view.lanes.all_marks(Kind.PRODUCED)[0]
    assert view.model.lanes[ring.lane].partition == 2 and ring.offset == offset == 19
    with qtbot.waitSignal(view.record_requested, timeout=2000) as blocker:
        assert view.lanes.click(QPointF(ring.cx, (ring.y0 + ring.y1) / 2))
    assert blocker.args == ["rides", 2, 19]
