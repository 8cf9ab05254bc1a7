"""Delete records before an offset (Kafka's DeleteRecords), per partition or for a whole topic.

Contract: the user picks one partition and an offset (any from its log start to its high
watermark; the default is the high watermark, i.e. everything), or the whole topic, which
deletes every partition's records up to its high watermark. The dialog says, before
anything happens, how many records go: the sum over the partitions of ``new log start -
current log start``, from the latest snapshot (it follows new snapshots while open). The
command runs :func:`delete_records_before` on the broker loop through
:meth:`BrokerService.call`: the broker's ``delete_records`` per partition (which persists
the new log start, removes whole segments below it and logs a ``records_deleted`` event),
skipping partitions with nothing to delete. For the whole topic the high watermark is
resolved on the broker at that moment (Kafka's offset -1), so records produced meanwhile
go too, as with ``kafka-delete-records``; the result says how many went. In external
mode (issue 15) the same runs through :meth:`Commands.route` as the cluster's DeleteRecords
(:func:`delete_records_external`).

Like every destructive dialog (:class:`ConfirmDialog`), Cancel is the default and Enter
never deletes. A refusal (``OFFSET_OUT_OF_RANGE: ...``) is shown inline; success closes the
dialog, with ``result_value`` the :class:`DeleteRecordsResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget
from streamscope.core.broker import Broker
from streamscope.core.monitor import ClusterSnapshot, TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.broker_service import OnDone
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.confirm_dialog import ConfirmDialog
from streamscope.desktop.dialogs.fields import name_field
from streamscope.desktop.layout import named, plain_label

ALL = -1  # the partition choice that means the whole topic
HIGH_WATERMARK = -1  # Kafka's DeleteRecords offset for "up to the high watermark"


@dataclass(frozen=True, slots=True)
class DeleteRecordsResult:
    topic: str
    # partition -> (log start before, log start after)
    moved: tuple[tuple[int, int, int], ...]

    @property
    def deleted(self) -> int:
        return sum(after - before for _p, before, after in self.moved)


def delete_records_before(
    broker: Broker, topic: str, offsets: dict[int, int]
) -> DeleteRecordsResult:
    """Move each listed partition's log start to its offset (``-1``: the high watermark).

    Runs on the broker loop with no ``await``: every partition is checked and moved in
    one step. A partition whose log start is already there is left alone (no event).
    """
    moved = []
    for index, offset in sorted(offsets.items()):
        start, end = broker.partition_offsets(topic, index)
        target = end if offset == HIGH_WATERMARK else offset
        if 0 <= target <= start:
            moved.append((index, start, start))
            continue
        moved.append((index, start, broker.delete_records(topic, index, target)))
    return DeleteRecordsResult(topic, tuple(moved))


def delete_records_external(
    admin: Any, topic: TopicSnapshot, offsets: dict[int, int]
) -> DeleteRecordsResult:
    """The same on an external cluster (issue 15): its DeleteRecords through ExternalAdmin
    (blocking, on the external service's worker); "before" is the log start the snapshot
    ``topic`` showed."""
    starts = {p.index: p.log_start_offset for p in topic.partitions}
    after = admin.delete_records(topic.name, dict(offsets))
    moved = tuple(
        (index, starts.get(index, 0), max(starts.get(index, 0), after.get(index, 0)))
        for index in sorted(offsets)
    )
    return DeleteRecordsResult(topic.name, moved)


def records_before(t: TopicSnapshot, offsets: dict[int, int]) -> int:
    """How many records deleting before ``offsets`` removes, as ``t`` shows the topic."""
    total = 0
    for p in t.partitions:
        if p.index in offsets:
            offset = offsets[p.index]
            target = p.high_watermark if offset == HIGH_WATERMARK else offset
            total += max(0, min(target, p.high_watermark) - p.log_start_offset)
    return total


class DeleteRecordsDialog(ConfirmDialog):
    """Delete records of ``topic`` (one partition or all) before an offset."""

    _ready = False  # the fields exist (the base class validates while it builds)

    def __init__(
        self,
        commands: Commands,
        topic: TopicSnapshot,
        snapshot: Callable[[], ClusterSnapshot | None],
        *,
        partition: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self.commands = commands
        self.topic = topic
        self._snapshot = snapshot
        super().__init__(
            f"Delete records of {_short(topic.name)}", "", "Delete records", self._send, parent
        )
        self.setObjectName("DeleteRecordsDialog")
        self.setMinimumWidth(520)
        for label in (self.intro, self.hint, self.error):
            label.setTextFormat(Qt.TextFormat.PlainText)  # topic names are data
        self.set_intro(
            "Moves the log start offset forward (Kafka's DeleteRecords): records before it "
            "can no longer be read, and whole segments below it are removed from disk. "
            "A consumer positioned before it gets OFFSET_OUT_OF_RANGE and starts over "
            "where its auto.offset.reset says."
        )
        self.partition = QComboBox()
        self.partition.addItem("All partitions", ALL)
        for p in topic.partitions:
            self.partition.addItem(f"Partition {p.index}", p.index)
        self.before = QSpinBox()
        self.before.setGroupSeparatorShown(True)
        self.before.setRange(0, 2_147_483_647)
        self.range_note = named(plain_label(""), "Muted")
        self.range_note.setTextFormat(Qt.TextFormat.PlainText)
        self.consequence = named(plain_label(""), "ConfirmText")
        self.consequence.setTextFormat(Qt.TextFormat.PlainText)
        self.consequence.setWordWrap(True)
        font = self.consequence.font()
        font.setBold(True)
        self.consequence.setFont(font)
        self.form.addRow("Topic", name_field(topic.name))
        self.form.addRow("Partition", self.partition)
        self.form.addRow("Delete before offset", self.before)
        self.form.addRow("", self.range_note)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.hint), self.consequence)
        if partition is not None:
            self.partition.setCurrentIndex(max(0, self.partition.findData(partition)))
        self.partition.currentIndexChanged.connect(self._partition_changed)
        self.before.valueChanged.connect(self.revalidate)
        self._ready = True
        self._partition_changed()

    # -- state ------------------------------------------------------------------------------

    def _current(self) -> TopicSnapshot | None:
        """The topic as the latest snapshot shows it (None once it is gone)."""
        snap = self._snapshot()
        if snap is None:
            return self.topic
        return snap.topic(self.topic.name)

    def chosen_partition(self) -> int | None:
        data = self.partition.currentData()
        return None if data == ALL else int(data)

    def offsets(self) -> dict[int, int]:
        """What is sent: partition -> delete-before offset (``-1``: the high watermark)."""
        p = self.chosen_partition()
        if p is None:
            t = self._current() or self.topic
            return {q.index: HIGH_WATERMARK for q in t.partitions}
        return {p: self.before.value()}

    def _partition_changed(self, *_: object) -> None:
        p = self.chosen_partition()
        t = self._current() or self.topic
        if p is None:
            self.before.setEnabled(False)
            self.before.setSpecialValueText("each partition's high watermark")
            self.before.setValue(self.before.minimum())
        else:
            part = t.partitions[p]
            self.before.setSpecialValueText("")
            self.before.setEnabled(True)
            self.before.setValue(part.high_watermark)
        self.revalidate()

    def update_snapshot(self) -> None:
        """Re-read the topic (a new snapshot arrived): the count follows the log. Unlike an
        edit, this keeps a refusal on show: the broker's answer still stands."""
        if not self._ready or self.busy:
            return
        reason = self.validate()
        self.hint.setText(reason or "")
        self.hint.setVisible(bool(reason))
        self.ok_button.setEnabled(reason is None)

    # -- validation --------------------------------------------------------------------------

    def validate(self) -> str | None:
        if not self._ready:
            return ""
        t = self._current()
        if t is None:
            self._say("")
            return f"Topic {self.topic.name} no longer exists."
        p = self.chosen_partition()
        if p is None:
            self.range_note.setText("")
            self.range_note.hide()
        else:
            if p >= len(t.partitions):
                return f"{t.name} has no partition {p}."
            part = t.partitions[p]
            self.range_note.setText(
                f"Log start {fmt.count(part.log_start_offset)}, high watermark "
                f"{fmt.count(part.high_watermark)}"
            )
            self.range_note.show()
            offset = self.before.value()
            if offset > part.high_watermark:
                self._say("")
                return (
                    f"Partition {p} ends at its high watermark "
                    f"{fmt.count(part.high_watermark)}: records can only be deleted up to it."
                )
        count = records_before(t, self.offsets())
        if count == 0:
            self._say("")
            return "Nothing to delete: the log already starts there."
        self._say(self._consequence_text(t, count))
        return None

    def _say(self, text: str) -> None:
        self.consequence.setText(text)
        self.consequence.setVisible(bool(text))

    def _consequence_text(self, t: TopicSnapshot, count: int) -> str:
        p = self.chosen_partition()
        what = fmt.plural(count, "record")
        if p is None:
            n = len(t.partitions)
            return (
                f"{what} will be deleted: every record of {t.name} "
                f"({fmt.plural(n, 'partition')}). This cannot be undone."
            )
        return (
            f"{what} will be deleted from {t.name}-{p}: offsets "
            f"{fmt.count(t.partitions[p].log_start_offset)} to "
            f"{fmt.count(self.before.value() - 1)}. This cannot be undone."
        )

    # -- sending ------------------------------------------------------------------------------

    def _send(self, on_done: OnDone) -> None:
        self.commands.route(
            partial(delete_records_before, topic=self.topic.name, offsets=self.offsets()),
            partial(delete_records_external, topic=self.topic, offsets=self.offsets()),
            on_done,
        )


def _short(name: str, limit: int = 60) -> str:
    """A window title is one line: a long name is cut there (it is shown whole below)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"
