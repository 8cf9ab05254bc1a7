"""The delete-records dialog (issue 11, "Produce and delete from the GUI"): Kafka's
DeleteRecords from the real app on a real broker, the log start checked by real
confluent-kafka clients (watermarks and ListOffsets), the count stated before deleting.
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import OffsetSpec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from streamscope.desktop.app import Streamscope
from streamscope.desktop.dialogs.delete_records_dialog import (
    ALL,
    DeleteRecordsDialog,
    DeleteRecordsResult,
)
from streamscope.desktop.views.topics_view import TopicsView

from tests.desktop.helpers import create_topic, open_topic_dialog
from tests.kafka_clients import admin, produce

COUNTS = {0: 40, 1: 25, 2: 10}


def topic_with_records(shell: Streamscope, qtbot, name: str) -> None:
    """A topic of three partitions holding 40, 25 and 10 records, listed by the GUI."""
    create_topic(shell, qtbot, name, len(COUNTS))
    for p, n in COUNTS.items():
        produce(shell.service.bootstrap, name, n, partition=p)
    view = shell.window.topics

    def listed() -> bool:
        shell.ticker.refresh_now()
        t = view.snapshot.topic(name) if view.snapshot else None
        return t is not None and t.messages == sum(COUNTS.values())

    qtbot.waitUntil(listed, timeout=10_000)


def open_dialog(shell: Streamscope, qtbot, topic: str) -> DeleteRecordsDialog:
    return open_topic_dialog(shell, qtbot, topic, TopicsView.open_delete_records_dialog)


def watermarks(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in COUNTS}
    finally:
        c.close()


def earliest(bootstrap: str, topic: str) -> dict[int, int]:
    """ListOffsets(EARLIEST) per partition, through a real AdminClient."""
    client = admin(bootstrap)  # kept referenced until its answers are in
    futures = client.list_offsets(
        {TopicPartition(topic, p): OffsetSpec.earliest() for p in COUNTS}, request_timeout=10
    )
    return {tp.partition: f.result(timeout=15).offset for tp, f in futures.items()}


def click_delete(qtbot, dialog: DeleteRecordsDialog) -> DeleteRecordsResult:
    """Click Delete records; the broker's answer, once the dialog closed on it."""
    assert dialog.ok_button.isEnabled(), dialog.hint.text()
    results: list[DeleteRecordsResult] = []
    # Read at once: the view deletes a finished dialog.
    dialog.accepted.connect(lambda: results.append(dialog.result_value))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    return results[0]


def test_delete_before_an_offset_moves_the_log_start_a_real_client_sees(app_shell, qtbot):
    topic_with_records(app_shell, qtbot, "orders")
    bootstrap = app_shell.service.bootstrap
    dialog = open_dialog(app_shell, qtbot, "orders")
    dialog.partition.setCurrentIndex(dialog.partition.findData(1))
    assert dialog.before.value() == 25  # the high watermark: everything, unless told
    assert dialog.range_note.text() == "Log start 0, high watermark 25"
    dialog.before.setValue(20)
    assert dialog.consequence.text() == (
        "20 records will be deleted from orders-1: offsets 0 to 19. This cannot be undone."
    )
    assert click_delete(qtbot, dialog).deleted == 20
    assert watermarks(bootstrap, "orders") == {0: (0, 40), 1: (20, 25), 2: (0, 10)}
    assert earliest(bootstrap, "orders") == {0: 0, 1: 20, 2: 0}

    # Again on the same partition: the count starts from the new log start.
    dialog = open_dialog(app_shell, qtbot, "orders")
    view = app_shell.window.topics
    qtbot.waitUntil(
        lambda: view.snapshot.topic("orders").partitions[1].log_start_offset == 20,
        timeout=5000,
    )
    dialog.partition.setCurrentIndex(dialog.partition.findData(1))
    dialog.update_snapshot()
    assert dialog.range_note.text() == "Log start 20, high watermark 25"
    assert dialog.consequence.text().startswith("5 records will be deleted from orders-1")
    dialog.reject()


def test_delete_the_whole_topic_states_the_sum_and_empties_every_partition(app_shell, qtbot):
    topic_with_records(app_shell, qtbot, "audit")
    bootstrap = app_shell.service.bootstrap
    dialog = open_dialog(app_shell, qtbot, "audit")
    assert dialog.partition.currentData() == ALL
    assert not dialog.before.isEnabled()
    assert dialog.consequence.text() == (
        "75 records will be deleted: every record of audit (3 partitions). "
        "This cannot be undone."
    )
    # A destructive dialog: Cancel is the default, Enter never deletes.
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).isDefault()
    assert not dialog.ok_button.isDefault()
    assert click_delete(qtbot, dialog).deleted == 75
    assert watermarks(bootstrap, "audit") == {0: (40, 40), 1: (25, 25), 2: (10, 10)}
    assert earliest(bootstrap, "audit") == {0: 40, 1: 25, 2: 10}
    # The broker's event feed says so (the event log and the charts' markers read it).
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(
        lambda: sum(e.kind == "records_deleted" for e in app_shell.ticker.snapshot.events) == 3,
        timeout=5000,
    )


def test_an_offset_past_the_high_watermark_or_below_the_log_start_is_refused(app_shell, qtbot):
    topic_with_records(app_shell, qtbot, "ledger")
    dialog = open_dialog(app_shell, qtbot, "ledger")
    dialog.partition.setCurrentIndex(dialog.partition.findData(2))
    dialog.before.setValue(11)
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.text() == (
        "Partition 2 ends at its high watermark 10: records can only be deleted up to it."
    )
    assert not dialog.consequence.isVisible()
    dialog.before.setValue(0)
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.text() == "Nothing to delete: the log already starts there."
    dialog.accept()  # even forced, nothing is sent
    assert dialog.isVisible()
    dialog.reject()
    assert watermarks(app_shell.service.bootstrap, "ledger") == {0: (0, 40), 1: (0, 25),
                                                                2: (0, 10)}
