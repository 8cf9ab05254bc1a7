"""The message browser's table and detail texts: written ahead of time, off the GUI thread.

Contract:

* :func:`make_rows` turns :class:`~core.browse.BrowsedRecord` objects into
  :class:`RecordRow` (the record plus its cell texts: time, key, headers and value
  previews, each one short line). It is pure Python with no Qt and runs in a worker
  thread, so the GUI thread never decodes a value: painting a cell only returns a string.
* :class:`RecordsModel` holds at most :data:`MAX_ROWS` rows and :data:`MAX_BYTES` of
  payload (always the newest row): :meth:`RecordsModel.set_rows`
  shows a new page (a reset: it is a different list), :meth:`RecordsModel.append_rows`
  adds what a live tail read (row inserts, dropping the oldest rows beyond the cap, so a
  tail never grows without bound). Rows keep the order the reader gave them.
* :func:`render_detail` decodes one record for the detail pane (value, key, every header,
  long lines folded so a text box lays them out at once), also in a worker thread.
* Cells are plain text (``DisplayRole``); client data is never markup and never a
  tooltip. Rows that stand for batches the reader could not decode, and control records,
  show their note in the value column, coloured; a gap row (offsets a compacted log no
  longer holds) shows its offset range and its note, muted, and no other cell.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont
from streamscope.core.browse.batches import BrowsedRecord
from streamscope.core.browse.decode import DETAIL, Decoded, Decoder, Limits, decode, fold, preview
from streamscope.desktop import format as fmt

# Rows (and bytes of record payload) a live tail keeps before dropping the oldest.
MAX_ROWS = 5000
MAX_BYTES = 64 * 1024 * 1024
COLUMNS = ("Partition", "Offset", "Timestamp", "Key", "Headers", "Value", "Size")
PARTITION, OFFSET, TIMESTAMP, KEY, HEADERS, VALUE, SIZE = range(len(COLUMNS))
_NUMERIC = {PARTITION, OFFSET, SIZE}
_KEY_CELL = Limits(max_bytes=16 * 1024, max_hex_bytes=48, max_chars=48, max_depth=3)
# Cell texts are cut to about what the widest column shows on a large screen: Qt lays out
# a cell's whole text on every repaint before eliding it, so the paint cost grows with
# the text's length (measured: 160 characters in every cell doubles the table's paint).
_VALUE_CELL = Limits(max_bytes=64 * 1024, max_hex_bytes=96, max_chars=120, max_depth=4)
_HEADER_CELL = Limits(max_bytes=1024, max_hex_bytes=24, max_chars=24, max_depth=2)
_HEADERS_SHOWN = 4  # headers written into the cell (the detail pane lists them all)
_HEADERS_CELL_CHARS = 64  # the headers column is narrow: no need to lay out more
_KEY_DETAIL = Limits(max_bytes=256 * 1024, max_hex_bytes=64 * 1024, max_chars=400_000)
_HEADER_DETAIL = Limits(max_bytes=16 * 1024, max_hex_bytes=4096, max_chars=20_000, max_depth=20)
FOLD_WIDTH = 1000  # characters per line in the detail pane's text boxes

Index = QModelIndex | QPersistentModelIndex
# Roles as plain ints: data() runs for every visible cell and role on each repaint, and
# comparing ints is far cheaper than comparing Qt enum members.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)


def _align(col: int) -> Qt.AlignmentFlag:
    side = Qt.AlignmentFlag.AlignRight if col in _NUMERIC else Qt.AlignmentFlag.AlignLeft
    return side | Qt.AlignmentFlag.AlignVCenter


_ALIGNS = tuple(int(_align(col).value) for col in range(len(COLUMNS)))


@dataclass(frozen=True, slots=True)
class RecordRow:
    record: BrowsedRecord
    time_text: str
    key_text: str
    headers_text: str
    value_text: str
    # Every column's text, in COLUMNS order, written once here: a repaint asks for each
    # visible cell's text and must only index a tuple (see RecordsModel.data).
    cells: tuple[str, ...] = ()

    @classmethod
    def of(cls, r: BrowsedRecord, time_cell: str, key: str, headers: str, value: str) -> RecordRow:
        size = "" if r.placeholder else fmt.size(r.size)
        offset = f"{r.offset:,}" if r.gap <= 1 else f"{r.offset:,}–{r.offset + r.gap - 1:,}"
        cells = (str(r.partition), offset, time_cell, key, headers, value, size)
        return cls(r, time_cell, key, headers, value, cells)


def time_text(ms: int) -> str:
    """Local date and time with milliseconds; ``-`` for a record without a timestamp."""
    if ms < 0:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) + f".{ms % 1000:03d}"


def cell_time_text(ms: int, today: str) -> str:
    """A table cell's time: of day with milliseconds for a record of ``today`` (local
    ``YYYY-MM-DD``), else date and time to the second (the detail pane has it all)."""
    if ms < 0:
        return "-"
    lt = time.localtime(ms / 1000)
    if time.strftime("%Y-%m-%d", lt) == today:
        return time.strftime("%H:%M:%S", lt) + f".{ms % 1000:03d}"
    return time.strftime("%Y-%m-%d %H:%M:%S", lt)


def make_rows(records: Iterable[BrowsedRecord], decoder: Decoder = Decoder.AUTO) -> list[RecordRow]:
    """The rows for ``records`` (module docstring): run it off the GUI thread."""
    rows = []
    today = time.strftime("%Y-%m-%d")
    for r in records:
        if r.gap:  # offsets compaction removed: the row says so and nothing else
            rows.append(RecordRow.of(r, "", "", "", r.note))
            continue
        # A control record's marker, or why a batch could not be decoded.
        value = r.note if r.note else preview(r.value, decoder, _VALUE_CELL)
        key = preview(r.key, Decoder.AUTO, _KEY_CELL)
        headers = ", ".join(
            f"{name[:24]}={preview(v, Decoder.AUTO, _HEADER_CELL)}"
            for name, v in r.headers[:_HEADERS_SHOWN]
        )
        if len(r.headers) > _HEADERS_SHOWN:
            headers += f", … ({len(r.headers)} in all)"
        if len(headers) > _HEADERS_CELL_CHARS:
            headers = headers[: _HEADERS_CELL_CHARS - 1] + "…"
        rows.append(RecordRow.of(r, cell_time_text(r.timestamp, today), key, headers, value))
    return rows


@dataclass(frozen=True, slots=True)
class Detail:
    """The detail pane's texts for one record, decoded in the worker thread."""

    record: BrowsedRecord
    value: Decoded
    key: Decoded
    headers: str


def render_detail(record: BrowsedRecord, decoder: Decoder) -> Detail:
    """Decode ``record`` for the detail pane (worker thread: may be slow for big values).
    Long lines come back folded (:func:`~core.browse.decode.fold`), so the text boxes
    lay them out at once."""
    if record.placeholder:
        value = Decoded("note", record.note)
    else:
        value = _folded(decode(record.value, decoder, DETAIL))
    key = _folded(decode(record.key, Decoder.AUTO, _KEY_DETAIL))
    lines = []
    for name, v in record.headers:
        text = fold(decode(v, Decoder.AUTO, _HEADER_DETAIL).text, FOLD_WIDTH)[0]
        if "\n" in text:  # a pretty-printed value: indented under its name
            text = "\n    " + text.replace("\n", "\n    ")
        lines.append(f"{name}: {text}")
    headers = "\n".join(lines) if lines else "(no headers)"
    return Detail(record, value, key, headers)


def _folded(shown: Decoded) -> Decoded:
    text, folded = fold(shown.text, FOLD_WIDTH)
    if not folded:
        return shown
    note = f"lines longer than {FOLD_WIDTH:,} characters are folded"
    return replace(shown, text=text, note=f"{shown.note}; {note}" if shown.note else note)


def record_summary(r: BrowsedRecord) -> str:
    """The detail pane's line about a record: time, its type and size. No client data:
    an elided label shows its text as a tooltip, and Qt reads tooltips as rich text."""
    parts = [f"{time_text(r.timestamp)} ({r.timestamp_type})"]
    if not r.placeholder:
        parts.append(fmt.size(r.size))
    return " · ".join(parts)


def batch_summary(r: BrowsedRecord) -> str:
    """The detail pane's line about the record's batch: codec and flags."""
    if r.gap:
        return "a gap: no batch holds these offsets any more"
    parts = [f"{r.compression} batch" if r.compression != "none" else "uncompressed batch"]
    if r.transactional:
        parts.append("transactional")
    if r.control:
        parts.append("control record")
    if r.producer_id >= 0:
        parts.append(f"producer id {r.producer_id}")
    return " · ".join(parts)



class RecordsModel(QAbstractTableModel):
    def __init__(
        self, parent: Any = None, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
    ) -> None:
        super().__init__(parent)
        self._rows: list[RecordRow] = []
        self._bytes = 0  # payload of the rows held
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.note_color = QColor("#d99a06")
        self.muted_color = QColor("#667085")
        self._italic = QFont()
        self._italic.setItalic(True)

    # -- updating --------------------------------------------------------------------

    def set_rows(self, rows: Sequence[RecordRow]) -> None:
        self.beginResetModel()
        self._rows = self._newest(rows)
        self._bytes = sum(r.record.size for r in self._rows)
        self.endResetModel()

    def append_rows(self, rows: Sequence[RecordRow]) -> int:
        """Append ``rows``, dropping the oldest beyond the caps; how many were dropped."""
        if not rows:
            return 0
        rows = self._newest(rows)
        count = len(self._rows) + len(rows)
        held = self._bytes + sum(r.record.size for r in rows)
        drop = 0
        while drop < len(self._rows) and (count > self.max_rows or held > self.max_bytes):
            held -= self._rows[drop].record.size
            count -= 1
            drop += 1
        if drop:
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self._rows[:drop]
            self.endRemoveRows()
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
        self._bytes = held
        return drop

    def _newest(self, rows: Sequence[RecordRow]) -> list[RecordRow]:
        """The newest of ``rows`` within the caps (at least one)."""
        out: list[RecordRow] = []
        held = 0
        for row in reversed(rows):
            size = row.record.size
            if out and (len(out) >= self.max_rows or held + size > self.max_bytes):
                break
            out.append(row)
            held += size
        out.reverse()
        return out

    def clear(self) -> None:
        self.set_rows([])

    def set_colors(self, note: str, muted: str) -> None:
        self.note_color = QColor(note)
        self.muted_color = QColor(muted)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            )

    # -- lookups ---------------------------------------------------------------------

    def column_texts(self, col: int) -> list[str]:
        """Column ``col``'s text in every row, in row order (views measure columns from
        these instead of asking Qt to call :meth:`data` for every cell)."""
        return [r.cells[col] for r in self._rows]

    def row_at(self, row: int) -> RecordRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def records(self) -> list[BrowsedRecord]:
        return [r.record for r in self._rows]

    def find(self, partition: int, offset: int) -> int:
        """The row of the record at ``partition``/``offset``, or -1."""
        for i, row in enumerate(self._rows):
            r = row.record
            if r.partition == partition and r.offset == offset and not r.placeholder:
                return i
        return -1

    # -- Qt's model interface ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        # The hot path of every repaint (each visible cell, each role the delegate asks
        # for): the texts are precomputed (RecordRow.cells), roles compared as ints.
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        if role == _DISPLAY:
            return self._rows[row].cells[index.column()]
        if role == _ALIGNMENT:
            return _ALIGNS[index.column()]
        if role == _FOREGROUND:
            col = index.column()
            r = self._rows[row].record
            if col == VALUE and r.gap:
                return self.muted_color
            if col == VALUE and r.placeholder:
                return self.note_color
            if (col == VALUE and (r.control or r.value is None)) or (col == KEY and r.key is None):
                return self.muted_color
        elif role == _FONT and index.column() == VALUE:
            r = self._rows[row].record
            if r.control or r.placeholder:
                return self._italic
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_align(section))
        return None
