"""The Messages page's two control rows: where to read (seek) and what to match (filter).

Contract:

* :class:`BrowserControls` builds :attr:`~BrowserControls.seek_row` (topic, partition
  or all, start: Latest / Earliest / Offset / Time, Read, Next page, Live tail, Export
  menu) and :attr:`~BrowserControls.filter_row` (a labelled "Filter by" combo: text in
  key or value / key / header ``name`` or ``name=value``, the field whose placeholder says
  which, Scan, and a scan's progress bar, count and Cancel, shown only while scanning).
  The page lays the rows out; it owns no broker access and starts no read itself.
* It answers what is picked: :meth:`~BrowserControls.topic`, :meth:`~BrowserControls.
  partition` (None: all), :meth:`~BrowserControls.start` (a time is resolved by the
  broker's ListOffsets), :meth:`~BrowserControls.record_filter`. The topic list comes
  from snapshots (:meth:`~BrowserControls.update_topics`); a topic picked by
  :meth:`~BrowserControls.set_topic` before any snapshot lists it stays listed until one
  does, or until another topic is picked.
* What the user asks for is a signal: ``read_requested`` (Read, Enter, Scan, another
  topic, partition or Latest/Earliest), ``next_requested``, ``tail_toggled(bool)``,
  ``export_requested(bool selected_only)``, ``cancel_requested``, ``filter_cleared``
  (the field was emptied). ``topics_filled(bool)`` follows each refill of the topic
  list, True when the picked topic changed with it.
* Topic names are client data: combo items only (plain text), no tooltips built from them.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QObject, Qt, Signal
from PySide6.QtGui import QAction, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QWidget,
)
from streamscope.core.browse.reader import RecordFilter, ScanProgress, Start, StartKind
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, plain_label
from streamscope.desktop.theme import icon

ALL = -1  # the partition combo's "All partitions"
STARTS = (
    ("Latest", StartKind.LATEST),
    ("Earliest", StartKind.EARLIEST),
    ("Offset", StartKind.OFFSET),
    ("Time", StartKind.TIMESTAMP),
)
FILTER_MODES = (("Text", "text"), ("Key", "key"), ("Header", "header"))
_FILTER_HINTS = {
    "text": "text in the key or the value (any case): Enter scans the topic",
    "key": "text in the key: Enter scans the topic",
    "header": "a header name, or name=value: Enter scans the topic",
}
_BY_MIN_LENGTH = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon


class BrowserControls(QObject):
    read_requested = Signal()
    next_requested = Signal()
    tail_toggled = Signal(bool)
    export_requested = Signal(bool)
    cancel_requested = Signal()
    filter_cleared = Signal()
    topics_filled = Signal(bool)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._partitions: dict[str, int] = {}
        # A topic picked (set_topic) before any snapshot listed it: kept in the picker
        # until one does, or until another topic is picked.
        self._wanted: tuple[str, int] | None = None
        self.seek_row = self._build_seek_row(parent)
        self.filter_row = self._build_filter_row()
        self._start_changed()
        self.show_progress(False)

    # -- construction ------------------------------------------------------------------

    def _build_seek_row(self, parent: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.topic_combo = QComboBox()
        self.topic_combo.setMinimumWidth(160)
        self.topic_combo.setMaximumWidth(260)
        self.topic_combo.setSizeAdjustPolicy(_BY_MIN_LENGTH)
        self.topic_combo.setMinimumContentsLength(14)
        self.topic_combo.setToolTip("Topic")
        self.partition_combo = QComboBox()
        self.partition_combo.setMinimumContentsLength(12)
        self.partition_combo.setSizeAdjustPolicy(_BY_MIN_LENGTH)
        self.partition_combo.setToolTip("Partition (all partitions: merged by timestamp)")
        self.start_combo = QComboBox()
        for text, kind in STARTS:
            self.start_combo.addItem(text, kind)
        self.start_combo.setToolTip("Where the page starts")
        self.offset_edit = QLineEdit()
        self.offset_edit.setPlaceholderText("offset")
        self.offset_edit.setValidator(QRegularExpressionValidator(r"\d{1,18}"))
        self.offset_edit.setFixedWidth(110)
        self.time_edit = QDateTimeEdit(QDateTime.currentDateTime().addSecs(-3600))
        self.time_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss.zzz")
        self.time_edit.setCalendarPopup(True)
        self.time_edit.setToolTip("The first record at or after this time (ListOffsets)")
        self.go_button = QPushButton("Read")
        self.go_button.setToolTip("Read the page from this position")
        self.next_button = QPushButton("Next page")
        # Its text says what a click does (the themes draw no checked state).
        self.tail_button = QPushButton(icon("play"), "Live tail")
        self.tail_button.setCheckable(True)
        self.tail_button.setToolTip("Follow new records as they arrive")
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Write the shown or the selected records to a file")
        menu = QMenu(self.export_button)
        self.export_shown_action = QAction("Shown records…", parent)
        self.export_selected_action = QAction("Selected records…", parent)
        menu.addAction(self.export_shown_action)
        menu.addAction(self.export_selected_action)
        self.export_button.setMenu(menu)

        for label, widget in (("Topic", self.topic_combo), ("", self.partition_combo),
                              ("From", self.start_combo)):
            if label:
                row.addWidget(plain_label(label))
            row.addWidget(widget)
        row.addWidget(self.offset_edit)
        row.addWidget(self.time_edit)
        row.addWidget(self.go_button)
        row.addWidget(self.next_button)
        row.addSpacing(8)
        row.addWidget(self.tail_button)
        row.addStretch(1)
        row.addWidget(self.export_button)

        self.topic_combo.activated.connect(lambda *_: self._topic_picked())
        self.partition_combo.activated.connect(lambda *_: self.read_requested.emit())
        self.start_combo.activated.connect(lambda *_: self._start_picked())
        self.offset_edit.returnPressed.connect(self.read_requested)
        self.go_button.clicked.connect(lambda *_: self.read_requested.emit())
        self.next_button.clicked.connect(lambda *_: self.next_requested.emit())
        self.tail_button.toggled.connect(self.tail_toggled)
        self.export_shown_action.triggered.connect(lambda: self.export_requested.emit(False))
        self.export_selected_action.triggered.connect(lambda: self.export_requested.emit(True))
        return row

    def _build_filter_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.filter_mode = QComboBox()
        for text, mode in FILTER_MODES:
            self.filter_mode.addItem(text, mode)
        self.filter_mode.setToolTip(
            "Text: in key or value (any case). Key: in the key. Header: name, or name=value"
        )
        self.filter_edit = QLineEdit()
        self.filter_edit.setClearButtonEnabled(True)
        self.scan_button = QPushButton("Scan")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.progress_label = named(plain_label(""), "Muted")
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.filter_label = plain_label("Filter by")
        self.filter_label.setBuddy(self.filter_mode)
        row.addWidget(self.filter_label)
        row.addWidget(self.filter_mode)
        row.addWidget(self.filter_edit, 1)
        self._filter_mode_changed()
        self.filter_mode.currentIndexChanged.connect(self._filter_mode_changed)
        row.addWidget(self.scan_button)
        row.addWidget(self.progress)
        row.addWidget(self.progress_label)
        row.addWidget(self.cancel_button)
        self.filter_edit.returnPressed.connect(self.read_requested)
        self.filter_edit.textChanged.connect(
            lambda text: self.filter_cleared.emit() if not text else None
        )
        self.scan_button.clicked.connect(lambda *_: self.read_requested.emit())
        self.cancel_button.clicked.connect(lambda *_: self.cancel_requested.emit())
        return row

    # -- what is picked ----------------------------------------------------------------

    def topics(self) -> list[str]:
        """The topics the picker lists (from the latest snapshot)."""
        return sorted(self._partitions)

    def topic(self) -> str | None:
        name = self.topic_combo.currentData()
        return str(name) if name is not None else None

    def partition(self) -> int | None:
        """The picked partition, or None for all partitions."""
        p = self.partition_combo.currentData()
        return None if p is None or p == ALL else int(p)

    def start(self) -> Start:
        kind = StartKind(self.start_combo.currentData())
        if kind is StartKind.OFFSET:
            text = self.offset_edit.text()
            return Start.at_offset(int(text) if text else 0)
        if kind is StartKind.TIMESTAMP:
            return Start.at_time(self.time_edit.dateTime().toMSecsSinceEpoch())
        return Start(kind)

    def record_filter(self) -> RecordFilter | None:
        text = self.filter_edit.text()
        if not text:
            return None
        mode = self.filter_mode.currentData()
        return RecordFilter(**{mode: text})

    # -- setting what is picked ----------------------------------------------------------

    def update_topics(self, partitions: dict[str, int]) -> None:
        """The topics and their partition counts of the latest snapshot."""
        if self._wanted is not None:
            name, count = self._wanted
            if name in partitions or self.topic() != name:
                self._wanted = None
            else:
                partitions = {**partitions, name: count}
        if partitions != self._partitions:
            self._partitions = partitions
            self._fill_topics()

    def set_topic(self, name: str, partition: int | None = None) -> None:
        """Pick ``name`` (listed even before a snapshot has it) and ``partition``."""
        if name not in self._partitions:
            self._wanted = (name, max(1, (partition or 0) + 1))
            self._partitions = {**self._partitions, name: self._wanted[1]}
        self._fill_topics(select=name)
        self._fill_partitions(partition)

    def set_start(self, start: Start) -> None:
        for i, (_text, kind) in enumerate(STARTS):
            if kind is start.kind:
                self.start_combo.setCurrentIndex(i)
        if start.kind is StartKind.OFFSET:
            self.offset_edit.setText(str(start.value))
        elif start.kind is StartKind.TIMESTAMP:
            self.time_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(start.value))
        self._start_changed()

    def set_filter(self, mode: str, text: str) -> None:
        for i, (_label, value) in enumerate(FILTER_MODES):
            if value == mode:
                self.filter_mode.setCurrentIndex(i)
        self.filter_edit.setText(text)

    def clear_filter_quietly(self) -> None:
        """Empty the filter field without ``filter_cleared`` (the caller reads next)."""
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)

    def _fill_topics(self, select: str | None = None) -> None:
        current = select or self.topic()
        names = sorted(self._partitions)
        combo = self.topic_combo
        combo.blockSignals(True)
        combo.clear()
        for name in names:
            combo.addItem(name, name)
        if current in self._partitions:
            combo.setCurrentIndex(names.index(current))
        elif names:
            combo.setCurrentIndex(0)
        combo.blockSignals(False)
        changed = self.topic() != current or not names
        self._fill_partitions(self.partition() if self.topic() == current else None)
        self.topics_filled.emit(changed)

    def _fill_partitions(self, select: int | None) -> None:
        count = self._partitions.get(self.topic() or "", 0)
        combo = self.partition_combo
        have = combo.count() - 1
        if have != count:
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("All partitions", ALL)
            for p in range(count):
                combo.addItem(f"Partition {p}", p)
            combo.blockSignals(False)
        combo.setCurrentIndex(0 if select is None or select >= count else select + 1)

    def _topic_picked(self) -> None:
        self._fill_partitions(None)
        self.read_requested.emit()

    def _start_picked(self) -> None:
        self._start_changed()
        if StartKind(self.start_combo.currentData()) in (StartKind.LATEST, StartKind.EARLIEST):
            self.read_requested.emit()

    def _start_changed(self) -> None:
        kind = StartKind(self.start_combo.currentData())
        self.offset_edit.setVisible(kind is StartKind.OFFSET)
        self.time_edit.setVisible(kind is StartKind.TIMESTAMP)

    def _filter_mode_changed(self, *_: object) -> None:
        self.filter_edit.setPlaceholderText(_FILTER_HINTS[self.filter_mode.currentData()])

    # -- state shown -------------------------------------------------------------------

    def set_tail_look(self, on: bool) -> None:
        self.tail_button.setIcon(icon("stop" if on else "play"))
        self.tail_button.setText("Stop tail" if on else "Live tail")

    def show_progress(self, show: bool) -> None:
        """Show the scan's progress bar, count and Cancel (reset to 0), or hide them."""
        self.progress.setVisible(show)
        self.cancel_button.setVisible(show)
        self.progress_label.setVisible(show)
        if show:
            self.progress.setValue(0)
            self.progress_label.setText("Scanning…")

    def update_progress(self, progress: ScanProgress) -> None:
        if not self.progress.isVisible():
            return
        self.progress.setValue(int(progress.fraction * 1000))
        self.progress_label.setText(
            f"{fmt.count(progress.scanned)} of {fmt.count(progress.total)} scanned · "
            f"{fmt.plural(progress.matched, 'match', 'matches')}"
        )


__all__ = ["ALL", "FILTER_MODES", "STARTS", "BrowserControls"]
