"""A keyed table model updated by diffing: the base of every snapshot-backed Qt model.

Contract: a subclass declares its ``columns`` and turns a snapshot into rows of
``(key, values)``; :meth:`KeyedTableModel.set_rows` then compares them with what the model
holds and tells views exactly what changed: ``beginRemoveRows``/``endRemoveRows`` for
keys that went away, one ``dataChanged`` over the bounding box of changed cells, and
``beginInsertRows``/``endInsertRows`` for new keys (appended; views sort through a proxy).
It never resets the model, so selection, scroll position and sorting survive every tick.

Values are kept raw (numbers stay numbers); ``Qt.DisplayRole`` formats them through the
column's formatter and :data:`SORT_ROLE` returns the raw value for proxies to sort by.

Views draw the :attr:`KeyedTableModel.mirror`, a ``QStandardItemModel`` (C++) holding every
role a painted or sorted cell needs as :meth:`data` answers it (tooltips are asked of this
model when one is shown), kept in step from this model's own signals:
rows removed and inserted, cells changed (the cells :meth:`set_rows` found changed and
the styled cells of their rows, or the whole range a subclass announces), and, on every
:meth:`set_rows`, the cells of the ``restyled_columns`` (whose colours, fonts and
decorations follow state outside their row).
Painting, sorting and measuring then never call into Python: each such call had to take
the GIL from the broker's busy thread, and table repaints were the GUI's longest stalls
under load (issue 13).
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
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QStandardItemModel
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
# The roles a cell's mirror holds besides display, alignment, sort and key: what Qt's item
# delegate asks for when it paints (check states are not used here).
_NO_ROLES: dict[int, Any] = {}
_STYLE_ROLES = (
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.DecorationRole,
)

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
    # The columns whose cells may have a style (``style``: font, colours, decoration); the
    # mirror re-reads them when any value in their row changes. None: every column, if
    # the subclass styles cells at all.
    styled_columns: tuple[int, ...] | None = None
    # The styled columns whose styles follow state outside their row (a member's colour
    # slot, a topic's disk problems): re-read on every set_rows. None: all of them.
    # Models that leave one out call restyle() when that state changes.
    restyled_columns: tuple[int, ...] | None = None

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._keys: list[Hashable] = []
        self._values: list[tuple] = []
        self._row_of: dict[Hashable, int] = {}
        self.mirror = QStandardItemModel(0, len(self.columns), self)
        # Per row, per column: the roles the mirror holds, (from the value, from style).
        self._mirrored: list[list[tuple[dict, dict]]] = []
        self._changed_cells: list[tuple[int, Sequence[int]]] | None = None
        cls = type(self)
        self._own_data = cls.data is not KeyedTableModel.data
        styles = self._own_data or cls.style is not KeyedTableModel.style
        if not styles:
            self._styled: tuple[int, ...] = ()
        elif self.styled_columns is None:
            self._styled = tuple(range(len(self.columns)))
        else:
            self._styled = tuple(self.styled_columns)
        self._styled_set = frozenset(self._styled)
        self._restyled = (self._styled if self.restyled_columns is None
                          else tuple(self.restyled_columns))
        for col, column in enumerate(self.columns):
            mirror = self.mirror
            mirror.setHeaderData(col, Qt.Orientation.Horizontal, column.title, _DISPLAY)
            mirror.setHeaderData(col, Qt.Orientation.Horizontal,
                                 _RIGHT_INT if column.numeric else _LEFT_INT, _ALIGNMENT)
            if column.tooltip:
                mirror.setHeaderData(col, Qt.Orientation.Horizontal, column.tooltip, _TOOLTIP)
        self.rowsInserted.connect(self._mirror_inserted)
        self.rowsRemoved.connect(self._mirror_removed)
        self.dataChanged.connect(self._mirror_changed)
        self.modelReset.connect(self._mirror_rebuild)
        self.layoutChanged.connect(self._mirror_rebuild)

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
        changed: list[tuple[int, Sequence[int]]] = []
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
            changed.append((i, cols))
            top = min(top, i)
            bottom = max(bottom, i)
            left = min(left, cols[0])
            right = max(right, cols[-1])
        if bottom >= 0:
            self._changed_cells = changed
            try:
                self.dataChanged.emit(self.index(top, left), self.index(bottom, right))
            finally:
                self._changed_cells = None

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

        # 4. What the mirror cannot learn from a value: styles that follow other state.
        if self._restyled and self._keys:
            restyled = self._restyled
            self._mirror_cells((row, (), restyled) for row in range(len(self._keys)))

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

    # -- the mirror views draw -------------------------------------------------------

    def _base_roles(self, row: int, col: int) -> dict[int, Any]:
        """Display, alignment, sort and key: what follows from the cell's value."""
        if self._own_data:
            index = self.index(row, col)
            out = {}
            for role in (_DISPLAY, _ALIGNMENT, SORT_ROLE, KEY_ROLE):
                got = self.data(index, role)
                if got is not None:
                    out[role] = got
            if type(out.get(SORT_ROLE)) is int:
                out[SORT_ROLE] = float(out[SORT_ROLE])  # see below
            return out
        value = self._values[row][col]
        column = self.columns[col]
        if value is None:
            return {_DISPLAY: "", SORT_ROLE: -1.0 if column.numeric else "",
                    _ALIGNMENT: _RIGHT_INT if column.numeric else _LEFT_INT,
                    KEY_ROLE: self._keys[row]}
        # Numbers sort as doubles: Qt's proxy converts a cell's sort value to the *left*
        # one's type, so an int beside a 64-bit int (2 GiB and more) overflows and sorts
        # wrong.
        return {_DISPLAY: column.fmt(value),
                SORT_ROLE: float(value) if type(value) is int else value,
                _ALIGNMENT: _RIGHT_INT if column.numeric else _LEFT_INT,
                KEY_ROLE: self._keys[row]}

    def _style_roles(self, row: int, col: int) -> dict[int, Any]:
        """Fonts, colours and decorations: what :meth:`style` says (state besides the
        value may change them). Tooltips are not mirrored: a view asks :meth:`data` for
        one when the pointer rests on a cell (``KeyedTableView.cell_tooltip``)."""
        out = {}
        if self._own_data:
            index = self.index(row, col)
            for role in _STYLE_ROLES:
                got = self.data(index, role)
                if got is not None:
                    out[role] = got
            return out
        for role in _STYLE_ROLES:
            got = self.style(row, col, role)
            if got is not None:
                out[role] = got
        return out

    def _mirror_cells(self, cells: Iterable[tuple[int, Sequence[int], Sequence[int]]]) -> None:
        """Bring the mirror's copies up to date: for each ``(row, value columns, style
        columns)``, re-read those cells' values, and those cells' styles (styled columns
        only); one ``dataChanged`` over the box of the cells that differed."""
        mirror, mirrored, styled = self.mirror, self._mirrored, self._styled_set
        top = left = 1 << 30
        bottom = right = -1
        blocked = mirror.blockSignals(True)
        try:
            for row, value_cols, style_cols in cells:
                held = mirrored[row]
                fresh: dict[int, list] = {}
                for col in value_cols:
                    fresh[col] = [self._base_roles(row, col), held[col][1]]
                for col in style_cols:
                    if col in styled:
                        fresh.setdefault(col, [held[col][0], None])[1] = (
                            self._style_roles(row, col))
                for col, (base, style) in fresh.items():
                    old_base, old_style = held[col]
                    if base == old_base and style == old_style:
                        continue
                    index = mirror.index(row, col)
                    if old_style.keys() - style.keys() or old_base.keys() - base.keys():
                        mirror.clearItemData(index)
                    mirror.setItemData(index, {**base, **style} if style else base)
                    held[col] = (base, style)
                    top, bottom = min(top, row), max(bottom, row)
                    left, right = min(left, col), max(right, col)
        finally:
            mirror.blockSignals(blocked)
        if bottom >= 0:
            mirror.dataChanged.emit(mirror.index(top, left), mirror.index(bottom, right))

    def restyle(self) -> None:
        """Re-read every styled cell's style into the mirror (after state it follows
        changed, e.g. a theme, where no set_rows follows)."""
        styled = self._styled
        if styled and self._keys:
            self._mirror_cells((row, (), styled) for row in range(len(self._keys)))

    def _mirror_inserted(self, parent: Index, first: int, last: int) -> None:
        if parent.isValid():
            return
        count = last - first + 1
        columns = len(self.columns)
        self._mirrored[first:first] = [[(_NO_ROLES, _NO_ROLES)] * columns for _ in range(count)]
        # Empty rows first (the proxy places them), then their data in one dataChanged
        # (the proxy sorts and filters them where they belong).
        self.mirror.insertRows(first, count)
        every = range(columns)
        self._mirror_cells((row, every, every) for row in range(first, last + 1))

    def _mirror_removed(self, parent: Index, first: int, last: int) -> None:
        if parent.isValid():
            return
        del self._mirrored[first : last + 1]
        self.mirror.removeRows(first, last - first + 1)

    def _mirror_changed(self, top_left: Index, bottom_right: Index, *_roles: object) -> None:
        if self._changed_cells is not None:  # from set_rows: exactly these cells
            styled = self._styled  # a row's styles may follow any of its values
            self._mirror_cells((row, cols, styled) for row, cols in self._changed_cells)
            return
        if not top_left.isValid() or not bottom_right.isValid():
            return
        cols = range(top_left.column(), bottom_right.column() + 1)
        last = min(bottom_right.row(), len(self._mirrored) - 1)
        self._mirror_cells((row, cols, cols) for row in range(top_left.row(), last + 1))

    def _mirror_rebuild(self, *_: object) -> None:
        self.mirror.removeRows(0, self.mirror.rowCount())
        self._mirrored.clear()
        if self._keys:
            self._mirror_inserted(QModelIndex(), 0, len(self._keys) - 1)

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
