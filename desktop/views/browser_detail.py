"""The Messages page's detail pane: one record's key, decoded value and headers, at once.

Contract:

* :class:`DetailPane` shows, one under the other, the key, the value decoded and
  pretty-printed (up to :data:`~core.browse.decode.DETAIL` limits) and every header
  (``name: value``); the key and header boxes are as tall as their lines (up to
  :data:`KEY_LINES` and :data:`HEADER_LINES`), the value takes the rest. Above them: the
  record's place, time and batch, the decoder combo ("Show as": Auto, msgpack, JSON, Text,
  Hex, which the page applies to the table's previews too) and "Save…".
* :meth:`DetailPane.show_record` decodes in the page's worker thread
  (:func:`~desktop.models.records_model.render_detail`); the GUI thread only sets texts,
  and a decode for a record no longer selected is dropped. :attr:`DetailPane.detail` is
  the shown record's decoded texts, None while decoding or with no record.
* Signals: ``decoder_changed`` (the user picked another decoder), ``save_requested``
  ("Save…" clicked), ``failed(str)`` (a decode failed: the page shows the error).
* Client data is plain text: ``QPlainTextEdit`` boxes, labels with ``Qt.PlainText``; the
  elided lines above hold no client data except the topic name (shown elided, plain).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QWidget
from streamscope.core.browse.batches import BrowsedRecord
from streamscope.core.browse.decode import Decoder
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.records_model import (
    Detail,
    batch_summary,
    record_summary,
    render_detail,
)
from streamscope.desktop.views.browser_worker import BrowseWorker
from streamscope.desktop.views.charts import mono_font
from streamscope.desktop.views.elided import ElidedLabel

DECODERS = (
    ("Auto", Decoder.AUTO),
    ("msgpack", Decoder.MSGPACK),
    ("JSON", Decoder.JSON),
    ("Text", Decoder.TEXT),
    ("Hex", Decoder.HEX),
)
KEY_LINES = 3  # the key box grows to this many lines, then scrolls
HEADER_LINES = 6  # and the headers box to this many


class DetailPane(QWidget):
    decoder_changed = Signal()
    save_requested = Signal()
    failed = Signal(str)

    def __init__(self, worker: BrowseWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._request = 0  # bumps with each record shown: older decodes are dropped
        self.detail: Detail | None = None
        layout = vbox(self, (4, 0, 0, 0), spacing=6)
        self.detail_title = named(
            ElidedLabel("", mode=Qt.TextElideMode.ElideMiddle), "SectionTitle"
        )
        self.detail_info = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        self.detail_batch = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        layout.addWidget(self.detail_title)
        layout.addWidget(self.detail_info)
        layout.addWidget(self.detail_batch)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(plain_label("Show as"))
        self.decoder_combo = QComboBox()
        for text, decoder in DECODERS:
            self.decoder_combo.addItem(text, decoder)
        self.decoder_combo.setToolTip("How values are decoded, in the table and here")
        bar.addWidget(self.decoder_combo)
        # Elided, not widening the pane: "Save…" must keep its room on a narrow pane.
        self.decoded_as = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        bar.addWidget(self.decoded_as, 1)
        self.save_value_button = QPushButton("Save…")
        self.save_value_button.setToolTip(
            "Save value: write the whole value, byte for byte, to a file"
        )
        bar.addWidget(self.save_value_button)
        layout.addLayout(bar)
        self.detail_note = named(plain_label(""), "HintLabel")
        self.detail_note.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_note.setWordWrap(True)
        layout.addWidget(self.detail_note)
        # Key, value and headers one under the other, all on screen at once (a screenshot
        # of the pane explains the record): the key and the headers take the lines they
        # need, up to a few, and the value the rest.
        self.key_title = _caption("Key")
        self.key_text = _text_box()
        self.value_title = _caption("Value")
        self.value_text = _text_box()
        self.headers_title = _caption("Headers")
        self.headers_text = _text_box()
        # The key beside its caption: it is mostly one short line, and the value needs
        # the height more.
        key_row = QHBoxLayout()
        key_row.setSpacing(8)
        key_row.addWidget(self.key_title, 0, Qt.AlignmentFlag.AlignVCenter)
        key_row.addWidget(self.key_text, 1)
        layout.addLayout(key_row)
        layout.addWidget(self.value_title)
        layout.addWidget(self.value_text, 1)
        layout.addWidget(self.headers_title)
        layout.addWidget(self.headers_text)
        _fit_lines(self.key_text, 1, KEY_LINES)
        _fit_lines(self.headers_text, 1, HEADER_LINES)
        self.decoder_combo.activated.connect(lambda *_: self.decoder_changed.emit())
        self.save_value_button.clicked.connect(self.save_requested)
        self.setMinimumWidth(300)

    def decoder(self) -> Decoder:
        return Decoder(self.decoder_combo.currentData())

    def set_decoder(self, decoder: Decoder) -> None:
        """Pick ``decoder`` in the combo (no signal: the caller redecodes)."""
        for i, (_label, value) in enumerate(DECODERS):
            if value is decoder:
                self.decoder_combo.setCurrentIndex(i)

    def show_record(self, record: BrowsedRecord | None) -> None:
        """Show ``record`` (None: nothing selected); its value is decoded in the worker."""
        self._request += 1
        token = self._request
        self.detail = None
        self.save_value_button.setEnabled(record is not None and record.value is not None)
        if record is None:
            self.detail_title.setText("Select a message")
            self.detail_info.setText("")
            self.detail_batch.setText("")
            self.decoded_as.setText("")
            self.detail_note.hide()
            for box in (self.value_text, self.key_text, self.headers_text):
                box.setPlainText("")
            self.headers_title.setText("Headers")
            return
        self.detail_title.setText(
            f"{record.topic} · partition {record.partition} · offset {record.offset:,}"
        )
        self.detail_info.setText(record_summary(record))
        self.detail_batch.setText(batch_summary(record))
        self.decoded_as.setText("decoding…")
        self.headers_title.setText(f"Headers ({len(record.headers)})")
        decoder = self.decoder()

        def done(detail: Detail | None, error: BaseException | None) -> None:
            if token != self._request:
                return
            if error is not None or detail is None:
                self.decoded_as.setText("")
                self.failed.emit(f"cannot decode: {error}")
                return
            self._show_detail(record, detail)

        self._worker.submit(lambda: render_detail(record, decoder), done)

    def _show_detail(self, record: BrowsedRecord, detail: Detail) -> None:
        self.detail = detail
        value = detail.value
        self.decoded_as.setText(value.kind + (", cut" if value.truncated else ""))
        note = value.note
        if value.truncated and record.value is not None:
            extra = f"Showing part of {fmt.size(len(record.value))}: Save… writes it whole."
            note = f"{note}. {extra}" if note else extra
        self.detail_note.setText(note)
        self.detail_note.setVisible(bool(note))
        self.value_text.setPlainText(value.text)
        key = detail.key
        key_text = key.text + (f"\n({key.note})" if key.note else "")
        self.key_text.setPlainText(key_text)
        _fit_lines(self.key_text, key_text.count("\n") + 1, KEY_LINES)
        self.headers_text.setPlainText(detail.headers)
        _fit_lines(self.headers_text, detail.headers.count("\n") + 1, HEADER_LINES)


def _caption(text: str) -> QLabel:
    label = named(plain_label(text), "StatCaption")
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _fit_lines(box: QPlainTextEdit, lines: int, most: int) -> None:
    """Make ``box`` exactly ``lines`` lines tall (at most ``most``: it scrolls)."""
    box.ensurePolished()
    shown = max(1, min(lines, most))
    margin = 2 * (box.frameWidth() + int(box.document().documentMargin()))
    box.setFixedHeight(shown * box.fontMetrics().lineSpacing() + margin + 2)


def _text_box() -> QPlainTextEdit:
    edit = named(QPlainTextEdit(), "CodeBlock")
    edit.setReadOnly(True)
    edit.setFont(mono_font())
    edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    edit.setMaximumBlockCount(0)
    return edit


__all__ = ["DECODERS", "HEADER_LINES", "KEY_LINES", "DetailPane"]
