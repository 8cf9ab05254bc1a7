"""Consumer groups: the groups table and, for the selected group, its members, assignment,
lag per partition (table and live chart) and rebalance timeline; plus group admin.

Contract: tables and drawings update on the slow tick from snapshots; the lag chart on the
fast tick from history (one line per partition, in its member's colour). Actions: start N
in-process consumers into a new or existing group, stop them, reset offsets (the dialog
explains why not when the group has members) and delete an empty group, each through
:class:`~desktop.commands.Commands` without blocking. ``self.dialog`` is the open dialog.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
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

from core.monitor import ClusterSnapshot, GroupSnapshot
from desktop import format as fmt
from desktop.commands import Commands, error_text
from desktop.dialogs.confirm_dialog import ConfirmDialog
from desktop.dialogs.reset_offsets_dialog import ResetOffsetsDialog
from desktop.dialogs.start_consumers_dialog import StartConsumersDialog
from desktop.history import MonitorHistory
from desktop.models.groups_model import GroupsModel
from desktop.models.lag_model import LagModel
from desktop.models.members_model import MembersModel, member_color_index
from desktop.theme import Theme, icon
from desktop.views.assignment_widget import AssignmentWidget
from desktop.views.charts import MultiLineChart
from desktop.views.rebalance_timeline import RebalanceTimeline
from desktop.views.table import KeyedTableView
from desktop.views.widgets import DialogSlot, EmptyState, section_title, table_over_details


class GroupsView(QWidget):
    title = "Consumer groups"

    def __init__(self, commands: Commands, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GroupsView")
        self.commands = commands
        self.theme = theme
        self.snapshot: ClusterSnapshot | None = None
        self._dialogs = DialogSlot()
        self._pending_select: str | None = None

        root = QVBoxLayout(self)
        root.setContentsMargins(18, 12, 18, 16)
        root.setSpacing(10)

        bar = QToolBar()
        bar.setObjectName("ViewToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.start_action = QAction(icon("play"), "Start consumers…", self)
        self.stop_action = QAction(icon("stop"), "Stop consumers", self)
        self.reset_action = QAction(icon("rewind"), "Reset offsets…", self)
        self.delete_action = QAction(icon("delete"), "Delete group…", self)
        for action in (self.start_action, self.stop_action, self.reset_action, self.delete_action):
            bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter groups")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(240)
        bar.addWidget(self.filter)
        root.addWidget(bar)
        self.status = QLabel("")
        self.status.setObjectName("ErrorLabel")
        self.status.setWordWrap(True)
        self.status.hide()
        root.addWidget(self.status)

        self.model = GroupsModel(self)
        self.model.set_theme(theme)
        self.table = KeyedTableView(self.model, sort_column=0, stretch_column=0)
        self.table.set_column_widths({1: 150, 2: 90, 3: 110, 4: 100, 5: 120})
        self.empty = EmptyState(
            "No consumer groups yet. Start consumers here, or point any Kafka consumer with "
            "a group.id at the bootstrap address."
        )

        # Details of the selected group.
        details = QWidget()
        dl = QVBoxLayout(details)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.setSpacing(6)
        head = QHBoxLayout()
        self.detail_title = section_title("Select a group")
        self.detail_info = QLabel("")
        self.detail_info.setObjectName("Muted")
        head.addWidget(self.detail_title)
        head.addSpacing(12)
        head.addWidget(self.detail_info, 1)
        dl.addLayout(head)

        cols = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(6)
        self.members_model = MembersModel(self)
        self.members_model.set_theme(theme)
        self.members = KeyedTableView(self.members_model, sort_column=0, stretch_column=3)
        self.members.set_column_widths({0: 120, 1: 170, 2: 90})
        self.assignment = AssignmentWidget()
        self.assignment.set_theme(theme)
        ll.addWidget(section_title("Members"))
        ll.addWidget(self.members, 3)
        ll.addWidget(section_title("Partition assignment"))
        ll.addWidget(self.assignment, 2)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(6)
        self.lag_chart = MultiLineChart("Lag per partition (messages)", theme=theme)
        self.lag_model = LagModel(self)
        self.lag_model.set_theme(theme)
        self.lag_table = KeyedTableView(self.lag_model, sort_column=0, stretch_column=5)
        self.lag_table.set_column_widths({0: 110, 1: 70, 2: 90, 3: 110, 4: 70})
        rl.addWidget(self.lag_chart, 1)
        rl.addWidget(self.lag_table, 1)
        cols.addWidget(left)
        cols.addWidget(right)
        cols.setStretchFactor(0, 1)
        cols.setStretchFactor(1, 1)
        dl.addWidget(cols, 1)
        dl.addWidget(section_title("Rebalances"))
        self.timeline = RebalanceTimeline()
        self.timeline.set_theme(theme)
        dl.addWidget(self.timeline)

        root.addWidget(
            table_over_details(self.table, self.empty, details, (1, 3), (170, 520)), 1
        )

        self.start_action.triggered.connect(self.open_start_dialog)
        self.stop_action.triggered.connect(self.stop_consumers)
        self.reset_action.triggered.connect(self.open_reset_dialog)
        self.delete_action.triggered.connect(self.open_delete_dialog)
        self.filter.textChanged.connect(self.table.set_filter)
        self.table.selection_changed.connect(lambda _k: self._update_details())
        self._update_actions()
        self._update_empty()

    # -- ticks -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.model.set_theme(theme)
        self.members_model.set_theme(theme)
        self.lag_model.set_theme(theme)
        self.assignment.set_theme(theme)
        self.timeline.set_theme(theme)
        self.lag_chart.apply_theme(theme)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.snapshot = snap
        self.model.update(snap)
        if self._pending_select and self.table.select_key(self._pending_select):
            self._pending_select = None
        self.table.ensure_selection()
        self._update_details()
        self._update_empty()

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible():
            return
        group = self.selected_group()
        if group is None:
            self.lag_chart.set_lines({}, history.now)
            return
        slots = member_color_index(group)
        muted = QColor(self.theme.muted)
        lines = {}
        for o in group.offsets:
            ring = history.partition_lag.get((group.group_id, o.topic, o.partition))
            if ring is None:
                continue
            data = ring.view()
            color = self.theme.member_color(slots[o.member_id]) if o.member_id in slots else muted
            lines[(o.topic, o.partition)] = (data[0], data[1], color)
        self.lag_chart.set_lines(lines, history.now)

    # -- selection ---------------------------------------------------------------------

    def selected_group_id(self) -> str | None:
        key = self.table.selected_key()
        return str(key) if key is not None else None

    def selected_group(self) -> GroupSnapshot | None:
        gid = self.selected_group_id()
        if gid is None or self.snapshot is None:
            return None
        return self.snapshot.group(gid)

    def select_group(self, group_id: str) -> bool:
        return self.table.select_key(group_id)

    def _update_details(self) -> None:
        g = self.selected_group()
        self.members_model.update(g)
        self.lag_model.update(g)
        self.assignment.set_group(g)
        self.timeline.set_group(g, self.snapshot.taken_at if self.snapshot else None)
        if g is None:
            self.detail_title.setText("Select a group")
            self.detail_info.setText("")
        else:
            self.detail_title.setText(g.group_id)
            leader = next((m.client_id for m in g.members if m.member_id == g.leader), None)
            parts = [
                g.state,
                f"generation {g.generation}",
                f"{len(g.members)} member{'s' if len(g.members) != 1 else ''}",
            ]
            if g.assignor:
                parts.append(f"assignor {g.assignor}")
            if leader:
                parts.append(f"leader {leader}")
            parts.append(f"total lag {fmt.count(g.total_lag)}")
            own = self.commands.consumer_count(g.group_id)
            if own:
                parts.append(f"{own} started here")
            self.detail_info.setText(" · ".join(parts))
        self._update_actions()

    def _update_actions(self) -> None:
        g = self.selected_group()
        self.reset_action.setEnabled(g is not None)
        self.delete_action.setEnabled(g is not None)
        self.stop_action.setEnabled(g is not None and self.commands.consumer_count(g.group_id) > 0)
        if g is not None and g.members:
            self.reset_action.setToolTip(
                "Offsets can only be reset while the group has no active members"
            )
        else:
            self.reset_action.setToolTip("Move the group's committed offsets")

    def _update_empty(self) -> None:
        self.empty.show_instead_of(self.table, self.model.rowCount() == 0)

    # -- actions -----------------------------------------------------------------------

    @property
    def dialog(self) -> QDialog | None:
        """The dialog this view has open, if any (tests drive it)."""
        return self._dialogs.current

    def _show(self, dialog: QDialog) -> None:
        self._dialogs.open(dialog)

    def open_start_dialog(self) -> StartConsumersDialog:
        snap = self.snapshot
        groups = [g.group_id for g in snap.groups] if snap else []
        topics = [t.name for t in snap.topics] if snap else []
        selected = self.selected_group()
        dialog = StartConsumersDialog(
            self.commands,
            groups,
            topics,
            group=selected.group_id if selected else None,
            topic=(selected.topics[0] if selected and selected.topics else None),
            parent=self,
        )

        def started(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self._pending_select = dialog.group.currentText().strip()

        dialog.finished.connect(started)
        self._show(dialog)
        return dialog

    def stop_consumers(self) -> None:
        gid = self.selected_group_id()
        if gid is None:
            return
        self.commands.stop_consumers(gid, self._report)

    def _report(self, _result: object, error: BaseException | None) -> None:
        if error is not None:
            self.status.setText(error_text(error))
            self.status.show()
        else:
            self.status.hide()
        self._update_actions()

    def open_reset_dialog(self) -> ResetOffsetsDialog | None:
        g = self.selected_group()
        if g is None:
            return None
        dialog = ResetOffsetsDialog(self.commands, g, parent=self)
        self._show(dialog)
        return dialog

    def open_delete_dialog(self) -> ConfirmDialog | None:
        g = self.selected_group()
        if g is None:
            return None
        gid = g.group_id
        dialog = ConfirmDialog(
            f"Delete group {gid}?",
            f"<b>{gid}</b> and its committed offsets will be deleted. Kafka deletes only "
            "groups without active members.",
            "Delete group",
            lambda done: self.commands.delete_group(gid, done),
            parent=self,
        )
        if g.members:
            dialog.hint.setText(
                f"{gid} has {len(g.members)} active member(s); the broker will refuse "
                "(NON_EMPTY_GROUP) until they leave."
            )
            dialog.hint.show()
        self._show(dialog)
        return dialog
