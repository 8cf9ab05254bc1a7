"""Create a topic: name (checked live against Kafka's rules), partitions, retention, segments.

Contract: only settings that differ from the broker's defaults are sent as topic configs
(``retention.ms``, ``retention.bytes``, ``segment.bytes``), as ``kafka-topics --create``
would. The dialog closes when the broker has created the topic; a refusal
(``TOPIC_ALREADY_EXISTS``, ``INVALID_PARTITIONS``...) is shown inline.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLineEdit, QSpinBox, QWidget
from streamscope.core.broker import MAX_PARTITIONS_PER_TOPIC, validate_topic_name
from streamscope.core.config import LogConfig
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.dialogs.fields import DurationField, SizeField


class CreateTopicDialog(CommandDialog):
    ok_text = "Create topic"

    def __init__(
        self,
        commands: Commands,
        *,
        defaults: LogConfig | None = None,
        existing: Callable[[], set[str]] = set,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Create topic", parent)
        self.commands = commands
        self.defaults = defaults or LogConfig()
        self.existing = existing
        self.set_intro(
            "A topic is a named log split into partitions. Records with the same key go to "
            "the same partition, in order."
        )
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. orders, gps.updates, user-events")
        self.name.setMaxLength(300)  # past Kafka's 249 so the rule's message can show
        self.partitions = QSpinBox()
        self.partitions.setRange(1, MAX_PARTITIONS_PER_TOPIC)
        self.partitions.setValue(3)
        self.retention_time = DurationField(self.defaults.retention_ms)
        self.retention_size = SizeField(self.defaults.retention_bytes)
        self.retention_size.setToolTip(
            "retention.bytes: a limit for each partition, not for the whole topic. A topic "
            "of N partitions can hold N times this much."
        )
        self.segment_size = SizeField(self.defaults.segment_bytes, allow_unlimited=False)
        self.form.addRow("Name", self.name)
        self.form.addRow("Partitions", self.partitions)
        self.form.addRow("Keep records for", self.retention_time)
        self.form.addRow("Keep at most (per partition)", self.retention_size)
        self.form.addRow("Segment size", self.segment_size)
        self.name.textChanged.connect(self.revalidate)
        self.partitions.valueChanged.connect(self.revalidate)
        for field in (self.retention_time, self.retention_size, self.segment_size):
            field.changed.connect(self.revalidate)
        self.revalidate()
        self.name.setFocus()

    def validate(self) -> str | None:
        name = self.name.text()
        if not name:
            return "Enter a topic name."
        reason = validate_topic_name(name)
        if reason:
            return reason
        if name in self.existing():
            return f"Topic '{name}' already exists."
        return None

    def configs(self) -> dict[str, str]:
        d = self.defaults
        out: dict[str, str] = {}
        if self.retention_time.value() != d.retention_ms:
            out["retention.ms"] = str(self.retention_time.value())
        if self.retention_size.value() != d.retention_bytes:
            out["retention.bytes"] = str(self.retention_size.value())
        if self.segment_size.value() != d.segment_bytes:
            out["segment.bytes"] = str(self.segment_size.value())
        return out

    def run(self) -> None:
        self.commands.create_topic(
            self.name.text(), self.partitions.value(), self.configs(), self.finish
        )
