"""Start N in-process consumers into a new or existing group, reading one or more topics.

Contract: the consumers run inside the embedded broker's process (on its loop) and join
the group through the real group coordinator, so they rebalance with any external
members; the assignor is the partition-assignment strategy they offer. Topics are ticked
in a list (several per group: the group's partitions are those of every topic). The
processing delay is spent per record before the next poll (the slow-consumer lag demo);
the line under it says what rate one consumer can then keep up with.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.layout import named, plain_label, vbox

ASSIGNORS = ("range", "roundrobin", "cooperative-sticky")
MAX_DELAY_MS = 10_000
# Wide enough for the longest label beside wrapped notes (they would let it shrink).
DIALOG_WIDTH = 620
# Rows of the topic list shown before it scrolls.
TOPIC_ROWS = 5


class StartConsumersDialog(CommandDialog):
    ok_text = "Start consumers"

    def __init__(
        self,
        commands: Commands,
        groups: list[str],
        topics: list[str],
        *,
        group: str | None = None,
        topic: str | None = None,
        selected_topics: Iterable[str] = (),
        assignors: tuple[str, ...] = ASSIGNORS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Start consumers", parent)
        self.setMinimumWidth(DIALOG_WIDTH)
        self.commands = commands
        self.set_intro(
            "Consumers in one group share the partitions of the topics they read; each "
            "partition is read by exactly one member. Start more than there are partitions "
            "and some sit idle."
        )
        self.group = QComboBox()
        self.group.setEditable(True)
        self.group.addItems(groups)
        self.group.setCurrentText(group or (groups[0] if groups else "demo-group"))

        self.topics = named(QListWidget(), "TopicChecklist")
        self.topics.setUniformItemSizes(True)
        wanted = set(selected_topics) | ({topic} if topic else set())
        if not wanted and topics:
            wanted = {topics[0]}
        for name in topics:
            item = QListWidgetItem(name)  # item text is never markup
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if name in wanted else Qt.CheckState.Unchecked
            )
            item.setToolTip(fmt.plain_tooltip(name))
            self.topics.addItem(item)
        row = self.topics.sizeHintForRow(0) if topics else 24
        self.topics.setFixedHeight(row * min(max(len(topics), 1), TOPIC_ROWS) + 8)
        self.topics.itemChanged.connect(self.revalidate)

        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(3)
        self.assignor = QComboBox()
        self.assignor.addItems(list(assignors))
        self.offset_reset = QComboBox()
        self.offset_reset.addItem("the earliest offset (read the backlog)", "earliest")
        self.offset_reset.addItem("the latest offset (only new records)", "latest")

        self.delay = QSpinBox()
        self.delay.setRange(0, MAX_DELAY_MS)
        self.delay.setSingleStep(1)
        self.delay.setSuffix(" ms per record")
        self.delay.setSpecialValueText("none (as fast as it can)")
        self.delay.setValue(0)
        self.delay_note = named(plain_label(""), "Muted")
        self.delay_note.setWordWrap(True)
        delay_box = QWidget()
        dl = vbox(delay_box, spacing=2)
        dl.addWidget(self.delay)
        dl.addWidget(self.delay_note)
        self.delay.valueChanged.connect(self._update_delay_note)

        self.form.addRow("Group", self.group)
        self.form.addRow("Topics", self.topics)
        self.form.addRow("Consumers", self.count)
        self.form.addRow("Assignor", self.assignor)
        self.form.addRow("Processing delay", delay_box)
        self.form.addRow("Without a committed offset, start at", self.offset_reset)
        self.group.currentTextChanged.connect(self.revalidate)
        self._update_delay_note()
        self.revalidate()

    # -- topics --------------------------------------------------------------------------

    def selected_topics(self) -> list[str]:
        return [
            self.topics.item(i).text()
            for i in range(self.topics.count())
            if self.topics.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_selected_topics(self, names: Iterable[str]) -> None:
        wanted = set(names)
        for i in range(self.topics.count()):
            item = self.topics.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked
            )

    # -- processing delay ----------------------------------------------------------------

    def processing_delay_s(self) -> float:
        return self.delay.value() / 1000

    def _update_delay_note(self, *_: object) -> None:
        ms = self.delay.value()
        if ms == 0:
            self.delay_note.setText("Each consumer reads as fast as the broker serves it.")
        else:
            rate = 1000 / ms
            self.delay_note.setText(
                f"Each consumer then handles at most {fmt.short_count(rate)} records a second; "
                "lag builds up when more arrive."
            )

    # -- flow ------------------------------------------------------------------------------

    def validate(self) -> str | None:
        group = self.group.currentText().strip()
        if not group:
            return "Enter a group id."
        if len(group) > 255:
            return "A group id may be at most 255 characters."
        if self.topics.count() == 0:
            return "Create a topic first: consumers need one to read."
        if not self.selected_topics():
            return "Tick at least one topic to read."
        return None

    def run(self) -> None:
        self.commands.start_consumers(
            self.group.currentText().strip(),
            self.selected_topics(),
            self.count.value(),
            self.assignor.currentText(),
            self.finish,
            offset_reset=self.offset_reset.currentData(),
            processing_delay_s=self.processing_delay_s(),
        )
