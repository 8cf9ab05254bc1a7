"""Topics: the table of topics, their partitions, per-topic throughput, and topic admin.

Contract: tables update on the slow tick from snapshots (diffed models), the selected
topic's chart on the fast tick from history; selecting another topic starts its chart on
a fresh scale from 0 (an idle topic never inherits a busy one's axis). Actions open
dialogs with ``open()`` (create, add partitions, edit retention, delete once the name is
typed); they run as broker commands through :class:`~desktop.commands.Commands` and never
block. A topic created here is selected as soon as a snapshot lists it. The dialog being
shown is ``self.dialog`` (tests drive it). Double-clicking a topic, or "Show log" in its
context menu, emits ``show_log_requested(name)``: the window opens the Log page on it.

Fits 1280x720: names (the details title, the table's name column) elide with the full
name as tooltip, so no name widens the window; the partitions table gets the width its
columns need (every column whole, no sideways scrolling) and the chart the rest.

External mode (issue 15, :meth:`TopicsView.set_external`): the partitions table hides
Size and Segments, which the wire cannot know, and shows Leader, Replicas and ISR
(placement; an under-replicated partition is marked in its ISR cell), hidden for the
embedded broker's single node.

Storage (issue 13): a red banner over the table names every partition whose disk writes
fail or that is offline, with the reason; the topic's row and the partition's Storage
cell are marked red with the reason as a plain tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QMenu,
    QSplitter,
    QWidget,
)
from streamscope.core.monitor import ClusterSnapshot, TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import Commands
from streamscope.desktop.dialogs.add_partitions_dialog import AddPartitionsDialog
from streamscope.desktop.dialogs.confirm_dialog import DeleteDialog
from streamscope.desktop.dialogs.create_topic_dialog import CreateTopicDialog
from streamscope.desktop.dialogs.delete_records_dialog import DeleteRecordsDialog
from streamscope.desktop.dialogs.produce_dialog import ProduceDialog
from streamscope.desktop.dialogs.retention_dialog import RetentionDialog
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import vbox
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.models.table_model import KEY_ROLE
from streamscope.desktop.models.topics_model import TopicsModel
from streamscope.desktop.theme import Theme, icon
from streamscope.desktop.views.admin_view import AdminView
from streamscope.desktop.views.chart_markers import topic_events
from streamscope.desktop.views.charts import LiveChart
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import EmptyState, StorageBanner, table_over_details

# The throughput chart stays readable beside the partitions table down to this width.
CHART_MIN_WIDTH = 200


class TopicsView(AdminView[TopicSnapshot]):
    title = "Topics"
    # A record produced from the GUI (topic, partition, offset), for views to highlight.
    produced = Signal(str, int, int)
    show_log_requested = Signal(str)  # a topic name: open the Log page on it
    # (topic, partition or -1 for all): open the Messages page on it
    browse_requested = Signal(str, int)

    def __init__(self, commands: Commands, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(commands, parent)
        self.setObjectName("TopicsView")

        root = vbox(self, (18, 12, 18, 16), spacing=10)

        self.create_action = QAction(icon("add"), "Create topic…", self)
        self.add_partitions_action = QAction(icon("partitions"), "Add partitions…", self)
        self.retention_action = QAction(icon("clock"), "Edit retention…", self)
        self.delete_action = QAction(icon("delete"), "Delete…", self)
        self.show_log_action = QAction(icon("partitions"), "Show log", self)
        self.browse_action = QAction(icon("copy"), "Browse messages", self)
        self.produce_action = QAction(icon("play"), "Produce…", self)
        self.delete_records_action = QAction(icon("rewind"), "Delete records…", self)
        root.addWidget(
            self._toolbar(
                (
                    self.create_action,
                    self.produce_action,
                    self.add_partitions_action,
                    self.retention_action,
                    self.delete_records_action,
                    self.delete_action,
                ),
                "Filter topics",
            )
        )

        # Partitions whose disk fails or that are offline, over the table (issue 13).
        self.storage_banner = StorageBanner()
        root.addWidget(self.storage_banner)
        self.model = TopicsModel(self)
        self.model.set_theme(theme)
        self.table = KeyedTableView(self.model, sort_column=0, stretch_column=0)
        self.empty = EmptyState(
            "No topics yet. Create one here, or just produce to a name: the broker creates "
            "topics on first use."
        )

        details = QWidget()
        dl = vbox(details, spacing=6)
        self._detail_labels("Select a topic", Qt.TextElideMode.ElideMiddle)
        dl.addWidget(self.detail_title)
        dl.addWidget(self.detail_info)
        self.lower = QSplitter(Qt.Orientation.Horizontal)
        self.lower.setChildrenCollapsible(False)
        self.partitions_model = PartitionsModel(self)
        self.partitions_model.set_theme(theme)
        self.partitions = KeyedTableView(self.partitions_model, sort_column=0, stretch_column=None)
        self.chart = LiveChart(
            "Messages/s", ("in", "out"), theme=theme, legend_below_title=True
        )
        self.chart.setMinimumWidth(max(CHART_MIN_WIDTH, self.chart.minimumWidth()))
        self.lower.addWidget(self.partitions)
        self.lower.addWidget(self.chart)
        self.lower.setStretchFactor(0, 0)
        self.lower.setStretchFactor(1, 1)
        dl.addWidget(self.lower, 1)
        self._partitions_width = 0  # the width last given to the partitions table
        self._partitions_sizes: list[int] = []  # the splitter's sizes it then settled on

        root.addWidget(
            table_over_details(self.table, self.empty, details, (3, 2), (240, 360)), 1
        )

        self.create_action.triggered.connect(self.open_create_dialog)
        self.add_partitions_action.triggered.connect(self.open_add_partitions_dialog)
        self.retention_action.triggered.connect(self.open_retention_dialog)
        self.delete_action.triggered.connect(self.open_delete_dialog)
        self.produce_action.triggered.connect(lambda: self.open_produce_dialog())
        self.delete_records_action.triggered.connect(lambda: self.open_delete_records_dialog())
        for table in (self.table, self.partitions):
            table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._topic_menu_requested)
        self.partitions.customContextMenuRequested.connect(self._partition_menu_requested)
        self.menu: QMenu | None = None  # the context menu shown last
        self.filter.textChanged.connect(self.table.set_filter)
        self.table.selection_changed.connect(self._selection_changed)
        self.partitions.columns_fitted.connect(self._give_partitions_room)
        # Double-click (or the context menu) opens the topic's log: its lanes and cursors.
        self.show_log_action.triggered.connect(self.show_log)
        self.browse_action.triggered.connect(lambda: self.browse_messages())
        self.table.doubleClicked.connect(lambda *_: self.show_log())
        self._update_actions()
        self._update_empty()
        self.set_external(False)

    # -- ticks -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.chart.apply_theme(theme)
        self.model.set_theme(theme)
        self.partitions_model.set_theme(theme)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.snapshot = snap
        self.model.update(snap, history.topic_rates)
        self.storage_banner.show_problems(
            [p for t in snap.topics for p in t.storage_problems], with_topic=True
        )
        # A topic just created here wins over the first-row default.
        if self._pending_select is not None and self.table.select_key(self._pending_select):
            self._pending_select = None
        self.table.ensure_selection()
        self._update_details()
        self._update_empty()
        self._give_partitions_room()
        if isinstance(self.dialog, DeleteRecordsDialog):
            self.dialog.update_snapshot()  # its count follows the log

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible():
            return
        name = self.selected_topic()
        self.chart.markers.set_events(topic_events(snap, name) if name else (), snap.taken_at)
        ring = history.topics.get(name) if name else None
        if ring is None:
            self.chart.clear_series()
            return
        data = ring.view()
        self.chart.set_series(data[0], (data[1], data[2]), history.now)

    def set_external(self, external: bool) -> None:
        """Hide the columns an external cluster cannot fill (size, segments); show its
        placement (leader, replicas, ISR), which the embedded broker's one node makes moot."""
        for col in (PartitionsModel.SIZE, PartitionsModel.SEGMENTS):
            self.partitions.setColumnHidden(col, external)
        self.table.setColumnHidden(TopicsModel.SIZE, external)
        for col in PartitionsModel.PLACEMENT:
            self.partitions.setColumnHidden(col, not external)
        self._give_partitions_room()

    # -- selection ---------------------------------------------------------------------

    selected_topic = AdminView.selected_name

    def _find(self, snap: ClusterSnapshot, name: str) -> TopicSnapshot | None:
        return snap.topic(name)

    def _selection_changed(self, _key: object) -> None:
        self._reset_chart()
        self._update_details()
        self._update_actions()
        self._give_partitions_room()

    def _reset_chart(self) -> None:
        """Start the chart afresh for the newly selected topic: no line of the previous one,
        and (``LiveChart.clear_series``) its y-scale back to 0 to a small round number."""
        self.chart.clear_series()

    def _give_partitions_room(self) -> None:
        """Widen the partitions table to show every column whole; the chart takes the rest."""
        need = self.partitions.columns_width()
        if self.partitions.verticalScrollBar().isVisible():
            need += self.partitions.verticalScrollBar().width()
        total = sum(self.lower.sizes())
        if total <= 0:
            return
        width = max(0, min(need, total - self.chart.minimumWidth() - self.lower.handleWidth()))
        # Only when the width needed or the splitter changed: each setSizes lays the chart
        # out again.
        if width != self._partitions_width or self.lower.sizes() != self._partitions_sizes:
            self._partitions_width = width
            self.lower.setSizes([width, total - width])
            self._partitions_sizes = self.lower.sizes()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._give_partitions_room()

    def _update_details(self) -> None:
        t = self.selected_snapshot()
        self.partitions_model.update(t)
        if t is None:
            self.detail_title.setText("Select a topic")
            self.detail_info.setText("")
            self.chart.clear_series()
            return
        self.detail_title.setText(t.name)
        self.detail_info.setText(topic_summary(
            t, self.snapshot is not None and self.snapshot.external))
        self._update_actions()

    def _update_actions(self) -> None:
        has = self.selected_topic() is not None
        self.add_partitions_action.setEnabled(has)
        self.retention_action.setEnabled(has)
        self.delete_action.setEnabled(has)
        self.show_log_action.setEnabled(has)
        self.browse_action.setEnabled(has)
        self.produce_action.setEnabled(has)
        self.delete_records_action.setEnabled(has)

    # -- actions -----------------------------------------------------------------------

    def existing_topics(self) -> set[str]:
        return {t.name for t in self.snapshot.topics} if self.snapshot else set()

    def open_create_dialog(self) -> CreateTopicDialog:
        dialog = CreateTopicDialog(
            self.commands,
            defaults=self.commands.log_defaults,
            existing=self.existing_topics,
            parent=self,
        )

        def created(result: int) -> None:
            if result == QDialog.DialogCode.Accepted and dialog.result_value:
                self._select_when_present(str(dialog.result_value))

        dialog.finished.connect(created)
        return self._show(dialog)

    def _select_when_present(self, name: str) -> None:
        # Not in the table yet, usually: the slow tick that first lists it selects it.
        self._pending_select = None if self.table.select_key(name) else name

    def open_add_partitions_dialog(self) -> AddPartitionsDialog | None:
        return self._show_for(
            self.selected_snapshot(),
            lambda t: AddPartitionsDialog(self.commands, t.name, t.partition_count, parent=self),
        )

    def open_retention_dialog(self) -> RetentionDialog | None:
        return self._show_for(
            self.selected_snapshot(), lambda t: RetentionDialog(self.commands, t, parent=self)
        )

    def open_produce_dialog(self, partition: int | None = None) -> ProduceDialog | None:
        """Produce to the selected topic (to ``partition``, if given)."""

        def dialog(t: TopicSnapshot) -> ProduceDialog:
            d = ProduceDialog(self.commands, lambda: self.snapshot, topic=t.name,
                              partition=partition, parent=self)
            d.produced.connect(self.produced)
            return d

        return self._show_for(self.selected_snapshot(), dialog)

    def open_delete_records_dialog(
        self, partition: int | None = None
    ) -> DeleteRecordsDialog | None:
        """Delete records of the selected topic (of ``partition``, if given)."""
        return self._show_for(
            self.selected_snapshot(),
            lambda t: DeleteRecordsDialog(self.commands, t, lambda: self.snapshot,
                                          partition=partition, parent=self),
        )

    def browse_messages(self, partition: int | None = None) -> None:
        """Ask for the Messages page on the selected topic (on ``partition``, if given)."""
        name = self.selected_topic()
        if name is not None:
            self.browse_requested.emit(name, -1 if partition is None else partition)

    def show_log(self) -> None:
        """Ask for the Log page on the selected topic."""
        name = self.selected_topic()
        if name is not None:
            self.show_log_requested.emit(name)

    def topic_menu(self) -> QMenu:
        """The context menu of the topics table: the toolbar's actions on the selected topic."""
        menu = self._new_menu()
        menu.addAction(self.show_log_action)
        menu.addAction(self.browse_action)
        menu.addSeparator()
        menu.addAction(self.produce_action)
        menu.addAction(self.delete_records_action)
        menu.addSeparator()
        menu.addAction(self.add_partitions_action)
        menu.addAction(self.retention_action)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        return menu

    def partition_menu(self, partition: int) -> QMenu:
        """The context menu of one partition of the selected topic."""
        menu = self._new_menu()
        produce = menu.addAction(icon("play"), f"Produce to partition {partition}…")
        produce.triggered.connect(lambda: self.open_produce_dialog(partition))
        delete = menu.addAction(icon("rewind"), f"Delete records of partition {partition}…")
        delete.triggered.connect(lambda: self.open_delete_records_dialog(partition))
        browse = menu.addAction(icon("copy"), f"Browse messages of partition {partition}")
        browse.triggered.connect(lambda: self.browse_messages(partition))
        return menu

    def _new_menu(self) -> QMenu:
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = QMenu(self)
        return self.menu

    def _topic_menu_requested(self, pos: QPoint) -> None:
        key = self.table.indexAt(pos).data(KEY_ROLE)
        if key is None or not self.table.select_key(key):
            return
        self.topic_menu().popup(self.table.viewport().mapToGlobal(pos))

    def _partition_menu_requested(self, pos: QPoint) -> None:
        partition = self.partitions.indexAt(pos).data(KEY_ROLE)
        if partition is None or self.selected_topic() is None:
            return
        self.partition_menu(int(partition)).popup(self.partitions.viewport().mapToGlobal(pos))

    def _delete_dialog(self, t: TopicSnapshot) -> DeleteDialog:
        name = t.name
        return DeleteDialog(
            "topic",
            name,
            f"The topic and its {fmt.plural(t.partition_count, 'partition')} "
            f"({fmt.plural(t.messages, 'message')}, {fmt.size(t.size_bytes)}) will be "
            "deleted from disk. Producers and consumers of it will get errors. This cannot "
            "be undone.",
            lambda done: self.commands.delete_topic(name, done),
            parent=self,
        )


_SUMMARY_ORDER = {"retention.ms": 0, "retention.bytes": 1, "segment.bytes": 2}


def topic_summary(t: TopicSnapshot, external: bool = False) -> str:
    """The details line: sizes and settings in words, as the table writes them."""
    # Time before size, as the table's Retention column writes them.
    overrides = sorted((k for k, _ in t.configs), key=lambda k: (_SUMMARY_ORDER.get(k, 9), k))
    origin = (
        "set on this topic: " + ", ".join(fmt.config_name(k) for k in overrides)
        if overrides
        else "all broker defaults"
    )
    extra = [
        fmt.config_override(k, v)
        for k, v in t.configs
        if k not in ("retention.ms", "retention.bytes", "segment.bytes")
    ]
    parts = [
        fmt.plural(t.partition_count, "partition"),
        fmt.plural(t.messages, "message"),
        f"{fmt.size(t.size_bytes)} in {fmt.plural(t.segment_count, 'segment')}",
        fmt.retention_sentence(t.retention_ms, t.retention_bytes),
        f"segments of {fmt.size(t.segment_bytes)}",
        *extra,
        origin,
        f"id {t.topic_id}",
    ]
    if external:
        # Over the wire: no sizes or segments; a segment size only when the cluster
        # reported one; no topic id (librdkafka's Metadata does not carry it).
        parts[2] = "size not reported over the wire"
        if t.segment_bytes <= 0:
            parts.remove(parts[4])
        if not t.topic_id:
            parts.pop()
    return " · ".join(parts)
