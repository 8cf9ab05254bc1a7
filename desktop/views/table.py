"""A sortable, filterable table view over a :class:`KeyedTableModel`, with key-based selection.

Contract: wraps the model in a ``QSortFilterProxyModel`` (sorting by the raw values of
:data:`SORT_ROLE`, filtering on the first column's text) and exposes the selection by row
*key*, so a selection survives rows moving as they are sorted, inserted or removed.
``selection_changed(key)`` fires with the selected key, or ``None``.
"""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from desktop.models.table_model import KEY_ROLE, SORT_ROLE, KeyedTableModel


class KeyedTableView(QTableView):
    selection_changed = Signal(object)

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
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setDynamicSortFilter(True)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(stretch_column is None)
        header.setDefaultSectionSize(110)
        if stretch_column is not None:
            header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._selected: Hashable | None = None
        self.selectionModel().selectionChanged.connect(self._on_selection)

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
        index = self.proxy.mapFromSource(self.source.index(row, 0))
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
        """Room for the column's title and the sort arrow."""
        title = self.source.headerData(col, Qt.Orientation.Horizontal) or ""
        fm = self.horizontalHeader().fontMetrics()
        return fm.horizontalAdvance(str(title)) + 30

    def set_column_widths(self, widths: dict[int, int]) -> None:
        for col, width in widths.items():
            self.setColumnWidth(col, max(width, self.header_width(col)))

    def index_for_key(self, key: Hashable, column: int = 0) -> QModelIndex:
        row = self.source.row_of(key)
        if row < 0:
            return QModelIndex()
        return self.proxy.mapFromSource(self.source.index(row, column))
