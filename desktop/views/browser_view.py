"""Messages: browse a topic's stored records, decoded, with seek, filter, live tail and export.

Contract (the page composes the parts; each part's module states its own contract):

* :mod:`~desktop.views.browser_controls` (seek and filter rows: what is picked),
  :mod:`~desktop.views.browser_reads` (pages, scans and the live tail, read on the broker
  loop and made into rows in a worker thread), :mod:`~desktop.views.browser_detail` (the
  detail pane: key, decoded value, headers, decoder combo, Save…),
  :mod:`~desktop.views.browser_export` (JSON Lines / CSV export, saving a value) and
  :mod:`~desktop.views.browser_worker` (the one worker thread). This module lays them out
  with the records table and the status line and wires them together.
* The table (:class:`~desktop.models.records_model.RecordsModel`, cell texts written off
  the GUI thread) keeps at most :data:`~desktop.models.records_model.MAX_ROWS` rows; a
  live tail appends and scrolls to the bottom. The value column stretches; the numbers
  and the time fit their content, the key too within bounds; the headers column is
  narrow (the detail pane lists them whole). Columns are fitted when a page is read,
  never per tick or per paint.
* The decoder combo applies to the whole page: the table's value previews (remade in
  the worker) and the detail pane.
* :meth:`show_record` opens one record and :meth:`browse` a topic's newest records (other
  views call them). State for tests: :attr:`busy`, :attr:`reads`, :attr:`page`,
  :attr:`error`, :attr:`detail`, and the widgets of the parts under their old names
  (``go_button``, ``value_text``, ``headers_title`` ...).
* External clusters (issue 15): the reads go to the cluster the window shows
  (:mod:`~desktop.views.browser_reads`); :meth:`source_changed` (the window calls it on a
  switch) drops the rows and reads in flight of the old one.
* Client data (keys, values, headers, topic names) is plain text everywhere: table
  cells, ``QPlainTextEdit``, labels with ``Qt.PlainText``, no tooltips built from it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QSplitter,
    QTableView,
    QWidget,
)
from streamscope.core.browse.batches import BrowsedRecord
from streamscope.core.browse.decode import Decoder
from streamscope.core.browse.reader import Page, RecordFilter, Start
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, vbox
from streamscope.desktop.models.records_model import (
    HEADERS,
    KEY,
    VALUE,
    Detail,
    RecordRow,
    RecordsModel,
    make_rows,
)
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.browser_controls import BrowserControls
from streamscope.desktop.views.browser_detail import DetailPane
from streamscope.desktop.views.browser_export import BrowserExport, ExportDone
from streamscope.desktop.views.browser_reads import BrowserReads
from streamscope.desktop.views.browser_worker import BrowseWorker
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import list_look
from streamscope.desktop.views.widgets import EmptyState

# The value column takes what the others leave: the numbers and the time fit their
# content, the key too within _KEY_WIDTHS, and the headers get a narrow share (the
# detail pane lists them whole).
_TABLE_WIDTHS = {KEY: 110, HEADERS: 80}
_KEY_WIDTHS = (60, 160)
_FIT_COLUMNS = (0, 1, 2, 6)


class BrowserView(QWidget):
    title = "Messages"

    def __init__(self, commands: Commands, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BrowserView")
        self.commands = commands
        self.service = commands.service
        self.worker = BrowseWorker(self)
        self.reads_ctl = BrowserReads(self.service, self.worker, self,
                                      external=lambda: commands.external)
        self.error = ""
        self._select_after: tuple[int, int] | None = None
        self._needs_load = True

        root = vbox(self, (18, 12, 18, 10), spacing=8)
        self.controls = BrowserControls(self)
        root.addLayout(self.controls.seek_row)
        root.addLayout(self.controls.filter_row)

        self.model = RecordsModel(self)
        self.table = self._build_table()
        self.empty = EmptyState("Pick a topic to see its messages.")
        left = QWidget()
        ll = vbox(left, spacing=0)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.empty, 1)
        self.detail_pane = DetailPane(self.worker)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(left)
        self.split.addWidget(self.detail_pane)
        # The table (whose value column is the widest) gets most of the width; the detail
        # pane enough for pretty-printed JSON.
        self.split.setStretchFactor(0, 7)
        self.split.setStretchFactor(1, 3)
        self.split.setSizes([740, 320])
        root.addWidget(self.split, 1)

        status = QHBoxLayout()
        self.status = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        self.error_label = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "ErrorLabel")
        self.error_label.hide()
        status.addWidget(self.status, 1)
        status.addWidget(self.error_label, 1)
        root.addLayout(status)
        self.exporter = BrowserExport(self, self.worker, self.status.setText, self._set_error)

        self._alias_parts()
        self._connect_parts()
        self.apply_theme(theme)
        self.reads_busy(False, False)
        self.detail_pane.show_record(None)
        self._update_empty()

    def _build_table(self) -> QTableView:
        table = named(QTableView(), "RecordsTable")
        table.setModel(self.model)
        list_look(table, row_height=24)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        header.setResizeContentsPrecision(200)
        for col, width in _TABLE_WIDTHS.items():
            table.setColumnWidth(col, width)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        return table

    def _alias_parts(self) -> None:
        """The parts' widgets under the page's names (tests, screenshots, other views)."""
        c, d = self.controls, self.detail_pane
        self.topic_combo, self.partition_combo, self.start_combo = (
            c.topic_combo, c.partition_combo, c.start_combo)
        self.offset_edit, self.time_edit = c.offset_edit, c.time_edit
        self.go_button, self.next_button, self.tail_button = (
            c.go_button, c.next_button, c.tail_button)
        self.export_button = c.export_button
        self.export_shown_action = c.export_shown_action
        self.export_selected_action = c.export_selected_action
        self.filter_label, self.filter_mode, self.filter_edit = (
            c.filter_label, c.filter_mode, c.filter_edit)
        self.scan_button, self.cancel_button = c.scan_button, c.cancel_button
        self.progress, self.progress_label = c.progress, c.progress_label
        self.detail_title, self.detail_info, self.detail_batch = (
            d.detail_title, d.detail_info, d.detail_batch)
        self.decoder_combo, self.decoded_as, self.detail_note = (
            d.decoder_combo, d.decoded_as, d.detail_note)
        self.save_value_button = d.save_value_button
        self.key_title, self.key_text = d.key_title, d.key_text
        self.value_title, self.value_text = d.value_title, d.value_text
        self.headers_title, self.headers_text = d.headers_title, d.headers_text

    def _connect_parts(self) -> None:
        c, d = self.controls, self.detail_pane
        c.read_requested.connect(lambda: self.load())
        c.next_requested.connect(self.next_page)
        c.tail_toggled.connect(self.set_tail)
        c.export_requested.connect(self.open_export_dialog)
        c.cancel_requested.connect(self.cancel_scan)
        c.filter_cleared.connect(self._filter_cleared)
        c.topics_filled.connect(self._topics_filled)
        d.decoder_changed.connect(self._decoder_changed)
        d.save_requested.connect(self.open_save_value_dialog)
        d.failed.connect(self._set_error)

    # -- state (tests and other views read it) ------------------------------------------

    @property
    def busy(self) -> bool:
        """A page read or scan is in flight."""
        return self.reads_ctl.busy

    @property
    def reads(self) -> int:
        """Page reads finished (with a page or an error): tests wait on it."""
        return self.reads_ctl.reads

    @property
    def tail_busy(self) -> bool:
        return self.reads_ctl.tail_busy

    @property
    def page(self) -> Page | None:
        """The last page read (its positions: where the next continues)."""
        return self.reads_ctl.page

    @property
    def detail(self) -> Detail | None:
        """The selected record decoded for the detail pane (None while decoding)."""
        return self.detail_pane.detail

    # -- ticks -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.model.set_colors(theme.warn, theme.muted)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.controls.update_topics({t.name: t.partition_count for t in snap.topics})
        if self._needs_load and self.isVisible() and self.topic() is not None:
            self.load()

    def source_changed(self) -> None:
        """Another cluster is shown (issue 15): drop the rows read from the old one (and
        any read in flight); the page reads again from the new one when shown."""
        self.set_tail(False)
        self.reads_ctl.abandon()
        self.model.set_rows([])
        self.detail_pane.show_record(None)
        self._set_error("")
        self._needs_load = True
        self._update_empty()
        self._update_actions()

    def _source_running(self) -> bool:
        """The broker (or, in external mode, the cluster) answers reads."""
        ext = self.commands.external
        return ext.running if ext is not None else self.service.running

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        progress = self.reads_ctl.progress
        if progress is not None and self.busy:
            self.controls.update_progress(progress)
        if self.tail_button.isChecked() and not self.busy and not self.tail_busy:
            self.reads_ctl.poll_tail()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._needs_load and self.topic() is not None and self._source_running():
            self.load()

    # -- pickers (the controls answer) ---------------------------------------------------

    def topics(self) -> list[str]:
        """The topics the picker lists (from the latest snapshot)."""
        return self.controls.topics()

    def topic(self) -> str | None:
        return self.controls.topic()

    def partition(self) -> int | None:
        """The picked partition, or None for all partitions."""
        return self.controls.partition()

    def decoder(self) -> Decoder:
        return self.detail_pane.decoder()

    def start(self) -> Start:
        return self.controls.start()

    def record_filter(self) -> RecordFilter | None:
        return self.controls.record_filter()

    def set_topic(self, name: str, partition: int | None = None) -> None:
        """Pick ``name`` (listed even before a snapshot has it) and ``partition``."""
        self.controls.set_topic(name, partition)

    def set_start(self, start: Start) -> None:
        self.controls.set_start(start)

    def set_filter(self, mode: str, text: str) -> None:
        self.controls.set_filter(mode, text)

    def set_decoder(self, decoder: Decoder) -> None:
        self.detail_pane.set_decoder(decoder)
        self._decoder_changed()

    def _topics_filled(self, changed: bool) -> None:
        if changed:
            self._needs_load = True
        self._update_empty()

    def _filter_cleared(self) -> None:
        if self.reads_ctl.filter is not None:
            self.load()  # cleared: back to the unfiltered page

    # -- reading -----------------------------------------------------------------------

    def load(self, start: Start | None = None) -> None:
        """Read the page at ``start`` (default: the pickers') of the picked topic and
        partition, scanning with the filter if one is set."""
        topic = self.topic()
        self._needs_load = topic is None
        if topic is None:
            return
        self.reads_ctl.load(topic, self.partition(), start or self.start(), self.record_filter())

    def next_page(self) -> None:
        """The page after the one shown (same topic, partition and filter)."""
        self.reads_ctl.next_page()

    def browse(self, topic: str, partition: int | None = None) -> None:
        """Show the newest records of ``topic`` (one ``partition``, or all), with the
        filter kept (for other views: "Browse messages" on a topic)."""
        self.set_topic(topic, partition)
        self.set_start(Start.latest())
        self.load()

    def show_record(self, topic: str, partition: int, offset: int) -> None:
        """Open the record at ``topic``/``partition``/``offset``: its page, selected, with
        its detail (for other views: a click on a token, a produced record)."""
        self.tail_button.setChecked(False)
        self.controls.clear_filter_quietly()
        self.set_topic(topic, partition)
        self.set_start(Start.at_offset(offset))
        self._select_after = (partition, offset)
        self.load()

    def cancel_scan(self) -> None:
        self.reads_ctl.cancel_scan()

    def set_tail(self, on: bool) -> None:
        """Follow new records (polled each tick) or stop following."""
        if self.tail_button.isChecked() != on:
            self.tail_button.setChecked(on)  # toggled calls back here
            return
        self.controls.set_tail_look(on)
        if on and self.page is None:
            self.load(Start.latest())

    # -- what the reads report (ReadsHost) ----------------------------------------------

    def tailing(self) -> bool:
        return self.tail_button.isChecked()

    def reads_busy(self, busy: bool, scanning: bool) -> None:
        self.controls.show_progress(busy and scanning)
        self._update_actions()

    def reads_failed(self, text: str) -> None:
        self._set_error(text)

    def page_read(self, page: Page, rows: list[RecordRow], newest_first: bool) -> None:
        self.model.set_rows(rows)
        self._fit_columns()
        self._update_status(page)
        self._update_empty()
        self._update_actions()
        target = self._select_after
        self._select_after = None
        count = self.model.rowCount()
        row = self.model.find(*target) if target is not None else -1
        if row < 0 and count and target is None:
            # The newest records are at the bottom: that is where "Latest" looks.
            row = count - 1 if newest_first or self.tailing() else 0
        if row >= 0:
            index = self.model.index(row, 0)
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)
        else:
            self.detail_pane.show_record(None)

    def tail_read(self, page: Page, rows: list[RecordRow]) -> None:
        if rows:
            self.model.append_rows(rows)
            self.table.scrollToBottom()
        self._update_status(page)
        self._update_empty()

    def _fit_columns(self) -> None:
        for col in _FIT_COLUMNS:
            self.table.setColumnWidth(col, self.content_width(col))
        # The key fits its content within bounds: short keys leave the width to the value.
        low, high = _KEY_WIDTHS
        self.table.setColumnWidth(KEY, max(low, min(high, self.content_width(KEY))))

    def content_width(self, col: int) -> int:
        """What Qt's ``resizeColumnToContents`` would give column ``col`` (its title, or
        its widest cell), with the texts ranked in Python and only the widest measured
        by the delegate: Qt asks the model for every role of every cell, each call
        waiting for the GIL behind the broker's thread (a page of records under load
        stalled the GUI for 200-361 ms)."""
        header = self.table.horizontalHeader()
        width = 0 if header.isHidden() else header.sectionSizeHint(col)
        texts = self.model.column_texts(col)
        if texts:
            advance = QFontMetrics(self.table.font()).horizontalAdvance
            widest = max(range(len(texts)), key=lambda row: advance(texts[row]))
            width = max(width, self.table.sizeHintForIndex(self.model.index(widest, col)).width())
        return width

    # -- selection and detail ------------------------------------------------------------

    def selected_record(self) -> BrowsedRecord | None:
        row = self.model.row_at(self.table.currentIndex().row())
        return row.record if row is not None else None

    def selected_records(self) -> list[BrowsedRecord]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        out = []
        for i in rows:
            row = self.model.row_at(i)
            if row is not None:
                out.append(row.record)
        return out

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.row_at(current.row()) if current.isValid() else None
        self.detail_pane.show_record(row.record if row is not None else None)

    def _decoder_changed(self) -> None:
        decoder = self.decoder()
        records = self.model.records()
        token = self.reads_ctl.request
        if records:
            def done(rows: list[RecordRow] | None, error: BaseException | None) -> None:
                same = rows is not None and len(rows) == self.model.rowCount()
                if token == self.reads_ctl.request and same and rows is not None:
                    current = self.table.currentIndex().row()
                    self.model.set_rows(rows)
                    if current >= 0:
                        self.table.setCurrentIndex(self.model.index(current, 0))

            self.worker.submit(lambda: make_rows(records, decoder), done)
        self.detail_pane.show_record(self.selected_record())

    # -- export (BrowserExport writes) ---------------------------------------------------

    @property
    def dialog(self) -> QFileDialog | None:
        """The file dialog this view has open, if any (tests drive it)."""
        return self.exporter.dialog

    def open_export_dialog(self, selected_only: bool = False) -> QFileDialog:
        records = self.selected_records() if selected_only else self.model.records()
        return self.exporter.open_export_dialog(records, self.reads_ctl.topic or "records")

    def export_to(
        self,
        path: str | Path,
        kind: str,
        records: list[BrowsedRecord] | None = None,
        on_done: ExportDone | None = None,
    ) -> None:
        """Write ``records`` (default: those shown) to ``path`` as ``jsonl`` or ``csv``,
        in the worker thread; the status line says how it went."""
        chosen = self.model.records() if records is None else records
        self.exporter.export_to(path, kind, chosen, on_done)

    def open_save_value_dialog(self) -> QFileDialog | None:
        record = self.selected_record()
        return self.exporter.open_save_value_dialog(record) if record is not None else None

    # -- state shown -------------------------------------------------------------------

    def _update_actions(self) -> None:
        has_topic = self.topic() is not None
        self.go_button.setEnabled(has_topic)
        self.scan_button.setEnabled(has_topic)
        page = self.page
        self.next_button.setEnabled(not self.busy and page is not None and not page.at_end)
        self.export_shown_action.setEnabled(self.model.rowCount() > 0)
        self.export_selected_action.setEnabled(bool(self.table.selectionModel().selectedRows()))
        self.export_button.setEnabled(self.model.rowCount() > 0)

    def _update_status(self, page: Page) -> None:
        shown = self.model.rowCount()
        parts = [fmt.plural(shown, "message") + " shown"]
        if self.reads_ctl.filter is not None:
            parts.append(f"{fmt.count(page.scanned)} scanned")
        if page.cancelled:
            parts.append("scan cancelled")
        if page.skipped:
            parts.append(f"live tail skipped {fmt.count(page.skipped)} to keep up")
        ranges = page.ranges
        if len(ranges) == 1:
            r = ranges[0]
            parts.append(
                f"partition {r.partition}: log start {fmt.count(r.log_start_offset)}, "
                f"high watermark {fmt.count(r.high_watermark)}"
            )
        elif ranges:
            total = sum(r.high_watermark - r.log_start_offset for r in ranges)
            parts.append(f"{len(ranges)} partitions, {fmt.plural(total, 'message')} stored")
        parts.append("at the end" if page.at_end else "more after this page")
        self.status.setText(" · ".join(parts))

    def _set_error(self, text: str) -> None:
        self.error = text
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _update_empty(self) -> None:
        if self.topic() is None:
            self.empty.setText("No topics yet. Produce to a topic, then browse its messages here.")
        else:
            self.empty.setText("No messages here: nothing stored at this position, or none match.")
        self.empty.show_instead_of(self.table, self.model.rowCount() == 0)


__all__ = ["BrowserView"]
