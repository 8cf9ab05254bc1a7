"""The event log: what happened to topics, groups and clients, newest at the bottom.

Contract: appends the snapshot's new events on the slow tick (the model is append-only and
bounded), filterable by kind and by text; follows the newest event while the user is
scrolled to the bottom, and stays put while they read older ones.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QTableView, QWidget
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import vbox
from streamscope.desktop.models.events_model import EventFilterModel, EventsModel, kind_label
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.table import list_look
from streamscope.desktop.views.widgets import filter_box


class EventLogView(QWidget):
    title = "Event log"

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EventLogView")
        layout = vbox(self, (8, 6, 8, 6), spacing=6)
        row = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItem("All events", None)
        self.kind.setMinimumWidth(170)
        self.text = filter_box("Filter events")
        row.addWidget(self.kind)
        row.addWidget(self.text, 1)
        layout.addLayout(row)
        self.model = EventsModel(self)
        self.model.set_theme(theme)
        self.proxy = EventFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        list_look(self.table, row_height=24)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(0, 100)
        self.table.setColumnWidth(1, 170)
        layout.addWidget(self.table, 1)
        self.kind.currentIndexChanged.connect(
            lambda _i: self.proxy.set_kind(self.kind.currentData())
        )
        self.text.textChanged.connect(self.proxy.set_text)
        self._kinds: set[str] = set()

    def apply_theme(self, theme: Theme) -> None:
        self.model.set_theme(theme)

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        pass

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        bar = self.table.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 2
        before = self.model.rowCount()
        self.model.update(snap)
        new_kinds = self.model.kinds_seen - self._kinds
        for kind in sorted(new_kinds):
            self.kind.addItem(kind_label(kind), kind)
        self._kinds |= new_kinds
        if follow and self.model.rowCount() != before:
            self.table.scrollToBottom()

    def row_texts(self) -> list[tuple[str, str]]:
        """(event label, details) of the rows shown, for tests."""
        out = []
        for row in range(self.proxy.rowCount()):
            out.append(
                (
                    self.proxy.index(row, 1).data(Qt.ItemDataRole.DisplayRole),
                    self.proxy.index(row, 2).data(Qt.ItemDataRole.DisplayRole),
                )
            )
        return out
