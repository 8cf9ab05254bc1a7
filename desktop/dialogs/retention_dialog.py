"""Edit a topic's retention (``retention.ms`` and ``retention.bytes``).

Contract: opens on the topic's snapshot (its current retention); sends an incremental
config change; a value equal to the broker default (``Commands.log_defaults``) removes the
override (as ``kafka-configs --delete-config`` would), so the topic follows the broker.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget
from streamscope.core.monitor import TopicSnapshot
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.dialogs.fields import DurationField, SizeField, name_field


class RetentionDialog(CommandDialog):
    ok_text = "Save"

    def __init__(
        self, commands: Commands, topic: TopicSnapshot, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Retention of {topic.name}", parent)
        self.commands = commands
        self.topic = topic.name
        self.defaults = commands.log_defaults
        self.set_intro(
            "Old segments are deleted once every record in them is older than the time "
            "limit, or while a partition is over the size limit."
        )
        self.retention_time = DurationField(topic.retention_ms)
        self.retention_size = SizeField(topic.retention_bytes)
        self.form.addRow("Topic", name_field(topic.name))
        self.form.addRow("Keep records for", self.retention_time)
        self.form.addRow("Keep at most (per partition)", self.retention_size)
        self.retention_time.changed.connect(self.revalidate)
        self.retention_size.changed.connect(self.revalidate)
        self.revalidate()

    def configs(self) -> dict[str, str | None]:
        ms = self.retention_time.value()
        nbytes = self.retention_size.value()
        return {
            "retention.ms": None if ms == self.defaults.retention_ms else str(ms),
            "retention.bytes": None if nbytes == self.defaults.retention_bytes else str(nbytes),
        }

    def run(self) -> None:
        self.commands.alter_topic_configs(self.topic, self.configs(), self.finish)
