"""A sortable, filterable table view over a :class:`KeyedTableModel`, with key-based selection.

Contract: draws the model's C++ mirror (``KeyedTableModel.mirror``: no call into Python
while painting, sorting or measuring) through a ``QSortFilterProxyModel`` (sorting by the
raw values of :data:`SORT_ROLE`, filtering on the first column's text) and exposes the
selection by row *key*, so a selection survives rows moving as they are sorted, inserted or removed.
``selection_changed(key)`` fires with the selected key, or ``None``; ``columns_fitted``
after column widths changed to fit new content (for layouts that give the table room).

Columns size to their content: whenever rows change, every column except the stretching
one is set to the width of its widest cell (header included, up to :data:`FIT_ROWS` rows
considered; the longest texts measured by the delegate, see ``_widest_cell``), never below the floor given by :meth:`set_column_widths`,
so a number is never cut to "193,…". The stretching column (usually a name) takes the
rest and elides its text in the middle; any cell whose text does not fit shows it whole
as a tooltip. A column the user resized keeps that width until its content's width
changes.
"""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QToolTip, QWidget
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import KEY_ROLE, SORT_ROLE, KeyedTableModel

# Rows measured when fitting a column (Qt's resize precision): enough for every table a
# snapshot fills in practice, bounded so a 10,000-partition topic costs no more.
FIT_ROWS = 500
# Cells measured by the delegate per column: the widest distinct texts in the table's
# font (room for an icon or a bold font on one a little narrower).
FIT_CANDIDATES = 8
# Room beside the widest text: the cell's margins, so digits never touch the next column.
CELL_PADDING = 8
# A header's padding (the themes' QHeaderView::section: 8 px each side) and
# the room its sort arrow takes on the one column that sorts the table.
HEADER_PADDING = 16
SORT_ARROW = 16


def list_look(table: QTableView, row_height: int) -> None:
    """The look every table here shares: whole rows selected, alternating row colours, no
    grid, no wrapping, no row numbers, no editing."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(row_height)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)


class KeyedTableView(QTableView):
    selection_changed = Signal(object)
    columns_fitted = Signal()  # some column's width changed to fit its content

    def __init__(
        self,
        model: KeyedTableModel,
        *,
        sort_column: int = 0,
        stretch_column: int | None = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model.mirror)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setDynamicSortFilter(True)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
        list_look(self, row_height=26)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(stretch_column is None)
        header.setDefaultSectionSize(110)
        header.setResizeContentsPrecision(FIT_ROWS)
        header.setMinimumSectionSize(36)
        self.stretch_column = stretch_column
        if stretch_column is not None:
            header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        # Names are told apart by both ends ("orders.eu.v1" vs "orders.us.v1").
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._selected: Hashable | None = None
        self.selectionModel().selectionChanged.connect(self._on_selection)
        self._floors: dict[int, int] = {}
        self._fitted: dict[int, int] = {}  # last width each column was fitted to
        self._measured: dict[int, tuple[object, int]] = {}  # col: (its widest texts, width)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)  # once per burst of model signals
        self._fit_timer.timeout.connect(self.fit_columns)
        for signal in (
            model.dataChanged,
            model.rowsInserted,
            model.rowsRemoved,
            model.modelReset,
            model.layoutChanged,
        ):
            signal.connect(self._schedule_fit)
        header.sortIndicatorChanged.connect(self._schedule_fit)  # the arrow moves
        self.fit_columns()

    def _on_selection(self, *_: object) -> None:
        key = self.selected_key()
        if key != self._selected:
            self._selected = key
            self.selection_changed.emit(key)

    def selected_key(self) -> Hashable | None:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        return rows[0].data(KEY_ROLE)

    def select_key(self, key: Hashable) -> bool:
        row = self.source.row_of(key)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.source.mirror.index(row, 0))
        if not index.isValid():
            return False
        self.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.setCurrentIndex(index)
        self.scrollTo(index)
        return True

    def ensure_selection(self) -> None:
        """Select the first row when nothing is selected (so details are never blank)."""
        if self.selected_key() is None and self.proxy.rowCount() > 0:
            first = self.proxy.index(0, 0)
            key = first.data(KEY_ROLE)
            if key is not None:
                self.select_key(key)

    def set_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def header_width(self, col: int) -> int:
        """Room for the column's title, and for the sort arrow if it sorts the table."""
        header = self.horizontalHeader()
        title = self.source.headerData(col, Qt.Orientation.Horizontal) or ""
        arrow = SORT_ARROW if header.sortIndicatorSection() == col else 0
        # The themes draw titles bold: measure them so (a wider font is the safe error).
        font = QFont(header.font())
        font.setBold(True)
        return QFontMetrics(font).horizontalAdvance(str(title)) + HEADER_PADDING + arrow

    def set_column_widths(self, widths: dict[int, int]) -> None:
        """Floors: a column is never fitted narrower than this (content may widen it)."""
        self._floors.update(widths)
        self._fitted.clear()
        self.fit_columns()

    def content_width(self, col: int) -> int:
        """The width column ``col`` needs to show its header and every measured cell."""
        cells = self._widest_cell(col) if self.proxy.rowCount() else 0
        return max(
            self.header_width(col),
            cells + CELL_PADDING,
            self._floors.get(col, 0),
        )

    def _widest_cell(self, col: int) -> int:
        """The delegate's width for the widest cells of ``col`` (up to :data:`FIT_ROWS`
        rows): the texts are formatted in one Python pass and ranked by their width in
        the table's font; only the :data:`FIT_CANDIDATES` widest distinct ones are
        measured by the delegate (fonts, icons and margins included).

        Qt's ``sizeHintForColumn`` would lay out every cell of the column; over the
        Python model itself (before the mirror) that was 70,000 calls a second for 200
        connections, each waiting for the GIL behind the broker's thread, and the GUI
        froze for a second per tick.
        """
        texts = self.source.column_texts(col, FIT_ROWS)
        if not texts:
            return 0
        advance = QFontMetrics(self.font()).horizontalAdvance
        first_row: dict[str, int] = {}
        for row, text in texts:
            first_row.setdefault(text, row)
        ranked = sorted(first_row, key=advance, reverse=True)[:FIT_CANDIDATES]
        # The same widest texts in the same rows and font measure the same: most ticks
        # change numbers, not the widest cell.
        key = (self.font().key(), tuple((text, first_row[text]) for text in ranked))
        cached = self._measured.get(col)
        if cached is not None and cached[0] == key:
            return cached[1]
        proxy, mirror = self.proxy, self.source.mirror
        widest = 0
        for text in ranked:
            index = proxy.mapFromSource(mirror.index(first_row[text], col))
            if index.isValid():
                widest = max(widest, self.sizeHintForIndex(index).width())
        self._measured[col] = (key, widest)
        return widest

    def _schedule_fit(self, *_: object) -> None:
        # A hidden table (another view is showing) measures nothing until it is shown.
        if self.isVisible() and not self._fit_timer.isActive():
            self._fit_timer.start()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        # A new font or style sheet (presentation mode, a theme) measures cells anew.
        if (event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange)
                and hasattr(self, "_fit_timer")):  # not while __init__ is still running
            self._measured.clear()
            self._schedule_fit()
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._schedule_fit()

    def fit_columns(self) -> None:
        """Size every column but the stretching one to its content (see the module doc)."""
        changed = False
        for col in range(self.source.columnCount()):
            if col == self.stretch_column:
                continue
            width = self.content_width(col)
            if self._fitted.get(col) != width:
                self._fitted[col] = width
                self.setColumnWidth(col, width)
                changed = True
        if changed:
            self.columns_fitted.emit()

    def columns_width(self) -> int:
        """Width that shows every column whole (the stretching one at its content width)."""
        total = 0
        visible = [c for c in range(self.source.columnCount()) if not self.isColumnHidden(c)]
        # A stretching column counts at its content's width, not the width it was
        # stretched to (that would ask for more room each time it was given some).
        stretched = {self.stretch_column}
        if self.horizontalHeader().stretchLastSection() and visible:
            stretched.add(visible[-1])
        for col in visible:
            total += self.content_width(col) if col in stretched else self.columnWidth(col)
        return total + 2 * self.frameWidth() + 2  # +2: Qt scrolls for a pixel short

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        # A cell whose text is elided shows it whole as its tooltip (unless the model
        # has a tooltip of its own for that cell).
        # The model's tooltips are asked of it here, when one is shown (the mirror the
        # table draws holds none).
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.indexAt(event.pos())
            tip = self.cell_tooltip(index) if index.isValid() else None
            if tip is not None:
                QToolTip.showText(event.globalPos(), tip, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def cell_tooltip(self, index: QModelIndex) -> str | None:
        """The tooltip shown for a cell of this view (``index`` of :attr:`proxy`): the
        model's own (plain text), else the whole text of an elided cell, else None."""
        if not index.isValid():
            return None
        source = self.proxy.mapToSource(index)
        tip = self.source.data(self.source.index(source.row(), source.column()),
                               Qt.ItemDataRole.ToolTipRole)
        if tip is not None:
            return str(tip)
        text = self.full_text_tooltip(index)
        return None if text is None else fmt.plain_tooltip(text)

    def full_text_tooltip(self, index: QModelIndex) -> str | None:
        """The whole text of a cell elided to fit (``None``: it fits, or the model has a
        tooltip for the cell)."""
        source = self.proxy.mapToSource(index)
        if self.source.data(self.source.index(source.row(), source.column()),
                            Qt.ItemDataRole.ToolTipRole) is not None:
            return None
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not text:
            return None
        room = self.visualRect(index).width() - CELL_PADDING
        return str(text) if self.fontMetrics().horizontalAdvance(str(text)) > room else None

    def index_for_key(self, key: Hashable, column: int = 0) -> QModelIndex:
        row = self.source.row_of(key)
        if row < 0:
            return QModelIndex()
        return self.proxy.mapFromSource(self.source.mirror.index(row, column))
