"""Topics: the table of topics, their partitions, per-topic throughput, and topic admin.

Contract: tables update on the slow tick from snapshots (diffed models), the selected
topic's chart on the fast tick from history. Actions open dialogs with ``open()``
(create, add partitions, edit retention, delete with confirmation); they run as broker
commands through :class:`~desktop.commands.Commands` and never block. The dialog being
shown is ``self.dialog`` (tests drive it).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.config import LogConfig
from core.monitor import ClusterSnapshot, TopicSnapshot
from desktop import format as fmt
from desktop.commands import Commands
from desktop.dialogs.add_partitions_dialog import AddPartitionsDialog
from desktop.dialogs.confirm_dialog import ConfirmDialog
from desktop.dialogs.create_topic_dialog import CreateTopicDialog
from desktop.dialogs.retention_dialog import RetentionDialog
from desktop.history import MonitorHistory
from desktop.models.partitions_model import PartitionsModel
from desktop.models.topics_model import TopicsModel
from desktop.theme import Theme, icon
from desktop.views.charts import LiveChart
from desktop.views.table import KeyedTableView
from desktop.views.widgets import DialogSlot, EmptyState, section_title, table_over_details


class TopicsView(QWidget):
    title = "Topics"

    def __init__(
        self,
        commands: Commands,
        theme: Theme,
        *,
        defaults: LogConfig | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TopicsView")
        self.commands = commands
        self.defaults = defaults or LogConfig()
        self.snapshot: ClusterSnapshot | None = None
        self._dialogs = DialogSlot()
        self._pending_select: str | None = None

        root = QVBoxLayout(self)
        root.setContentsMargins(18, 12, 18, 16)
        root.setSpacing(10)

        bar = QToolBar()
        bar.setObjectName("ViewToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.create_action = QAction(icon("add"), "Create topic…", self)
        self.add_partitions_action = QAction(icon("partitions"), "Add partitions…", self)
        self.retention_action = QAction(icon("clock"), "Edit retention…", self)
        self.delete_action = QAction(icon("delete"), "Delete…", self)
        for action in (
            self.create_action,
            self.add_partitions_action,
            self.retention_action,
            self.delete_action,
        ):
            bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter topics")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(240)
        bar.addWidget(self.filter)
        root.addWidget(bar)

        self.model = TopicsModel(self)
        self.table = KeyedTableView(self.model, sort_column=0, stretch_column=0)
        self.table.set_column_widths({1: 90, 2: 110, 3: 100, 4: 110, 5: 110, 6: 150})
        self.empty = EmptyState(
            "No topics yet. Create one here, or just produce to a name: the broker creates "
            "topics on first use."
        )

        details = QWidget()
        dl = QVBoxLayout(details)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.setSpacing(6)
        head = QHBoxLayout()
        self.detail_title = section_title("Select a topic")
        self.detail_info = QLabel("")
        self.detail_info.setObjectName("Muted")
        self.detail_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.detail_title)
        head.addSpacing(12)
        head.addWidget(self.detail_info, 1)
        dl.addLayout(head)
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.partitions_model = PartitionsModel(self)
        self.partitions = KeyedTableView(self.partitions_model, sort_column=0, stretch_column=None)
        self.partitions.set_column_widths({0: 60, 1: 70, 2: 90, 3: 80, 4: 80, 5: 60})
        self.chart = LiveChart("Messages per second", ("in", "out"), theme=theme)
        lower.addWidget(self.partitions)
        lower.addWidget(self.chart)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 1)
        lower.setSizes([560, 440])
        dl.addWidget(lower, 1)

        root.addWidget(
            table_over_details(self.table, self.empty, details, (3, 2), (240, 360)), 1
        )

        self.create_action.triggered.connect(self.open_create_dialog)
        self.add_partitions_action.triggered.connect(self.open_add_partitions_dialog)
        self.retention_action.triggered.connect(self.open_retention_dialog)
        self.delete_action.triggered.connect(self.open_delete_dialog)
        self.filter.textChanged.connect(self.table.set_filter)
        self.table.selection_changed.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda *_: self.open_retention_dialog())
        self._update_actions()
        self._update_empty()

    # -- ticks -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.chart.apply_theme(theme)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.snapshot = snap
        self.model.update(snap, history.topic_rates)
        self.table.ensure_selection()
        self._update_details()
        self._update_empty()

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible():
            return
        name = self.selected_topic()
        ring = history.topics.get(name) if name else None
        if ring is None:
            self.chart.clear_series()
            return
        data = ring.view()
        self.chart.set_series(data[0], (data[1], data[2]), history.now)

    # -- selection ---------------------------------------------------------------------

    def selected_topic(self) -> str | None:
        key = self.table.selected_key()
        return str(key) if key is not None else None

    def _selected_snapshot(self) -> TopicSnapshot | None:
        name = self.selected_topic()
        if name is None or self.snapshot is None:
            return None
        return self.snapshot.topic(name)

    def _selection_changed(self, _key: object) -> None:
        self._update_details()
        self._update_actions()

    def _update_details(self) -> None:
        t = self._selected_snapshot()
        self.partitions_model.update(t)
        if t is None:
            self.detail_title.setText("Select a topic")
            self.detail_info.setText("")
            self.chart.clear_series()
            return
        self.detail_title.setText(t.name)
        overrides = ", ".join(f"{k}={v}" for k, v in t.configs) or "broker defaults"
        self.detail_info.setText(
            f"{t.partition_count} partitions · {fmt.count(t.messages)} messages · "
            f"{fmt.size(t.size_bytes)} in {t.segment_count} segments · "
            f"segment size {fmt.size(t.segment_bytes)} · {overrides} · id {t.topic_id}"
        )
        self._update_actions()

    def _update_actions(self) -> None:
        has = self.selected_topic() is not None
        self.add_partitions_action.setEnabled(has)
        self.retention_action.setEnabled(has)
        self.delete_action.setEnabled(has)

    def _update_empty(self) -> None:
        self.empty.show_instead_of(self.table, self.model.rowCount() == 0)

    # -- actions -----------------------------------------------------------------------

    @property
    def dialog(self) -> QDialog | None:
        """The dialog this view has open, if any (tests drive it)."""
        return self._dialogs.current

    def _show(self, dialog: QDialog) -> None:
        self._dialogs.open(dialog)

    def existing_topics(self) -> set[str]:
        return {t.name for t in self.snapshot.topics} if self.snapshot else set()

    def open_create_dialog(self) -> CreateTopicDialog:
        dialog = CreateTopicDialog(
            self.commands, defaults=self.defaults, existing=self.existing_topics, parent=self
        )

        def created(result: int) -> None:
            if result == QDialog.DialogCode.Accepted and dialog.result_value:
                self._select_when_present(str(dialog.result_value))

        dialog.finished.connect(created)
        self._show(dialog)
        return dialog

    def _select_when_present(self, name: str) -> None:
        self._pending_select = name
        if not self.table.select_key(name):
            # Not in the table yet: select it on the refresh that follows the command.
            self.commands.service.command_done.connect(self._try_pending_select)

    def _try_pending_select(self) -> None:
        name = getattr(self, "_pending_select", None)
        if name and self.table.select_key(name):
            self._pending_select = None
            self.commands.service.command_done.disconnect(self._try_pending_select)

    def open_add_partitions_dialog(self) -> AddPartitionsDialog | None:
        t = self._selected_snapshot()
        if t is None:
            return None
        dialog = AddPartitionsDialog(self.commands, t.name, t.partition_count, parent=self)
        self._show(dialog)
        return dialog

    def open_retention_dialog(self) -> RetentionDialog | None:
        t = self._selected_snapshot()
        if t is None:
            return None
        dialog = RetentionDialog(
            self.commands,
            t.name,
            t.retention_ms,
            t.retention_bytes,
            defaults=self.defaults,
            parent=self,
        )
        self._show(dialog)
        return dialog

    def open_delete_dialog(self) -> ConfirmDialog | None:
        t = self._selected_snapshot()
        if t is None:
            return None
        name = t.name
        dialog = ConfirmDialog(
            f"Delete topic {name}?",
            f"<b>{name}</b> and its {t.partition_count} partitions "
            f"({fmt.count(t.messages)} messages, {fmt.size(t.size_bytes)}) will be deleted "
            "from disk. Producers and consumers of it will get errors. This cannot be undone.",
            "Delete topic",
            lambda done: self.commands.delete_topic(name, done),
            parent=self,
        )
        self._show(dialog)
        return dialog
