"""The broker's event log (topic created/deleted, member joined/left, rebalances, errors).

Contract: append-only and bounded. :meth:`EventsModel.update` appends the snapshot's events
newer than the last one it holds (by sequence number) with ``beginInsertRows``, and drops
the oldest rows with ``beginRemoveRows`` beyond :data:`MAX_ROWS`. :class:`EventFilterModel`
filters by kind and by text for the event log view. Details carry their full text as a
tooltip, since the column elides long names.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from streamscope.core.monitor import ClusterSnapshot, EventSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import roll_rows
from streamscope.desktop.theme import LIGHT, Theme

MAX_ROWS = 5000

Index = QModelIndex | QPersistentModelIndex

KIND_LABELS = {
    "topic_created": "Topic created",
    "topic_deleted": "Topic deleted",
    "topic_altered": "Topic altered",
    "partitions_added": "Partitions added",
    "member_joined": "Member joined",
    "member_left": "Member left",
    "rebalance_started": "Rebalance started",
    "rebalance_completed": "Rebalance completed",
    "group_deleted": "Group deleted",
    "offsets_reset": "Offsets reset",
    "client_connected": "Client connected",
    "client_disconnected": "Client disconnected",
    "broker_started": "Broker started",
    "error": "Error",
    # Issue 13: a partition's disk failed or recovered, or it is offline; refused connections.
    "storage": "Storage",
    "connection": "Connection refused",
}
# Kinds drawn in the theme's "bad" colour: something a user must look at.
BAD_KINDS = frozenset({"error", "storage", "connection"})


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


class EventsModel(QAbstractTableModel):
    TIME, KIND, MESSAGE = range(3)
    KIND_ROLE = Qt.ItemDataRole.UserRole + 3
    headers = ("Time", "Event", "Details")

    def __init__(self, parent: Any = None, max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self._events: list[EventSnapshot] = []
        self._max = max_rows
        self._theme: Theme = LIGHT
        self.kinds_seen: set[str] = set()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    @property
    def last_seq(self) -> int:
        return self._events[-1].seq if self._events else 0

    def update(self, snap: ClusterSnapshot) -> None:
        last = self.last_seq
        events = snap.events
        if not events or events[-1].seq <= last:
            return
        # Events are in seq order: find the first new one from the end.
        i = len(events)
        while i > 0 and events[i - 1].seq > last:
            i -= 1
        fresh = events[i:]
        if len(fresh) > self._max:
            fresh = fresh[-self._max :]
        roll_rows(self, self._events, len(self._events) + len(fresh) - self._max, fresh)
        for ev in fresh:
            self.kinds_seen.add(ev.kind)

    def event_at(self, row: int) -> EventSnapshot:
        return self._events[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._events):
            return None
        ev = self._events[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.TIME:
                return fmt.clock(ev.ts)
            if col == self.KIND:
                return kind_label(ev.kind)
            return ev.message
        if role == self.KIND_ROLE:
            return ev.kind
        if role == Qt.ItemDataRole.ToolTipRole and col == self.TIME:
            return fmt.timestamp(ev.ts)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.MESSAGE:
            return fmt.plain_tooltip(ev.message)  # the whole line, wherever it is elided
        if role == Qt.ItemDataRole.ForegroundRole and col == self.KIND:
            if ev.kind in BAD_KINDS:
                return QColor(self._theme.bad)
            if ev.kind.startswith("rebalance"):
                return QColor(self._theme.warn)
            if ev.kind.endswith("created") or ev.kind == "member_joined":
                return QColor(self._theme.ok)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < 3
        ):
            return self.headers[section]
        return None


class EventFilterModel(QSortFilterProxyModel):
    """Shows events of one kind (or all) whose text contains a filter string."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._kind: str | None = None
        self._text = ""

    def set_kind(self, kind: str | None) -> None:
        self._refilter(lambda: setattr(self, "_kind", kind or None))

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def _refilter(self, change) -> None:
        # Qt 6.10 replaced invalidateRowsFilter() with begin/endFilterChange().
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, EventsModel):
            return True
        ev = model.event_at(source_row)
        if self._kind and ev.kind != self._kind:
            return False
        if self._text and self._text not in ev.message.lower() and self._text not in ev.kind:
            return False
        return True
