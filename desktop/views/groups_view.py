"""Consumer groups: the groups table and, for the selected group, its members, assignment,
lag (live chart and table per partition) and rebalance timeline; plus group admin.

Contract: tables and drawings update on the slow tick from snapshots; the lag chart on the
fast tick from history. Members keep their colours while they live (the history's
:class:`~desktop.history.MemberColors`, shared by the members table, assignment chips, lag
table and chart). The lag chart shows either one line per partition (colours by partition,
named in a legend) or the total lag of each member's partitions (in the member's colour,
plus "unassigned"), chosen with the buttons above it; its y axis starts at 0 and rescales
to what it shows, so it never keeps another group's scale. The members table shows each
member's time since its last heartbeat against its session timeout, and marks members
that missed heartbeats; the groups table says so in its Health column.

Actions: start N in-process consumers into a new or existing group, stop them, reset
offsets (the dialog explains why not when the group has members) and delete an empty
group, each through :class:`~desktop.commands.Commands` without blocking.
``self.dialog`` is the open dialog.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QSplitter,
    QToolButton,
    QWidget,
)
from streamscope.core.monitor import ClusterSnapshot, GroupSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands, error_text
from streamscope.desktop.dialogs.confirm_dialog import DeleteDialog
from streamscope.desktop.dialogs.reset_offsets_dialog import ResetOffsetsDialog
from streamscope.desktop.dialogs.start_consumers_dialog import StartConsumersDialog
from streamscope.desktop.history import UNASSIGNED, MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.groups_model import GroupsModel
from streamscope.desktop.models.lag_model import LagModel
from streamscope.desktop.models.members_model import MembersModel, member_color_index
from streamscope.desktop.theme import Theme, icon
from streamscope.desktop.views.admin_view import AdminView
from streamscope.desktop.views.assignment_widget import AssignmentWidget
from streamscope.desktop.views.charts import ChartLegend, MultiLineChart
from streamscope.desktop.views.member_menu import MemberMenu
from streamscope.desktop.views.rebalance_timeline import RebalanceTimeline
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import (
    EmptyState,
    section_title,
    table_over_details,
    text_toggle,
)

# Rows the groups list shows before it scrolls (the splitter may give it more).
GROUP_ROWS = 5
# Lines the lag legend names; more are drawn but summed up as "+N more".
LEGEND_MAX = 12
PER_PARTITION = "partition"
PER_MEMBER = "member"

# Partition lines get their own palette, apart from the member colours, so a line is
# never mistaken for a member; darker and lighter variants for the two backgrounds.
_PARTITION_COLORS_LIGHT = (
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
    "#1f78b4", "#b2182b", "#4d4d4d", "#e6ab02", "#6a3d9a", "#01665e",
)
_PARTITION_COLORS_DARK = (
    "#4fd1a5", "#ff8c42", "#a59cf0", "#ff6fb5", "#9ad64f", "#d9a95b",
    "#6cb6ff", "#ff6b6b", "#c8c8c8", "#ffd23f", "#c39bef", "#4ec9bf",
)


def partition_color(theme: Theme, i: int) -> QColor:
    palette = _PARTITION_COLORS_DARK if theme.dark else _PARTITION_COLORS_LIGHT
    return QColor(palette[i % len(palette)])


LOCAL_EMPTY = ("No consumer groups yet. Start consumers here, or point any Kafka consumer "
               "with a group.id at the bootstrap address.")
WIRE_EMPTY = ("No consumer groups on this cluster yet. Point any Kafka consumer with a "
              "group.id at it, or run the simulation there (Simulation page).")

class GroupsView(AdminView[GroupSnapshot]):
    title = "Consumer groups"

    def __init__(self, commands: Commands, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(commands, parent)
        self.setObjectName("GroupsView")
        self.theme = theme
        self.history: MonitorHistory | None = None
        self.lag_mode = PER_PARTITION

        root = vbox(self, (18, 12, 18, 16), spacing=8)

        self.start_action = QAction(icon("play"), "Start consumers…", self)
        self.stop_action = QAction(icon("stop"), "Stop consumers", self)
        self.reset_action = QAction(icon("rewind"), "Reset offsets…", self)
        self.delete_action = QAction(icon("delete"), "Delete group…", self)
        actions = (self.start_action, self.stop_action, self.reset_action, self.delete_action)
        root.addWidget(self._toolbar(actions, "Filter groups"))
        self.status = named(plain_label(""), "ErrorLabel")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # errors quote group ids
        self.status.setWordWrap(True)
        self.status.hide()
        root.addWidget(self.status)

        self.model = GroupsModel(self)
        self.model.set_theme(theme)
        self.table = KeyedTableView(self.model, sort_column=0, stretch_column=0)
        self.table.set_column_widths({0: 160})
        self.table.setMinimumHeight(self._rows_height(self.table, GROUP_ROWS))
        self.empty = EmptyState(LOCAL_EMPTY)

        # Details of the selected group.
        details = QWidget()
        dl = vbox(details, (0, 4, 0, 0), spacing=6)
        head = QHBoxLayout()
        # Group ids and client ids are the clients' data: plain text, elided, never markup.
        self._detail_labels("Select a group", Qt.TextElideMode.ElideRight)
        head.addWidget(self.detail_title)
        head.addSpacing(12)
        head.addWidget(self.detail_info, 1)
        dl.addLayout(head)

        cols = QSplitter(Qt.Orientation.Horizontal)
        cols.setChildrenCollapsible(False)
        left = QWidget()
        ll = vbox(left, spacing=4)
        self.members_model = MembersModel(self)
        self.members_model.set_theme(theme)
        self.members = KeyedTableView(
            self.members_model, sort_column=0, stretch_column=MembersModel.HOST
        )
        self.members.setMinimumHeight(self._rows_height(self.members, 1))
        # Right click on a member: stop, kill, pause or resume one started here.
        self.member_menu = MemberMenu(self.members, commands, self.selected_group_id, self._report)
        self.assignment = AssignmentWidget()
        self.assignment.set_theme(theme)
        self.timeline = RebalanceTimeline()
        self.timeline.set_theme(theme)
        # No "Members" title: the line above says "3 members" and the table's header says
        # the rest; at 720 px with the event log open every row of height counts.
        ll.addWidget(self.members, 1)
        ll.addWidget(section_title("Partition assignment"))
        ll.addWidget(self.assignment)
        # The timeline is one line high, titled beside it: height is what 720 px lacks.
        rebalances = QHBoxLayout()
        rebalances.setSpacing(6)
        rebalances.addWidget(section_title("Rebalances"), 0, Qt.AlignmentFlag.AlignTop)
        rebalances.addWidget(self.timeline, 1)
        ll.addLayout(rebalances)

        right = QWidget()
        rl = vbox(right, spacing=4)
        lag_head = QHBoxLayout()
        lag_head.setSpacing(4)
        lag_head.addWidget(section_title("Lag (messages behind)"))
        lag_head.addStretch(1)
        self.per_partition_button = self._mode_button("Per partition", PER_PARTITION)
        self.per_member_button = self._mode_button("Per member", PER_MEMBER)
        self.per_partition_button.setChecked(True)
        self._modes = QButtonGroup(self)
        self._modes.setExclusive(True)
        for button in (self.per_partition_button, self.per_member_button):
            self._modes.addButton(button)
            lag_head.addWidget(button)
        rl.addLayout(lag_head)
        self.lag_legend = ChartLegend()
        rl.addWidget(self.lag_legend)
        self.lag_chart = MultiLineChart("", theme=theme)
        self.lag_chart.setMinimumHeight(80)
        self.lag_model = LagModel(self)
        self.lag_model.set_theme(theme)
        self.lag_table = KeyedTableView(
            self.lag_model, sort_column=0, stretch_column=LagModel.MEMBER
        )
        self.lag_table.setMinimumHeight(self._rows_height(self.lag_table, 1))
        rl.addWidget(self.lag_chart, 5)
        rl.addWidget(self.lag_table, 4)
        cols.addWidget(left)
        cols.addWidget(right)
        cols.setStretchFactor(0, 1)
        cols.setStretchFactor(1, 1)
        # The members table has the longer rows ("no heartbeat for 6.2 s of 10 s"); the
        # lag table without its topic column needs a little less.
        cols.setSizes([530, 510])
        dl.addWidget(cols, 1)

        root.addWidget(
            table_over_details(
                self.table, self.empty, details, (1, 3),
                (self._rows_height(self.table, GROUP_ROWS), 520),
            ),
            1,
        )

        self.start_action.triggered.connect(self.open_start_dialog)
        self.stop_action.triggered.connect(self.stop_consumers)
        self.reset_action.triggered.connect(self.open_reset_dialog)
        self.delete_action.triggered.connect(self.open_delete_dialog)
        self.filter.textChanged.connect(self.table.set_filter)
        self.table.selection_changed.connect(lambda _k: self._selection_changed())
        self._update_actions()
        self._update_empty()

    @staticmethod
    def _rows_height(table: KeyedTableView, rows: int) -> int:
        header = table.horizontalHeader().sizeHint().height()
        return header + rows * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth()

    def _mode_button(self, text: str, mode: str) -> QToolButton:
        button = text_toggle(text)
        button.setAutoRaise(True)
        button.toggled.connect(lambda on: on and self.set_lag_mode(mode))
        return button

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
        self.history = history
        self.model.update(snap, {g.group_id: history.group_trend(g.group_id) for g in snap.groups})
        self.empty.setText(WIRE_EMPTY if snap.external else LOCAL_EMPTY)
        # DescribeGroups does not carry the generation: no column of zeros for a cluster.
        if self.table.isColumnHidden(GroupsModel.GENERATION) != snap.external:
            self.table.setColumnHidden(GroupsModel.GENERATION, snap.external)
        if self._pending_select and self.table.select_key(self._pending_select):
            self._pending_select = None
        self.table.ensure_selection()
        self._update_details()
        self._update_empty()

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.history = history
        if not self.isVisible():
            return
        self._draw_lag(history)

    def set_lag_mode(self, mode: str) -> None:
        """``"partition"``: a line per partition; ``"member"``: total lag per member."""
        if mode not in (PER_PARTITION, PER_MEMBER):
            raise ValueError(f"unknown lag chart mode {mode!r}")
        self.lag_mode = mode
        button = self.per_partition_button if mode == PER_PARTITION else self.per_member_button
        if not button.isChecked():
            button.setChecked(True)
        if self.history is not None:
            self._draw_lag(self.history)

    def _draw_lag(self, history: MonitorHistory) -> None:
        group = self.selected_group()
        lines: dict = {}
        if group is not None and self.lag_mode == PER_PARTITION:
            # A partition's colour follows its number, so it stays put when partitions are
            # added or lag changes; a group's later topics are shifted along the palette.
            topic_index = {t: i for i, t in enumerate(group.topics)}
            for o in group.offsets:
                ring = history.partition_lag.get((group.group_id, o.topic, o.partition))
                if ring is None:
                    continue
                data = ring.view()
                color = partition_color(self.theme, o.partition + 5 * topic_index[o.topic])
                lines[(o.topic, o.partition)] = (data[0], data[1], color, f"{o.topic} {o.partition}")
        elif group is not None:
            slots = self._slots(group)
            for m in sorted(group.members, key=lambda m: (slots.get(m.member_id, 0), m.member_id)):
                ring = history.member_lag.get((group.group_id, m.member_id))
                if ring is None:
                    continue
                data = ring.view()
                color = self.theme.member_color(slots.get(m.member_id, 0))
                lines[m.member_id] = (data[0], data[1], color, m.client_id or m.member_id)
            ring = history.member_lag.get((group.group_id, UNASSIGNED))
            if ring is not None:
                data = ring.view()
                # Only while some partition has had no owner in the window shown.
                shown = int(np.searchsorted(data[0], history.now - self.lag_chart.window_s))
                if np.isfinite(data[1][shown:]).any():
                    lines[UNASSIGNED] = (data[0], data[1], QColor(self.theme.muted), "unassigned")
        self.lag_chart.set_lines(lines, history.now)
        legend = self.lag_chart.legend()[:LEGEND_MAX]
        more = max(0, self.lag_chart.line_count() - LEGEND_MAX)
        if self.lag_mode == PER_PARTITION:
            # "rider-locations  ■ 0  ■ 1 ...": each topic named once, partitions by number.
            entries: list[tuple[str, str]] = []
            topic = None
            for (t, p), (_label, color) in zip(list(lines)[:LEGEND_MAX], legend, strict=True):
                if t != topic:
                    entries.append((t, ""))
                    topic = t
                entries.append((str(p), color))
            legend = entries
        self.lag_legend.set_entries(legend, more)

    def _slots(self, group: GroupSnapshot) -> dict[str, int]:
        if self.history is None:
            return member_color_index(group)
        slots = self.history.member_colors.slots(group.group_id)
        # A member newer than the history's last update: give it a slot nobody has.
        used = set(slots.values())
        for m in sorted(group.members, key=lambda m: m.member_id):
            if m.member_id not in slots:
                slots[m.member_id] = next(i for i in itertools.count() if i not in used)
                used.add(slots[m.member_id])
        return slots

    # -- selection ---------------------------------------------------------------------

    selected_group_id = AdminView.selected_name

    selected_group = AdminView.selected_snapshot

    def _find(self, snap: ClusterSnapshot, name: str) -> GroupSnapshot | None:
        return snap.group(name)

    def select_group(self, group_id: str) -> bool:
        return self.table.select_key(group_id)

    def _selection_changed(self) -> None:
        self._update_details()
        # Redraw the chart at once: it must not show the previous group's lines or scale.
        if self.history is not None:
            self._draw_lag(self.history)

    def _update_details(self) -> None:
        g = self.selected_group()
        slots = self._slots(g) if g is not None else None
        self.members_model.update(g, slots)
        self.lag_model.update(g, slots)
        # One topic: the legend names it, so its column would only repeat it on every row.
        self.lag_table.setColumnHidden(LagModel.TOPIC, g is not None and len(g.topics) == 1)
        self.assignment.set_group(g, slots)
        self.timeline.set_group(g, self.snapshot.taken_at if self.snapshot else None)
        if g is None:
            self.detail_title.setText("Select a group")
            self.detail_info.setText("")
        else:
            self.detail_title.setText(g.group_id)
            leader = next((m.client_id for m in g.members if m.member_id == g.leader), None)
            parts = [
                g.state,
                *(() if self.snapshot is not None and self.snapshot.external
                  else (f"generation {g.generation}",)),
                f"{len(g.members)} member{'s' if len(g.members) != 1 else ''}",
            ]
            if g.assignor:
                parts.append(f"assignor {g.assignor}")
            if leader:
                parts.append(f"leader {leader}")
            parts.append(f"total lag {fmt.count(g.total_lag)}")
            silent = len(g.suspect_members)
            if silent:
                parts.append(f"{silent} member{'s' if silent != 1 else ''} silent")
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

    # -- actions -----------------------------------------------------------------------

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
            # A group reading several topics is offered all of them again.
            selected_topics=selected.topics if selected else (),
            parent=self,
        )

        def started(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self._pending_select = dialog.group.currentText().strip()

        dialog.finished.connect(started)
        return self._show(dialog)

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
        return self._show_for(
            self.selected_group(), lambda g: ResetOffsetsDialog(self.commands, g, parent=self)
        )

    def _delete_dialog(self, g: GroupSnapshot) -> DeleteDialog:
        gid = g.group_id
        n = len(g.members)
        return DeleteDialog(
            "group",
            gid,
            "The group and its committed offsets will be deleted. Kafka deletes only "
            "groups without active members.",
            lambda done: self.commands.delete_group(gid, done),
            warning=(
                f"The group has {n} active member{'s' if n != 1 else ''}; the broker will "
                "refuse (NON_EMPTY_GROUP) until they leave."
                if n
                else ""
            ),
            parent=self,
        )
