"""Topics view and its dialogs as a demo needs them (issue 9, items 4, 7, 9, 10, 13, 14).

The real app on a real broker (``app_shell``), real Kafka clients where a group or traffic
is needed, Qt offscreen, the window at 1280x720 where size matters.
"""

from __future__ import annotations

import dataclasses

from confluent_kafka import Consumer, TopicPartition
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QProxyStyle,
    QSpinBox,
    QStyle,
    QStyleFactory,
    QStyleOptionSpinBox,
)
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.app import Streamscope
from streamscope.desktop.dialogs.create_topic_dialog import CreateTopicDialog
from streamscope.desktop.dialogs.fields import DurationField
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.models.topics_model import TopicsModel
from streamscope.desktop.theme import apply_theme

from tests.desktop.helpers import closed, create_topic, wait_logged
from tests.kafka_clients import ProducerThread, topic_partitions

LONG_NAME = ("rider-locations-eu-west-delivery-partner-gps-updates-v2-" * 2)[:80]


def create_topic_listed(
    shell: Streamscope, qtbot, name: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    """Set-up through the broker service, then wait until the topics table lists it."""
    create_topic(shell, qtbot, name, partitions, configs)
    view = shell.window.topics
    qtbot.waitUntil(lambda: view.model.row_of(name) >= 0, timeout=5000)


def show_topics(shell: Streamscope, qtbot) -> None:
    """The topics view in a window asked to be 1280x720 (whether it fits is item 10's test)."""
    w = shell.window
    w.show_view("topics")
    w.resize(1280, 720)
    qtbot.waitUntil(w.topics.isVisible, timeout=3000)


def with_big_numbers(snap: ClusterSnapshot) -> ClusterSnapshot:
    """The same snapshot with counters a long demo reaches (and then some)."""
    topics = []
    for t in snap.topics:
        parts = tuple(
            dataclasses.replace(
                p,
                log_start_offset=123_456_789,
                high_watermark=987_654_321 + p.index,
                size_bytes=56_789_012_345,
                segment_count=1234,
                records_in=9_876_543_210,
                records_out=19_753_086_420,
            )
            for p in t.partitions
        )
        topics.append(dataclasses.replace(t, partitions=parts))
    return dataclasses.replace(snap, topics=tuple(topics))


def press_enter(qtbot, widget) -> None:
    qtbot.keyClick(widget, Qt.Key.Key_Return)


# -- item 4: delete dialogs default to Cancel and want the name typed -----------------------


def test_delete_topic_needs_the_name_typed_and_enter_never_deletes(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "precious", 2)
    view = app_shell.window.topics
    show_topics(app_shell, qtbot)
    assert view.table.select_key("precious")
    bootstrap = app_shell.service.bootstrap

    dialog = view.open_delete_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    # Enter straight away, wherever the focus is, cancels.
    press_enter(qtbot, dialog.focusWidget() or dialog)
    qtbot.waitUntil(lambda: closed(dialog), timeout=5000)
    assert topic_partitions(bootstrap, "precious") == 2

    dialog = view.open_delete_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).isDefault()
    assert not dialog.ok_button.isDefault() and not dialog.ok_button.autoDefault()
    assert not dialog.ok_button.isEnabled()
    assert dialog.name_field.text() == "precious" and dialog.name_field.isReadOnly()
    dialog.reject()

    dialog = view.open_delete_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    for wrong in ("", "preciou", "Precious", "precious "):
        dialog.confirm.setText(wrong)
        assert not dialog.ok_button.isEnabled(), wrong
        dialog.accept()  # even forced, a wrong name sends nothing
        assert dialog.isVisible()
    # The right name enables Delete, but Enter still means Cancel.
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.confirm, "precious")
    assert dialog.ok_button.isEnabled()
    press_enter(qtbot, dialog.confirm)
    qtbot.waitUntil(lambda: closed(dialog), timeout=2000)
    app_shell.ticker.refresh_now()
    assert topic_partitions(bootstrap, "precious") == 2
    assert view.model.row_of("precious") >= 0

    # Only a click on Delete deletes.
    dialog = view.open_delete_dialog()
    qtbot.keyClicks(dialog.confirm, "precious")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of("precious") < 0, timeout=5000)
    assert topic_partitions(bootstrap, "precious") is None


def test_delete_group_wants_its_name_typed_shown_as_plain_text(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "ledger", 1)
    gid = "<b>audit</b> & co"  # group ids are anything a client chose: never markup
    c = Consumer(
        {"bootstrap.servers": app_shell.service.bootstrap, "group.id": gid,
         "enable.auto.commit": False}
    )
    try:
        c.commit(offsets=[TopicPartition("ledger", 0, 0)], asynchronous=False)
    finally:
        c.close()
    view = app_shell.window.groups
    app_shell.window.show_view("groups")
    qtbot.waitUntil(lambda: view.select_group(gid), timeout=10_000)

    dialog = view.open_delete_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).isDefault()
    assert not dialog.ok_button.isEnabled()
    assert dialog.name_field.text() == gid
    assert "<b>" not in dialog.intro.text() and "audit" not in dialog.intro.text()
    qtbot.keyClicks(dialog.confirm, gid)
    assert dialog.ok_button.isEnabled()
    press_enter(qtbot, dialog.confirm)  # Enter cancels even with the name typed
    qtbot.waitUntil(lambda: closed(dialog), timeout=2000)
    app_shell.ticker.refresh_now()
    assert view.model.row_of(gid) >= 0

    dialog = view.open_delete_dialog()
    qtbot.keyClicks(dialog.confirm, gid)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of(gid) < 0, timeout=5000)


# -- item 9: settings in words, singular where it is one --------------------------------------


def test_topic_details_write_retention_in_words_as_the_table_does(app_shell, qtbot):
    create_topic_listed(
        app_shell, qtbot, "kept", 1, {"retention.ms": "-1", "retention.bytes": str(1 << 30)}
    )
    view = app_shell.window.topics
    show_topics(app_shell, qtbot)
    assert view.table.select_key("kept")
    row = view.model.row_of("kept")
    assert view.model.index(row, TopicsModel.RETENTION).data() == "forever / 1.0 GiB"

    qtbot.waitUntil(lambda: view.detail_info.text() != "", timeout=3000)
    info = view.detail_info.text()
    assert "retention.bytes" not in info and "retention.ms" not in info
    assert "1073741824" not in info and "=-1" not in info
    assert "keeps records forever, at most 1.0 GiB per partition" in info
    assert "set on this topic: retention time, retention size" in info
    assert info.startswith("1 partition · 0 messages · ")
    assert "in 1 segment ·" in info


def test_counts_of_one_are_singular_in_the_event_log_and_the_fields(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "single", 1)
    wait_logged(app_shell, qtbot, "Topic created", "Topic single created with 1 partition")
    log = app_shell.window.event_log
    # One in-process consumer: the rebalance that follows has "1 member", not "1 member(s)".
    app_shell.commands.start_consumers("solo-reader", "single", 1, "range")
    qtbot.waitUntil(
        lambda: any(
            kind == "Rebalance completed" and "solo-reader generation 1: 1 member," in text
            for kind, text in log.row_texts()
        ),
        timeout=15_000,
    )
    app_shell.commands.stop_consumers("solo-reader")

    field = DurationField(60_000)
    qtbot.addWidget(field)  # parentless here (a dialog owns it in the app): closed after
    assert (field.amount.value(), field.unit.currentText()) == (1, "minute")
    field.amount.setValue(2)
    assert field.unit.currentText() == "minutes"
    assert field.value() == 120_000
    day = DurationField(86_400_000)
    qtbot.addWidget(day)
    assert (day.amount.value(), day.unit.currentText()) == (1, "day")


# -- item 7: the partitions table shows every column whole at 1280x720 ----------------------


def test_partition_table_shows_records_in_and_out_whole_at_1280x720(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "wide", 6)
    view = app_shell.window.topics
    show_topics(app_shell, qtbot)
    assert view.table.select_key("wide")
    app_shell.ticker.stop()  # the big numbers below must not be replaced by the next tick
    snap = with_big_numbers(app_shell.ticker.snapshot)
    app_shell.window._on_slow_tick(snap, app_shell.ticker.history)
    table = view.partitions
    model = table.model()
    qtbot.waitUntil(lambda: model.index(0, 7).data() == "19,753,086,420", timeout=2000)

    fm = table.fontMetrics()
    # Every column but placement (leader, replicas, ISR), shown for external clusters only.
    shown = [c for c in range(model.columnCount()) if c not in PartitionsModel.PLACEMENT]

    def cut_cells() -> list[str]:
        """Cells whose text does not fit ("19,753,0…"); Qt keeps 3 px each side of it."""
        return [
            str(model.index(row, col).data())
            for col in shown
            for row in range(model.rowCount())
            if fm.horizontalAdvance(str(model.index(row, col).data()))
            > table.visualRect(model.index(row, col)).width() - 6
        ]

    qtbot.waitUntil(lambda: not cut_cells(), timeout=2000)  # columns fitted to the numbers
    qtbot.waitUntil(lambda: not table.horizontalScrollBar().isVisible(), timeout=2000)
    assert table.horizontalScrollBar().maximum() == 0
    header = table.horizontalHeader()
    assert all(table.isColumnHidden(c) for c in PartitionsModel.PLACEMENT)
    for col in shown:
        # Every column, Records in and out included, lies inside the viewport.
        assert not table.isColumnHidden(col)
        assert header.sectionViewportPosition(col) >= 0
        assert header.sectionViewportPosition(col) + header.sectionSize(col) <= (
            table.viewport().width()
        ), model.headerData(col, Qt.Orientation.Horizontal)
    # The chart keeps room beside it.
    assert view.chart.width() >= 200


# -- item 10: long names elide; the window keeps fitting 1280x720 ---------------------------


def test_a_long_topic_name_elides_and_never_widens_the_window(app_shell, qtbot):
    w = app_shell.window
    show_topics(app_shell, qtbot)
    qtbot.waitUntil(lambda: w.size().toTuple() == (1280, 720), timeout=3000)
    very_long = "x" * 120 + "-" + LONG_NAME  # 201 characters, a legal topic name
    view = w.topics
    for name in (LONG_NAME, very_long):
        create_topic_listed(app_shell, qtbot, name, 3)
        assert view.table.select_key(name)
        app_shell.ticker.refresh_now()
        qtbot.waitUntil(lambda n=name: view.detail_title.text() == n, timeout=3000)
        assert w.minimumSizeHint().width() <= 1280
        assert w.minimumSize().width() <= 1280
        w.resize(1280, 720)
        qtbot.waitUntil(lambda: w.size().toTuple() == (1280, 720), timeout=3000)
    # The longest name is cut, and shown whole as a tooltip, in the title and the table.
    assert view.detail_title.is_elided()
    assert view.detail_title.toolTip() == fmt.plain_tooltip(very_long)
    index = view.table.index_for_key(very_long, TopicsModel.NAME)
    assert view.table.full_text_tooltip(index) == very_long
    # Selecting a short name again: still 1280 wide (the old label never shrank back).
    create_topic_listed(app_shell, qtbot, "short", 1)
    assert view.table.select_key("short")
    app_shell.ticker.refresh_now()
    assert w.minimumSizeHint().width() <= 1280


# -- item 13: a new topic is selected -------------------------------------------------------


def test_a_topic_created_in_the_dialog_is_selected_though_it_sorts_last(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "aaa-first", 1)
    view = app_shell.window.topics
    show_topics(app_shell, qtbot)
    qtbot.waitUntil(lambda: view.selected_topic() == "aaa-first", timeout=3000)
    dialog = view.open_create_dialog()
    qtbot.keyClicks(dialog.name, "zzz-new")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of("zzz-new") >= 0, timeout=5000)
    qtbot.waitUntil(lambda: view.selected_topic() == "zzz-new", timeout=3000)
    qtbot.waitUntil(lambda: view.detail_title.text() == "zzz-new", timeout=3000)


# -- the throughput chart: a fresh scale per topic ----------------------------------------


def test_selecting_an_idle_topic_resets_the_chart_scale_to_start_at_zero(app_shell, qtbot):
    create_topic_listed(app_shell, qtbot, "busy", 1)
    create_topic_listed(app_shell, qtbot, "idle", 1)
    view = app_shell.window.topics
    show_topics(app_shell, qtbot)
    assert view.table.select_key("busy")
    producer = ProducerThread(app_shell.service.bootstrap, "busy")
    producer.start()
    try:
        qtbot.waitUntil(lambda: view.chart.viewRange()[1][1] > 100, timeout=20_000)
    finally:
        producer.stop()
    assert view.table.select_key("idle")
    qtbot.waitUntil(lambda: app_shell.ticker.history.topics.get("idle") is not None, timeout=2000)
    ticks = []
    app_shell.ticker.tick.connect(lambda *_: ticks.append(1))
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=3000)  # the idle topic's zeros drawn
    low, high = view.chart.viewRange()[1]
    assert low == 0 and high <= 10  # 0 to a small round number, not the busy topic's 0-30k


# -- item 14: spin box arrows, text-only dialog buttons, "per partition" --------------------


def _arrow_pixels(spin: QSpinBox, sub: QStyle.SubControl) -> int:
    """Pixels in the middle of a spin button that stand out from the button's background."""
    opt = QStyleOptionSpinBox()
    spin.initStyleOption(opt)
    r = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, opt, sub, spin)
    img = spin.grab().toImage()
    xs = range(r.left() + r.width() // 4, r.right() - r.width() // 4 + 1)
    ys = range(r.top() + r.height() // 4, r.bottom() - r.height() // 4 + 1)
    shades = sorted(QColor(img.pixel(x, y)).lightness() for x in xs for y in ys)
    background = shades[len(shades) // 2]  # an arrow covers less than half of the middle
    return sum(1 for v in shades if abs(v - background) > 60)


def test_spin_boxes_draw_up_and_down_arrows_in_both_themes(qapp, qtbot):
    try:
        for theme in ("light", "dark"):
            apply_theme(qapp, theme)
            spin = QSpinBox()
            qtbot.addWidget(spin)
            spin.setValue(3)
            spin.resize(160, 34)
            spin.show()
            qtbot.waitExposed(spin)
            assert _arrow_pixels(spin, QStyle.SubControl.SC_SpinBoxUp) > 3, theme
            assert _arrow_pixels(spin, QStyle.SubControl.SC_SpinBoxDown) > 3, theme
    finally:
        apply_theme(qapp, "light")


class _PlatformWithButtonIcons(QProxyStyle):
    """Fusion as desktops with icon themes run it: dialog buttons get stock icons."""

    def styleHint(self, hint, option=None, widget=None, data=None):  # noqa: N802 - Qt's name
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 1
        return super().styleHint(hint, option, widget, data)


def test_dialog_buttons_are_text_only_even_where_the_platform_adds_icons(qapp, qtbot):
    try:
        apply_theme(qapp, "light")
        qapp.setStyle(_PlatformWithButtonIcons(QStyleFactory.create("Fusion")))
        dialog = CreateTopicDialog(commands=None)  # type: ignore[arg-type] - never run
        qtbot.addWidget(dialog)
        buttons = dialog.findChild(QDialogButtonBox).buttons()
        assert len(buttons) == 2
        assert all(b.icon().isNull() for b in buttons)
    finally:
        apply_theme(qapp, "light")


def test_create_topic_says_the_size_limit_is_per_partition(qtbot):
    dialog = CreateTopicDialog(commands=None)  # type: ignore[arg-type] - never run
    qtbot.addWidget(dialog)
    label = dialog.form.labelForField(dialog.retention_size)
    assert "per partition" in label.text()
    assert "each partition" in dialog.retention_size.toolTip()
