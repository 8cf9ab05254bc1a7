"""A keyed table model updated by diffing: the base of every snapshot-backed Qt model.

Contract: a subclass declares its ``columns`` and turns a snapshot into rows of
``(key, values)``; :meth:`KeyedTableModel.set_rows` then compares them with what the model
holds and tells views exactly what changed: ``beginRemoveRows``/``endRemoveRows`` for
keys that went away, one ``dataChanged`` over the bounding box of changed cells, and
``beginInsertRows``/``endInsertRows`` for new keys (appended; views sort through a proxy).
It never resets the model, so selection, scroll position and sorting survive every tick.

Values are kept raw (numbers stay numbers); ``Qt.DisplayRole`` formats them through the
column's formatter and :data:`SORT_ROLE` returns the raw value for proxies to sort by.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from streamscope.desktop import format as fmt
from streamscope.desktop.format import count

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT_INT, _RIGHT_INT = int(_LEFT), int(_RIGHT)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole

Index = QModelIndex | QPersistentModelIndex
R = TypeVar("R")


_SWATCHES: dict[tuple[str, bool], QIcon] = {}


def swatch(color: QColor | str, round_: bool = False) -> QIcon:
    """A small colour square (or dot) for DecorationRole; cached per colour."""
    c = QColor(color)
    key = (c.name(), round_)
    found = _SWATCHES.get(key)
    if found is None:
        pm = QPixmap(12, 12)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c)
        if round_:
            p.drawEllipse(2, 2, 8, 8)
        else:
            p.drawRoundedRect(1, 1, 10, 10, 2.5, 2.5)
        p.end()
        found = _SWATCHES[key] = QIcon(pm)
    return found


def problem_mark(color: QColor | str, role: int) -> Any:
    """How a cell with a problem (a failing disk) is marked: its text in ``color`` and a
    dot of it before the text; None for the other roles."""
    if role == Qt.ItemDataRole.ForegroundRole:
        return QColor(color)
    if role == Qt.ItemDataRole.DecorationRole:
        return swatch(color, round_=True)
    return None


def roll_rows(model: QAbstractItemModel, rows: list[R], drop: int, fresh: Sequence[R]) -> None:
    """Drop the oldest ``drop`` of ``rows`` (a bounded, append-only list model's rows) and
    append ``fresh`` (not empty), telling views exactly that: no reset."""
    if drop > 0:
        model.beginRemoveRows(QModelIndex(), 0, drop - 1)
        del rows[:drop]
        model.endRemoveRows()
    first = len(rows)
    model.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
    rows.extend(fresh)
    model.endInsertRows()


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    fmt: Callable[[Any], str] = str
    numeric: bool = False  # right-aligned
    tooltip: str = ""


def numeric(title: str, fmt: Callable[[Any], str] = count, tooltip: str = "") -> Column:
    """A right-aligned column of numbers, written as counts unless ``fmt`` says otherwise."""
    return Column(title, fmt, numeric=True, tooltip=tooltip)


class KeyedTableModel(QAbstractTableModel):
    """Rows identified by a hashable key; see the module docstring for the update rules."""

    columns: tuple[Column, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._keys: list[Hashable] = []
        self._values: list[tuple] = []
        self._row_of: dict[Hashable, int] = {}

    # -- updating --------------------------------------------------------------------

    def set_rows(self, rows: Iterable[tuple[Hashable, tuple]]) -> None:
        new: dict[Hashable, tuple] = {}
        order: list[Hashable] = []
        for key, values in rows:
            if key not in new:
                order.append(key)
            new[key] = values

        # 1. Removals, from the bottom up in contiguous runs (row numbers stay valid).
        gone = [i for i, k in enumerate(self._keys) if k not in new]
        if gone:
            end = len(gone) - 1
            while end >= 0:
                start = end
                while start > 0 and gone[start - 1] == gone[start] - 1:
                    start -= 1
                first, last = gone[start], gone[end]
                self.beginRemoveRows(QModelIndex(), first, last)
                del self._keys[first : last + 1]
                del self._values[first : last + 1]
                self.endRemoveRows()
                end = start - 1
            self._row_of = {k: i for i, k in enumerate(self._keys)}

        # 2. Changed cells: one dataChanged over their bounding box.
        top = left = 1 << 30
        bottom = right = -1
        values = self._values
        for i, key in enumerate(self._keys):
            fresh = new[key]
            old = values[i]
            if fresh == old:
                continue
            values[i] = fresh
            if len(fresh) != len(old):
                cols = range(len(self.columns))
            else:
                cols = [c for c, (a, b) in enumerate(zip(old, fresh, strict=True)) if a != b]
            top = min(top, i)
            bottom = max(bottom, i)
            left = min(left, cols[0])
            right = max(right, cols[-1])
        if bottom >= 0:
            self.dataChanged.emit(self.index(top, left), self.index(bottom, right))

        # 3. Insertions, appended in the order given.
        added = [k for k in order if k not in self._row_of]
        if added:
            first = len(self._keys)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            for key in added:
                self._row_of[key] = len(self._keys)
                self._keys.append(key)
                self._values.append(new[key])
            self.endInsertRows()

    # -- lookups ---------------------------------------------------------------------

    def key_at(self, row: int) -> Hashable | None:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def row_of(self, key: Hashable) -> int:
        return self._row_of.get(key, -1)

    def values_at(self, row: int) -> tuple:
        return self._values[row]

    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def column_texts(self, col: int, limit: int) -> list[tuple[int, str]]:
        """``(row, displayed text)`` of column ``col`` for the first ``limit`` rows,
        formatted in Python in one pass (views measure columns from this instead of
        asking Qt to call :meth:`data` for every cell)."""
        formatter = self.columns[col].fmt
        return [(row, "" if values[col] is None else formatter(values[col]))
                for row, values in enumerate(self._values[:limit])]

    # -- Qt's model interface ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if row >= len(self._values) or col >= len(self.columns):
            return None
        value = self._values[row][col]
        column = self.columns[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if value is None else column.fmt(value)
        if role == SORT_ROLE:
            if value is None:
                return -1 if column.numeric else ""
            return value
        if role == KEY_ROLE:
            return self._keys[row]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if column.numeric else _LEFT)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.tooltip(row, col)
            return fmt.plain_tooltip(str(tip)) if tip else None
        return self.style(row, col, role)

    def multiData(self, index: Index, roleDataSpan: Any) -> None:  # noqa: N802,N803 - Qt's
        """Every role a delegate asks for, in one call (Qt 6's item delegates ask for ~7
        roles per cell at once): one call from C++ into Python per cell painted instead of
        one per role, each of which must take the GIL (behind a busy broker thread, a
        wait of up to the switch interval)."""
        row, col = index.row(), index.column()
        if not index.isValid() or row >= len(self._values) or col >= len(self.columns):
            for role_data in roleDataSpan:
                role_data.clearData()
            return
        if type(self).data is not KeyedTableModel.data:  # a subclass answers roles itself
            for role_data in roleDataSpan:
                out = self.data(index, role_data.role())
                if out is None:
                    role_data.clearData()
                else:
                    role_data.setData(out)
            return
        value = self._values[row][col]
        column = self.columns[col]
        for role_data in roleDataSpan:
            role = role_data.role()
            if role == _DISPLAY:
                out = "" if value is None else column.fmt(value)
            elif role == _ALIGNMENT:
                out = _RIGHT_INT if column.numeric else _LEFT_INT
            elif role == SORT_ROLE or role == KEY_ROLE or role == _TOOLTIP:
                out = self.data(index, role)
            else:
                out = self.style(row, col, role)
            if out is None:
                role_data.clearData()
            else:
                role_data.setData(out)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip:
            return column.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if column.numeric else _LEFT)
        return None

    # -- hooks for subclasses ------------------------------------------------------------

    def style(self, row: int, col: int, role: int) -> Any:
        """Colours, fonts and decorations for a cell; ``None`` for the default."""
        return None

    def tooltip(self, row: int, col: int) -> Any:
        return None
