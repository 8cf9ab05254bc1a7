"""Add partitions to a topic (Kafka only ever adds: the count can grow, never shrink).

Contract: the new total must exceed the current count; the broker's refusal
(``INVALID_PARTITIONS``) is shown inline if the topic changed meanwhile.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox, QWidget
from streamscope.core.broker import MAX_PARTITIONS_PER_TOPIC
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.dialogs.fields import name_field


class AddPartitionsDialog(CommandDialog):
    ok_text = "Add partitions"

    def __init__(
        self, commands: Commands, topic: str, current: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Add partitions to {topic}", parent)
        self.commands = commands
        self.topic = topic
        self.current = current
        self.set_intro(
            f"The topic has {fmt.plural(current, 'partition')}. Partitions can be added but "
            "never removed, and keys hash to different partitions afterwards."
        )
        self.total = QSpinBox()
        self.total.setRange(1, MAX_PARTITIONS_PER_TOPIC)
        self.total.setValue(min(current + 1, MAX_PARTITIONS_PER_TOPIC))
        self.form.addRow("Topic", name_field(topic))
        self.form.addRow("New partition count", self.total)
        self.total.valueChanged.connect(self.revalidate)
        self.revalidate()

    def validate(self) -> str | None:
        if self.total.value() <= self.current:
            return f"The new count must be more than {self.current}."
        return None

    def run(self) -> None:
        self.commands.add_partitions(self.topic, self.total.value(), self.finish)
