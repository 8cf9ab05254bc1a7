"""Start N in-process consumers into a new or existing group, reading one topic.

Contract: the consumers run inside the embedded broker's process (on its loop) and join
the group through the real group coordinator, so they rebalance with any external
members; the assignor is the partition-assignment strategy they offer.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

from desktop.commands import Commands
from desktop.dialogs.base import CommandDialog

ASSIGNORS = ("range", "roundrobin", "cooperative-sticky")


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
        assignors: tuple[str, ...] = ASSIGNORS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Start consumers", parent)
        self.commands = commands
        self.set_intro(
            "Consumers in one group share the topic's partitions; each partition is read by "
            "exactly one member. Start more than there are partitions and some sit idle."
        )
        self.group = QComboBox()
        self.group.setEditable(True)
        self.group.addItems(groups)
        self.group.setCurrentText(group or (groups[0] if groups else "demo-group"))
        self.topic = QComboBox()
        self.topic.addItems(topics)
        if topic:
            self.topic.setCurrentText(topic)
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(3)
        self.assignor = QComboBox()
        self.assignor.addItems(list(assignors))
        self.offset_reset = QComboBox()
        self.offset_reset.addItem("the earliest offset (read the backlog)", "earliest")
        self.offset_reset.addItem("the latest offset (only new records)", "latest")
        self.form.addRow("Group", self.group)
        self.form.addRow("Topic", self.topic)
        self.form.addRow("Consumers", self.count)
        self.form.addRow("Assignor", self.assignor)
        self.form.addRow("Without a committed offset, start at", self.offset_reset)
        self.group.currentTextChanged.connect(self.revalidate)
        self.topic.currentTextChanged.connect(self.revalidate)
        self.revalidate()

    def validate(self) -> str | None:
        group = self.group.currentText().strip()
        if not group:
            return "Enter a group id."
        if len(group) > 255:
            return "A group id may be at most 255 characters."
        if not self.topic.currentText():
            return "Create a topic first: consumers need one to read."
        return None

    def run(self) -> None:
        self.commands.start_consumers(
            self.group.currentText().strip(),
            self.topic.currentText(),
            self.count.value(),
            self.assignor.currentText(),
            self.finish,
            offset_reset=self.offset_reset.currentData(),
        )
