"""Produce records from the GUI: topic, partition, key, headers, a value, repeated at a rate.

Contract:

* The form: a topic (chosen or typed), the partition (by key with Kafka's default
  partitioner, :mod:`core.clients.partitioner`, or an explicit one), a key (empty: no
  key), headers (a small name/value table; rows left blank are ignored), the value as
  UTF-8 text, as JSON (checked, sent as typed) or as msgpack (entered as JSON, encoded
  with ``msgpack``), and a repeat count with a rate in records per second (0: as fast as
  the broker takes them).
* Validation runs before anything is sent, from the latest snapshot: an unknown topic, a
  partition the topic does not have, a header value without a name, invalid JSON, a value
  msgpack cannot encode, and a record whose batch would pass the topic's
  ``max.message.bytes`` (measured by building the very batch, :func:`core.records.build_batch`)
  are shown inline and the Produce button stays disabled. What the broker refuses after
  sending is shown inline too, as ``ERROR_NAME: message``; the dialog keeps the input.
* Sending runs :func:`produce_records` on the broker loop through
  :meth:`BrokerService.call`, with the in-process :class:`core.clients.producer.Producer`;
  the GUI thread only reads a :class:`ProduceProgress` on a timer (no signal per record).
  A long run shows progress and Stop ends it after the records already handed over.
  In external mode (issue 15) :meth:`Commands.route` runs :func:`produce_records_external`
  instead: the cluster's own partitioner and acknowledgements, through ExternalAdmin.
* The dialog stays open after a send to produce again; the result line names the
  partition and offset of the (last) record, and ``produced(topic, partition, offset)``
  is emitted for views to highlight it. Everything a client typed is shown as plain text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgpack
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from streamscope.core.broker import Broker
from streamscope.core.clients.partitioner import partition_for_key
from streamscope.core.clients.producer import Producer, RecordMetadata
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.monitor import ClusterSnapshot, TopicSnapshot
from streamscope.core.records import build_batch
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands, error_text
from streamscope.desktop.dialogs.base import CommandDialog
from streamscope.desktop.layout import hbox, named, plain_label, vbox
from streamscope.desktop.views.charts import mono_font

TEXT, JSON, MSGPACK = "text", "json", "msgpack"
VALUE_FORMATS = (
    (TEXT, "Text (UTF-8)"),
    (JSON, "JSON"),
    (MSGPACK, "msgpack (entered as JSON)"),
)
BY_KEY, EXPLICIT = "key", "explicit"
CLIENT_ID = "streamscope-gui"
MAX_COUNT = 1_000_000
MAX_RATE = 100_000
# Records handed to the producer per step on the broker loop: the loop serves clients in
# between, and Stop takes effect at the next step.
CHUNK = 500
# Longest sleep between steps of a paced run, so Stop is never slow to take effect.
STEP_S = 0.05
PROGRESS_MS = 100  # how often the GUI reads the progress
DIALOG_WIDTH = 620
HEADER_ROWS = 3  # header rows shown before the table scrolls
VALUE_LINES = 10  # lines of the value editor at the dialog's default size
NO_TOPIC = "Choose a topic to produce to."


# -- what is sent, and the part that runs on the broker loop ------------------------------


@dataclass(frozen=True, slots=True)
class ProduceRequest:
    topic: str
    partition: int | None  # None: Kafka's default partitioner (by key; sticky without one)
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    count: int = 1
    rate: float = 0.0  # records per second; 0: as fast as the broker takes them


@dataclass(frozen=True, slots=True)
class ProduceResult:
    sent: int
    total: int
    last: RecordMetadata | None  # the last record produced, if any was

    @property
    def stopped(self) -> bool:
        return self.sent < self.total


@dataclass(slots=True)
class ProduceProgress:
    """Shared by the broker loop (writes ``sent`` and ``last``) and the GUI thread (reads
    them, and asks to stop: :meth:`stop`).

    Plain attributes replaced whole, so a reader sees a value, never half of one.
    """

    total: int
    sent: int = 0
    last: RecordMetadata | None = None
    stopping: bool = False

    def stop(self) -> None:
        self.stopping = True


async def produce_records(
    broker: Broker, request: ProduceRequest, progress: ProduceProgress
) -> ProduceResult:
    """Produce ``request`` with the in-process producer (on the broker loop).

    A topic that does not exist is refused (UNKNOWN_TOPIC_OR_PARTITION), never
    auto-created: topics are created on purpose from the GUI. Paced runs send each record
    at its time (``i / rate`` seconds after the start); unpaced ones in steps of
    :data:`CHUNK`. A refusal fails the run with the broker's error, saying how many
    records went before it.
    """
    topic = request.topic
    if broker.topic_partition_count(topic) is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {topic!r} does not exist")
    limit = broker.get_topic(topic).log_config.max_message_bytes
    # Batches stay well under the topic's limit, so only a record too large on its own
    # (which validation already refuses) can ever meet MESSAGE_TOO_LARGE.
    producer = Producer(
        broker, client_id=CLIENT_ID, linger_ms=0,
        batch_size=max(1, min(16384, limit // 4)), max_batch_records=CHUNK,
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    total, rate = request.count, request.rate
    headers = list(request.headers)
    sent = 0
    last: RecordMetadata | None = None
    try:
        while sent < total and not progress.stopping:
            due = total if rate <= 0 else int((loop.time() - start) * rate) + 1
            due = min(due, total, sent + CHUNK)
            if due > sent:
                futures = [
                    await producer.send(
                        topic, request.value, request.key,
                        partition=request.partition, headers=headers,
                    )
                    for _ in range(sent, due)
                ]
                await producer.flush()
                for fut in futures:
                    fut.result()  # the broker's refusal, if the batch was refused
                last = futures[-1].result()
                sent = due
                progress.last = last
                progress.sent = sent
            if sent < total:
                wait = start + sent / rate - loop.time() if rate > 0 else 0.0
                await asyncio.sleep(min(max(wait, 0.0), STEP_S))
    except KafkaError as exc:
        if sent:
            raise KafkaError(
                exc.code, f"{exc.message} ({sent:,} of {total:,} records were produced first)"
            ) from exc
        raise
    finally:
        await producer.close()
    return ProduceResult(sent, total, last)


def produce_records_external(
    admin: Any, request: ProduceRequest, progress: ProduceProgress
) -> ProduceResult:
    """Produce ``request`` to an external cluster through its ExternalAdmin (issue 15).

    Blocking, on the external service's worker thread: one record at a time, each
    acknowledged before the next (a GUI's few records, not a load test), paced as
    :func:`produce_records` paces them; the cluster's refusal fails the run saying how
    many records went before it.
    """
    import time

    start = time.monotonic()
    total, rate = request.count, request.rate
    sent = 0
    last: RecordMetadata | None = None
    while sent < total and not progress.stopping:
        if rate > 0:
            wait = start + sent / rate - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, STEP_S))
                continue
        try:
            partition, offset = admin.produce(
                request.topic, request.value, key=request.key, partition=request.partition,
                headers=request.headers,
            )
        except Exception as exc:
            if sent:
                raise type(exc)(f"{exc} ({sent:,} of {total:,} records were produced first)"
                                ) from exc
            raise
        sent += 1
        last = RecordMetadata(request.topic, partition, offset, -1)
        progress.last = last
        progress.sent = sent
    return ProduceResult(sent, total, last)


# -- encoding the form ----------------------------------------------------------------------


class InvalidValue(ValueError):
    """The value cannot be encoded in the chosen format; the message says why."""


def encode_value(text: str, value_format: str) -> bytes:
    """The bytes of a value typed as ``text`` in ``value_format`` (see the module doc)."""
    if value_format == TEXT:
        return text.encode("utf-8")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidValue(
            f"The value is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    if value_format == JSON:
        return text.encode("utf-8")
    try:
        return msgpack.packb(parsed, use_bin_type=True)
    except (OverflowError, ValueError, TypeError) as exc:
        raise InvalidValue(f"msgpack cannot encode this value: {exc}.") from exc


def batch_size(
    key: bytes | None, value: bytes, headers: tuple[tuple[str, bytes], ...]
) -> int:
    """The size of a one-record batch of this record: what max.message.bytes limits."""
    return len(build_batch([(key, value, list(headers))], base_timestamp=0))


def max_message_bytes(topic: TopicSnapshot, default: int) -> int:
    """The topic's effective max.message.bytes: its override, else the broker's default."""
    for name, value in topic.configs:
        if name == "max.message.bytes":
            try:
                return int(value)
            except ValueError:
                break
    return default


class ProduceDialog(CommandDialog):
    ok_text = "Produce"
    produced = Signal(str, int, int)  # topic, partition, offset of the (last) record

    # Until the fields exist (the base class validates while it builds), nothing is valid.
    _ready = False

    def __init__(
        self,
        commands: Commands,
        snapshot: Callable[[], ClusterSnapshot | None],
        *,
        topic: str | None = None,
        partition: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Produce records", parent)
        self.setObjectName("ProduceDialog")
        self.setMinimumWidth(DIALOG_WIDTH)
        self.commands = commands
        self._snapshot = snapshot
        self._progress: ProduceProgress | None = None
        for label in (self.intro, self.hint, self.error):
            label.setTextFormat(Qt.TextFormat.PlainText)  # names and values are data
        self.cancel_button: QPushButton = self.buttons.button(
            QDialogButtonBox.StandardButton.Cancel
        )
        self.cancel_button.setText("Close")

        snap = snapshot()
        names = [t.name for t in snap.topics] if snap is not None else []
        self.topic = QComboBox()
        self.topic.setEditable(True)
        self.topic.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.topic.addItems(names)
        self.topic.setCurrentText(topic if topic is not None else (names[0] if names else ""))

        self.partition_mode = QComboBox()
        self.partition_mode.addItem("By key (Kafka's default partitioner)", BY_KEY)
        self.partition_mode.addItem("Explicit partition", EXPLICIT)
        self.partition = QSpinBox()
        self.partition.setRange(0, 99_999)
        self.partition.setPrefix("partition ")
        self.partition.hide()
        self.partition_note = named(plain_label(""), "Muted")
        self.partition_note.setTextFormat(Qt.TextFormat.PlainText)
        self.partition_note.setWordWrap(True)
        partition_box = QWidget()
        pl = vbox(partition_box, spacing=2)
        partition_row = QWidget()
        row = hbox(partition_row, spacing=6)
        row.addWidget(self.partition_mode, 1)
        row.addWidget(self.partition)
        pl.addWidget(partition_row)
        pl.addWidget(self.partition_note)

        self.key = QLineEdit()
        self.key.setPlaceholderText("empty: no key (null)")

        self.headers = named(QTableWidget(0, 2), "HeadersTable")
        self.headers.setHorizontalHeaderLabels(["Name", "Value"])
        self.headers.verticalHeader().hide()
        self.headers.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.headers.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        row_h = self.headers.verticalHeader().defaultSectionSize()
        self.headers.setFixedHeight(
            self.headers.horizontalHeader().sizeHint().height() + HEADER_ROWS * row_h + 4
        )
        self.add_header_button = QPushButton("Add header")
        self.remove_header_button = QPushButton("Remove")
        headers_box = QWidget()
        hl = vbox(headers_box, spacing=4)
        hl.addWidget(self.headers)
        header_buttons = QWidget()
        buttons = hbox(header_buttons, spacing=6)
        buttons.addWidget(self.add_header_button)
        buttons.addWidget(self.remove_header_button)
        buttons.addStretch(1)
        hl.addWidget(header_buttons)

        self.value_format = QComboBox()
        for key, label in VALUE_FORMATS:
            self.value_format.addItem(label, key)
        self.value = QPlainTextEdit()
        self.value.setFont(mono_font())
        self.value.setTabChangesFocus(True)
        self.value.setPlaceholderText('{"rider": "r-7", "lat": 52.37, "lon": 4.89}')
        # The value is what a user writes most: at least VALUE_LINES lines, and every
        # pixel the dialog gains when enlarged (the form's stretch, below).
        self.value.ensurePolished()  # the style sheet's font and frame, measured below
        self.value.setMinimumHeight(
            self.value.fontMetrics().lineSpacing() * VALUE_LINES
            + 2 * self.value.frameWidth() + 2 * int(self.value.document().documentMargin())
        )
        self.value.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.count = QSpinBox()
        self.count.setRange(1, MAX_COUNT)
        self.count.setGroupSeparatorShown(True)
        self.rate = QSpinBox()
        self.rate.setRange(0, MAX_RATE)
        self.rate.setGroupSeparatorShown(True)
        self.rate.setSuffix(" records/s")
        self.rate.setSpecialValueText("as fast as possible")
        repeat_box = QWidget()
        repeat = hbox(repeat_box, spacing=6)
        repeat.addWidget(self.count, 1)
        repeat.addWidget(plain_label("at"))
        repeat.addWidget(self.rate, 1)

        self.form.addRow("Topic", self.topic)
        self.form.addRow("Key", self.key)
        self.form.addRow("Partition", partition_box)
        self.form.addRow("Headers", headers_box)
        self.form.addRow("Value as", self.value_format)
        self.form.addRow("Value", self.value)
        self.form.addRow("Repeat", repeat_box)

        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.result_label = named(plain_label(""), "ResultLabel")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        bold = self.result_label.font()
        bold.setBold(True)
        self.result_label.setFont(bold)
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        layout = self.layout()
        at = layout.indexOf(self.error) + 1
        layout.insertWidget(at, self.progress_bar)
        layout.insertWidget(at + 1, self.result_label)
        # The form (so its value editor) takes the height the dialog gains, not the
        # spacer the base class puts above the buttons.
        assert isinstance(layout, QBoxLayout)
        for i in range(layout.count()):
            layout.setStretch(i, 1 if layout.itemAt(i).layout() is self.form else 0)
        for box in (partition_box, headers_box, repeat_box):  # they keep their height
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._show_progress)

        self.count.valueChanged.connect(self._name_count)
        for edited in (
            self.topic.currentTextChanged,
            self.partition.valueChanged,
            self.key.textChanged,
            self.headers.itemChanged,
            self.value_format.currentIndexChanged,
            self.value.textChanged,
            self.count.valueChanged,
        ):
            edited.connect(self.revalidate)
        self.partition_mode.currentIndexChanged.connect(self._mode_changed)
        self.add_header_button.clicked.connect(lambda: self.add_header())
        self.remove_header_button.clicked.connect(self._remove_header)
        self._name_count()
        if partition is not None:
            self.partition.setValue(partition)
            self.partition_mode.setCurrentIndex(self.partition_mode.findData(EXPLICIT))
        self._ready = True
        self.revalidate()
        self.value.setFocus()

    # -- fields ----------------------------------------------------------------------------

    def add_header(self, name: str = "", value: str = "") -> None:
        row = self.headers.rowCount()
        self.headers.insertRow(row)
        self.headers.setItem(row, 0, QTableWidgetItem(name))  # item text is never markup
        self.headers.setItem(row, 1, QTableWidgetItem(value))
        if not name:
            self.headers.setCurrentCell(row, 0)
        self.revalidate()

    def _remove_header(self) -> None:
        row = self.headers.currentRow()
        if row < 0:
            row = self.headers.rowCount() - 1
        if row >= 0:
            self.headers.removeRow(row)
            self.revalidate()

    def header_rows(self) -> list[tuple[str, str]]:
        out = []
        for row in range(self.headers.rowCount()):
            cells = [self.headers.item(row, col) for col in (0, 1)]
            out.append(tuple(c.text() if c is not None else "" for c in cells))
        return out  # type: ignore[return-value]

    def set_value(self, text: str, value_format: str = TEXT) -> None:
        self.value_format.setCurrentIndex(self.value_format.findData(value_format))
        self.value.setPlainText(text)

    def _mode_changed(self, *_: object) -> None:
        self.partition.setVisible(self.partition_mode.currentData() == EXPLICIT)
        self.revalidate()

    def _name_count(self, *_: object) -> None:
        self.count.setSuffix(" record" if self.count.value() == 1 else " records")

    def _topic(self) -> TopicSnapshot | None:
        snap = self._snapshot()
        return snap.topic(self.topic.currentText().strip()) if snap is not None else None

    # -- validation --------------------------------------------------------------------------

    def _build(self) -> ProduceRequest | str:
        """The request the form describes, or why there is none."""
        name = self.topic.currentText().strip()
        if not name:
            return NO_TOPIC
        t = self._topic()
        if t is None:
            return f"Topic {name} does not exist. Create it first (Topics, Create topic…)."
        partition: int | None = None
        if self.partition_mode.currentData() == EXPLICIT:
            partition = self.partition.value()
            if partition >= t.partition_count:
                return (
                    f"{name} has partitions 0 to {t.partition_count - 1}: there is no "
                    f"partition {partition}."
                )
        headers = []
        for i, (hname, hvalue) in enumerate(self.header_rows(), 1):
            if not hname and not hvalue:
                continue  # a blank row: nothing to send
            if not hname:
                return f"Header {i} has a value but no name."
            headers.append((hname, hvalue.encode("utf-8")))
        try:
            value = encode_value(self.value.toPlainText(), self.value_format.currentData())
        except InvalidValue as exc:
            return str(exc)
        key_text = self.key.text()
        key = key_text.encode("utf-8") if key_text else None
        limit = max_message_bytes(t, self.commands.log_defaults.max_message_bytes)
        size = batch_size(key, value, tuple(headers))
        if size > limit:
            return (
                f"The record is {size:,} bytes as a record batch; {name} accepts at most "
                f"{limit:,} (max.message.bytes)."
            )
        return ProduceRequest(
            name, partition, key, value, tuple(headers), self.count.value(),
            float(self.rate.value()),
        )

    def request(self) -> ProduceRequest | None:
        built = self._build()
        return built if isinstance(built, ProduceRequest) else None

    def validate(self) -> str | None:
        if not self._ready:
            return ""
        built = self._build()
        self._update_partition_note()
        return built if isinstance(built, str) else None

    def revalidate(self, *_: object) -> None:
        """As the base class does, but a mistake in the input (invalid JSON, an unknown
        topic, a partition out of range, a value too large) is shown as an error, not as
        a quiet hint: on a projector a grey line is missed."""
        super().revalidate()
        if not self._ready:
            return
        self.result_label.hide()  # the input changed: the last result is history
        reason = self.hint.text()
        if self.hint.isVisible() and reason != NO_TOPIC:
            self.hint.hide()
            self.show_error(reason)

    def _update_partition_note(self) -> None:
        t = self._topic()
        text = ""
        if self.partition_mode.currentData() == BY_KEY and t is not None:
            key_text = self.key.text()
            if key_text:
                p = partition_for_key(key_text.encode("utf-8"), t.partition_count)
                text = (
                    f"Key \"{key_text}\" goes to partition {p} of {t.partition_count} "
                    "(the murmur2 hash of the key)."
                )
            else:
                text = "No key: the sticky partitioner picks a partition per batch."
        self.partition_note.setText(text)
        self.partition_note.setVisible(bool(text))

    # -- sending -------------------------------------------------------------------------------

    def run(self) -> None:
        request = self.request()
        if request is None:  # validate() passed a moment ago; a snapshot changed since
            raise KafkaError(ErrorCode.INVALID_REQUEST, self.validate() or "invalid input")
        progress = self._progress = ProduceProgress(request.count)
        self.result_label.hide()
        self.cancel_button.setText("Stop")
        if request.count > 1:
            self.progress_bar.setRange(0, request.count)
            self._show_progress()
            self.progress_bar.show()
            self._timer.start()
        self.commands.route(
            partial(produce_records, request=request, progress=progress),
            partial(produce_records_external, request=request, progress=progress),
            self.finish,
        )

    def _show_progress(self) -> None:
        progress = self._progress
        if progress is not None:
            self.progress_bar.setValue(progress.sent)
            self.progress_bar.setFormat(
                f"{fmt.count(progress.sent)} of {fmt.count(progress.total)} records"
            )

    @property
    def sending(self) -> bool:
        return self.busy

    def stop(self) -> None:
        """Stop a run in progress; the records already handed over are produced."""
        if self._progress is not None and self.busy:
            self._progress.stop()
            self.cancel_button.setText("Stopping…")
            self.cancel_button.setEnabled(False)

    def reject(self) -> None:
        # Close while sending means Stop: the dialog stays until the broker answers, so
        # the answer never arrives at a dialog that is gone.
        if self.busy:
            self.stop()
            return
        super().reject()

    def finish(self, result: object, error: BaseException | None) -> None:
        self.busy = False
        self._timer.stop()
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)
        self.ok_button.setEnabled(self.validate() is None)
        if self.progress_bar.isVisible():
            self._show_progress()
        if error is not None:
            self.show_error(error_text(error))
            self.result_value = None
            return
        assert isinstance(result, ProduceResult)
        self.result_value = result
        self.result_label.setText(result_text(result))
        self.result_label.show()
        if result.last is not None:
            last = result.last
            self.produced.emit(last.topic, last.partition, last.offset)


def result_text(result: ProduceResult) -> str:
    """The result line: where the (last) record went, and how many went."""
    last = result.last
    if last is None:
        return "Stopped before any record was produced."
    where = f"{last.topic}-{last.partition} at offset {fmt.count(last.offset)}"
    if result.total == 1:
        return f"Produced to {where}."
    if result.stopped:
        return (
            f"Stopped after {fmt.count(result.sent)} of {fmt.count(result.total)} records; "
            f"the last went to {where}."
        )
    return f"Produced {fmt.count(result.sent)} records; the last went to {where}."
