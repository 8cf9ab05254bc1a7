"""A partition whose disk fails, or that is offline, is shown: topics view, log view, event log.

Issue 13: "a full disk is not logged or shown anywhere (producers just time out)". The
broker marks the partition (``Partition.storage_error``: the last write or fsync failure;
``Partition.offline``: why it could not be opened) and emits a ``storage`` event; the
snapshot carries both (``PartitionSnapshot.storage_error``/``offline``). Here the real app
runs a real broker; the partition's state is set on the broker's loop as the storage layer
sets it, and the GUI must show it in red, with the reason as text and as a plain tooltip,
and clear it when the disk recovers. The real path first: the file layer
(``core.log.files.FaultyFiles``) fails every write of a partition with ENOSPC under a
real confluent-kafka producer; then an offline partition, set on the broker loop as the
broker sets it when a segment cannot be opened at start-up.
"""

from __future__ import annotations

import errno

from confluent_kafka import Producer
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextDocument
from streamscope.core.broker import Broker
from streamscope.core.log import files
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.models.topics_model import TopicsModel

from tests.desktop.helpers import create_topic

CORRUPT = "corrupt segment 00000000000000000000.log: CRC mismatch at position 0 <b>x</b>"


def shown_text(tooltip: str) -> str:
    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText()


def set_on_loop(shell, qtbot, index: int, *, offline: str) -> None:
    """Mark partition ``orders-index`` offline on the broker loop, as the broker does when
    a partition cannot be opened at start-up."""

    def change(broker: Broker) -> None:
        broker.topics["orders"].partitions[index].offline = offline

    shell.service.submit(change).result(timeout=10)
    shell.ticker.refresh_now()


def storage_cell(model, row: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    return model.index(row, col).data(role)


def test_a_full_disk_under_a_real_producer_is_shown_and_clears_when_space_returns(
    app_shell, qtbot
):
    shell = app_shell
    window = shell.window
    window.resize(1280, 720)
    window.show()
    create_topic(shell, qtbot, "orders", 3)
    window.show_view("topics")
    topics = window.topics
    qtbot.waitUntil(lambda: topics.model.row_of("orders") >= 0, timeout=5000)
    assert topics.table.select_key("orders")
    row = topics.model.row_of("orders")
    assert storage_cell(topics.model, row, TopicsModel.STORAGE) == "ok"
    assert not topics.storage_banner.isVisibleTo(topics)
    bad = QColor(shell.themes.theme.bad)
    faulty = files.FaultyFiles()
    delivered: list = []
    with files.installed(faulty):
        faulty.fail_next("write", errno=errno.ENOSPC, times=None, path_contains="orders-1")
        producer = Producer({
            "bootstrap.servers": shell.ticker.snapshot.broker.bootstrap, "acks": 1,
            "message.timeout.ms": 60_000, "retry.backoff.ms": 100,
        })
        producer.produce("orders", b"kept", partition=1,
                         on_delivery=lambda err, _m: delivered.append(err))

        def marked() -> bool:
            producer.poll(0)
            shell.ticker.refresh_now()
            return "No space left on device" in topics.storage_banner.text()

        qtbot.waitUntil(marked, timeout=20_000)
        # The topics table: the row's name and Storage cell in red, the reason as tooltip.
        assert topics.storage_banner.isVisible()
        assert "orders-1 disk error: " in topics.storage_banner.text()
        assert "No space left on device" in shown_text(topics.storage_banner.toolTip())
        assert storage_cell(topics.model, row, TopicsModel.STORAGE) == "partition 1 disk error"
        assert storage_cell(topics.model, row, TopicsModel.NAME,
                            Qt.ItemDataRole.ForegroundRole) == bad
        tip = shown_text(storage_cell(topics.model, row, TopicsModel.STORAGE,
                                      Qt.ItemDataRole.ToolTipRole))
        assert tip.startswith("Partition 1: disk error: ") and "No space left" in tip
        # The partitions table: partition 1's cell is marked with the reason; 0 is not.
        parts = topics.partitions_model
        qtbot.waitUntil(lambda: parts.problem(parts.row_of(1)) is not None, timeout=5000)
        number = PartitionsModel.PARTITION
        assert storage_cell(parts, parts.row_of(1), number,
                            Qt.ItemDataRole.ForegroundRole) == bad
        assert storage_cell(parts, parts.row_of(0), number,
                            Qt.ItemDataRole.ForegroundRole) is None
        tip = shown_text(storage_cell(parts, parts.row_of(1), number,
                                      Qt.ItemDataRole.ToolTipRole))
        assert tip.startswith("Storage disk error: ") and "No space left" in tip
        # The event log shows the broker's storage event, once.
        qtbot.waitUntil(lambda: any("Storage error on orders-1" in text for kind, text
                                    in window.event_log.row_texts() if kind == "Storage"),
                        timeout=5000)
        # The log view: a red banner over the lanes, and the lane says it.
        window.show_log("orders")
        log = window.log
        qtbot.waitUntil(lambda: log.storage_banner.isVisible(), timeout=5000)
        assert "Partition 1 disk error: " in log.storage_banner.text()
        lane = next(lane for lane in log.model.lanes if lane.partition == 1)
        assert lane.storage_problem is not None and "No space left" in lane.storage_problem
        assert delivered == []  # not acknowledged while the disk is full

        faulty.heal()  # space comes back: the retried record lands, the marks go

        def landed() -> bool:
            producer.poll(0.05)
            shell.ticker.refresh_now()
            return bool(delivered) and not log.storage_banner.isVisible()

        qtbot.waitUntil(landed, timeout=30_000)
    assert delivered == [None]
    producer.flush(5)
    window.show_view("topics")
    qtbot.waitUntil(lambda: not topics.storage_banner.isVisible(), timeout=5000)
    assert storage_cell(topics.model, row, TopicsModel.STORAGE) == "ok"

    # An offline partition (a segment that could not be opened at start-up).
    set_on_loop(shell, qtbot, 2, offline=CORRUPT)
    qtbot.waitUntil(lambda: topics.storage_banner.isVisible(), timeout=5000)
    assert storage_cell(topics.model, row, TopicsModel.STORAGE) == "partition 2 offline"
    tip = storage_cell(topics.model, row, TopicsModel.NAME, Qt.ItemDataRole.ToolTipRole)
    # The reason quotes a file: shown as typed, never as markup.
    assert shown_text(tip) == f"Partition 2: offline: {CORRUPT}"
    assert topics.storage_banner.textFormat() == Qt.TextFormat.PlainText
    assert CORRUPT in topics.storage_banner.text()
