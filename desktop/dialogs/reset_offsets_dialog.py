"""Reset a consumer group's committed offsets: earliest, latest, by time, to an offset, or shift.

Contract: like ``kafka-consumer-groups --reset-offsets``, only for a group with no active
members; for an active group the dialog says why and OK stays disabled (and the broker
refuses too, if members joined meanwhile). Results are clamped to each partition's
[log start, high watermark].
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QSpinBox, QStackedWidget, QWidget
from streamscope.core.monitor import GroupSnapshot
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.base import CommandDialog

ALL_TOPICS = "All topics of the group"
KINDS = (
    ("earliest", "Earliest offset (re-read everything retained)"),
    ("latest", "Latest offset (skip everything not yet read)"),
    ("timestamp", "First offset at or after a time"),
    ("offset", "A specific offset"),
    ("shift", "Shift by N (negative re-reads)"),
)


class ResetOffsetsDialog(CommandDialog):
    ok_text = "Reset offsets"

    def __init__(
        self, commands: Commands, group: GroupSnapshot, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Reset offsets of {group.group_id}", parent)
        self.commands = commands
        self.group = group
        self.set_intro(
            "Moves the group's committed offsets. Its consumers resume from there the "
            "next time they join."
        )
        self.topic = QComboBox()
        self.topic.addItem(ALL_TOPICS, None)
        for t in group.topics:
            self.topic.addItem(t, t)
        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.when = QDateTimeEdit(QDateTime.currentDateTime().addSecs(-600))
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.offset = QSpinBox()
        self.offset.setRange(0, 2_147_483_647)
        self.shift = QSpinBox()
        self.shift.setRange(-2_147_483_647, 2_147_483_647)
        self.shift.setValue(-10)
        self.value_stack = QStackedWidget()
        self.value_stack.addWidget(QWidget())  # earliest / latest: nothing to enter
        self.value_stack.addWidget(self.when)
        self.value_stack.addWidget(self.offset)
        self.value_stack.addWidget(self.shift)
        self.form.addRow("Topic", self.topic)
        self.form.addRow("Reset to", self.kind)
        self.form.addRow("", self.value_stack)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.topic.currentIndexChanged.connect(self.revalidate)
        self._kind_changed()

    def _kind_changed(self, *_: object) -> None:
        kind = self.kind.currentData()
        page = {"timestamp": 1, "offset": 2, "shift": 3}.get(kind, 0)
        self.value_stack.setCurrentIndex(page)
        self.value_stack.setVisible(page != 0)
        self.revalidate()

    def validate(self) -> str | None:
        if self.group.members:
            n = len(self.group.members)
            return (
                f"Offsets can only be reset while the group is empty: {self.group.group_id} "
                f"has {n} active member{'s' if n != 1 else ''}. Stop its consumers first."
            )
        if not self.group.topics:
            return f"{self.group.group_id} has no committed offsets to reset."
        return None

    def spec(self) -> tuple[str, int]:
        kind = self.kind.currentData()
        if kind == "timestamp":
            return kind, self.when.dateTime().toMSecsSinceEpoch()
        if kind == "offset":
            return kind, self.offset.value()
        if kind == "shift":
            return kind, self.shift.value()
        return kind, 0

    def run(self) -> None:
        kind, value = self.spec()
        self.commands.reset_offsets(
            self.group.group_id, self.topic.currentData(), kind, value, self.finish
        )
