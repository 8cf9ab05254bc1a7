"""The produce dialog (issue 11, "Produce and delete from the GUI"): the real app on a real
broker, the record read back by a real confluent-kafka consumer, mistakes refused inline.
"""

from __future__ import annotations

import json

import msgpack
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka import Producer as KafkaProducer
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.desktop.app import Streamscope
from streamscope.desktop.dialogs.produce_dialog import EXPLICIT, JSON, MSGPACK, TEXT, ProduceDialog
from streamscope.desktop.views.topics_view import TopicsView

from tests.desktop.helpers import command, create_topic, open_topic_dialog

RIDE = {"rider": "r-7", "lat": 52.37, "lon": 4.89, "ok": True, "stops": [1, 2, 3]}


def topic_listed(shell: Streamscope, qtbot, name: str, partitions: int, configs=None) -> None:
    create_topic(shell, qtbot, name, partitions, configs)
    view = shell.window.topics
    shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: view.model.row_of(name) >= 0, timeout=5000)


def open_dialog(shell: Streamscope, qtbot, topic: str) -> ProduceDialog:
    dialog = open_topic_dialog(shell, qtbot, topic, TopicsView.open_produce_dialog)
    assert dialog.topic.currentText() == topic
    return dialog


def click_produce(qtbot, dialog: ProduceDialog) -> None:
    assert dialog.ok_button.isEnabled(), dialog.error.text() or dialog.hint.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def read_one(bootstrap: str, topic: str, partition: int, offset: int):
    """The record at ``offset``, read by a real consumer (assigned, no group)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        for _ in range(100):
            msg = c.poll(0.2)
            if msg is not None:
                assert msg.error() is None, msg.error()
                return msg
        raise AssertionError(f"no record at {topic}-{partition}@{offset}")
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in range(partitions)]
    finally:
        c.close()


def test_produced_record_reads_back_with_its_key_msgpack_value_and_headers(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "rides", 4)
    dialog = open_dialog(app_shell, qtbot, "rides")
    qtbot.keyClicks(dialog.key, "rider-7")
    dialog.add_header("trace-id", "abc-123")
    dialog.add_header("source", "streamscope")
    dialog.set_value(json.dumps(RIDE), MSGPACK)
    # The view passes it on, for the log view to highlight the record.
    with qtbot.waitSignal(app_shell.window.topics.produced, timeout=10_000) as produced:
        click_produce(qtbot, dialog)
    topic, partition, offset = produced.args
    # Kafka's default partitioner (murmur2), which the dialog also names before sending.
    assert (topic, partition, offset) == ("rides", partition_for_key(b"rider-7", 4), 0)
    assert f"partition {partition} of 4" in dialog.partition_note.text()
    assert dialog.isVisible() and dialog.result_label.isVisible()
    assert dialog.result_label.text() == f"Produced to rides-{partition} at offset 0."

    msg = read_one(app_shell.service.bootstrap, "rides", partition, offset)
    assert msg.key() == b"rider-7"
    assert msg.value() == msgpack.packb(RIDE, use_bin_type=True)
    assert msgpack.unpackb(msg.value()) == RIDE
    assert msg.headers() == [("trace-id", b"abc-123"), ("source", b"streamscope")]

    # A real client with Kafka's default partitioner puts the same key on the same partition.
    delivered = []
    p = KafkaProducer({"bootstrap.servers": app_shell.service.bootstrap,
                       "partitioner": "murmur2_random"})
    p.produce("rides", key=b"rider-7", value=b"x", on_delivery=lambda e, m: delivered.append(m))
    assert p.flush(15) == 0
    assert delivered[0].partition() == partition
    dialog.reject()


def test_invalid_json_is_shown_inline_and_nothing_is_sent(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "events", 2)
    dialog = open_dialog(app_shell, qtbot, "events")
    for value_format in (JSON, MSGPACK):
        dialog.set_value('{"lat": 52.37,, }', value_format)
        assert dialog.error.isVisible()
        assert dialog.error.text().startswith("The value is not valid JSON:")
        assert "line 1, column 15" in dialog.error.text()
        assert not dialog.ok_button.isEnabled()
        dialog.accept()  # even forced, nothing is sent
        assert not dialog.busy and dialog.isVisible()
    # As text the same characters are a fine value: the mistake was only one of format.
    dialog.value_format.setCurrentIndex(dialog.value_format.findData(TEXT))
    assert dialog.ok_button.isEnabled() and not dialog.error.isVisible()
    dialog.reject()
    assert watermarks(app_shell.service.bootstrap, "events", 2) == [(0, 0), (0, 0)]


def test_unknown_topic_and_missing_partition_are_refused_before_sending(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "orders", 3)
    dialog = open_dialog(app_shell, qtbot, "orders")
    dialog.set_value("hello")
    dialog.topic.setCurrentText("<i>no-such-topic</i>")
    assert not dialog.ok_button.isEnabled()
    # Typed names are data: shown as they are, never as markup.
    assert dialog.error.textFormat() == Qt.TextFormat.PlainText
    assert dialog.error.text().startswith("Topic <i>no-such-topic</i> does not exist.")

    dialog.topic.setCurrentText("orders")
    assert dialog.ok_button.isEnabled()
    dialog.partition_mode.setCurrentIndex(dialog.partition_mode.findData(EXPLICIT))
    dialog.partition.setValue(3)
    assert not dialog.ok_button.isEnabled()
    assert dialog.error.text() == "orders has partitions 0 to 2: there is no partition 3."
    dialog.partition.setValue(2)
    with qtbot.waitSignal(dialog.produced, timeout=10_000) as produced:
        click_produce(qtbot, dialog)
    assert produced.args == ["orders", 2, 0]
    dialog.reject()


def test_a_value_over_max_message_bytes_is_refused_and_the_limit_is_exact(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "small", 1, {"max.message.bytes": "1000"})
    dialog = open_dialog(app_shell, qtbot, "small")
    dialog.set_value("x" * 1000)
    assert not dialog.ok_button.isEnabled()
    assert "small accepts at most 1,000 (max.message.bytes)" in dialog.error.text()
    # The largest value whose one-record batch is exactly 1,000 bytes is accepted by the
    # dialog and by the broker alike: the dialog measures what the broker measures.
    n = 1000
    while not dialog.ok_button.isEnabled():
        n -= 1
        dialog.set_value("x" * n)
    with qtbot.waitSignal(dialog.produced, timeout=10_000):
        click_produce(qtbot, dialog)
    dialog.set_value("x" * (n + 1))
    assert not dialog.ok_button.isEnabled()
    dialog.reject()
    assert watermarks(app_shell.service.bootstrap, "small", 1) == [(0, 1)]


def test_a_refusal_after_sending_is_shown_inline_with_the_broker_error(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "doomed", 1)
    view = app_shell.window.topics
    before = app_shell.ticker.snapshot  # the dialog still believes the topic exists
    dialog = ProduceDialog(app_shell.commands, lambda: before, topic="doomed", parent=view)
    dialog.open()
    dialog.set_value("hello")
    command(app_shell, qtbot, lambda cb: app_shell.commands.delete_topic("doomed", cb))
    click_produce(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.isVisible() and dialog.error.isVisible()
    assert dialog.error.text() == "UNKNOWN_TOPIC_OR_PARTITION: Topic 'doomed' does not exist"
    assert dialog.value.toPlainText() == "hello"  # the input is kept
    assert not dialog.result_label.isVisible()
    dialog.reject()
    dialog.deleteLater()
    # Never auto-created by the attempt.
    app_shell.ticker.refresh_now()
    assert app_shell.service.submit(lambda b: "doomed" in b.topics).result(10) is False


def test_a_paced_repeat_shows_progress_and_stop_keeps_what_was_sent(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "paced", 2)
    dialog = open_dialog(app_shell, qtbot, "paced")
    dialog.partition_mode.setCurrentIndex(dialog.partition_mode.findData(EXPLICIT))
    dialog.partition.setValue(1)
    dialog.set_value("tick")
    dialog.count.setValue(100_000)
    dialog.rate.setValue(200)
    click_produce(qtbot, dialog)
    assert dialog.busy and dialog.progress_bar.isVisible()
    assert dialog.cancel_button.text() == "Stop"
    qtbot.waitUntil(lambda: dialog.progress_bar.value() >= 20, timeout=10_000)
    assert "of 100,000 records" in dialog.progress_bar.format()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.isVisible()  # Stop stops; it does not close
    result = dialog.result_value
    assert 20 <= result.sent < 100_000
    assert result.last.partition == 1 and result.last.offset == result.sent - 1
    assert dialog.result_label.text() == (
        f"Stopped after {result.sent:,} of 100,000 records; the last went to paced-1 at "
        f"offset {result.sent - 1:,}."
    )
    assert watermarks(app_shell.service.bootstrap, "paced", 2) == [(0, 0), (0, result.sent)]

    # Unpaced, every record goes, and the result names the last one.
    dialog.count.setValue(2000)
    dialog.rate.setValue(0)
    with qtbot.waitSignal(dialog.produced, timeout=15_000) as produced:
        click_produce(qtbot, dialog)
    assert produced.args == ["paced", 1, result.sent + 1999]
    assert dialog.result_label.text() == (
        f"Produced 2,000 records; the last went to paced-1 at offset {result.sent + 1999:,}."
    )
    dialog.reject()
    assert not dialog.isVisible()


def test_produce_and_delete_records_are_offered_wherever_topics_are_acted_on(app_shell, qtbot):
    topic_listed(app_shell, qtbot, "menus", 3)
    window = app_shell.window
    view = window.topics
    window.show_view("topics")
    assert view.table.select_key("menus")
    wanted = {view.produce_action, view.delete_records_action}
    assert wanted <= set(view.findChild(QToolBar, "ViewToolbar").actions())
    assert wanted <= set(view.topic_menu().actions())
    topics_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Topics")
    assert wanted <= set(topics_menu.actions())
    # A partition's own menu opens the dialogs on that partition.
    actions = {a.text(): a for a in view.partition_menu(2).actions()}
    produce = actions["Produce to partition 2…"]
    delete = actions["Delete records of partition 2…"]
    produce.trigger()
    dialog = view.dialog
    assert isinstance(dialog, ProduceDialog)
    assert dialog.partition_mode.currentData() == EXPLICIT and dialog.partition.value() == 2
    dialog.reject()
    delete.trigger()
    assert view.dialog.chosen_partition() == 2
    view.dialog.reject()
