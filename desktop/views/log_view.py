"""The Log page: one topic's partitions as lanes of offsets, with every group's cursors.

Contract: a topic picker, the view's controls (Follow tail, Whole log, zoom out and in),
a one-line summary of the topic (retention, segments, the groups reading it), the
legend, and the lanes (:class:`~desktop.views.log_lanes.LaneCanvas`, scrolling when the
partitions do not fit). The model (:class:`~desktop.models.log_model.LogModel`) takes the
snapshot on the fast tick only while the page is visible; the picker and the summary
follow the slow tick. :meth:`LogView.show_topic` selects a topic (the topics view's
"Show log"). A click on a record, a cursor or a position in a lane emits
``record_requested(topic, partition, offset)`` for the message browser;
:meth:`LogView.highlight_record` rings a record just produced from the app.

Client-chosen names (topics, groups) appear as plain text only: labels are PlainText,
tooltips escaped. A red banner over the lanes names the shown topic's partitions whose
disk writes fail or that are offline, with the reason (issue 13).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QToolButton,
    QWidget,
)
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.log_model import Lane, LogModel
from streamscope.desktop.models.log_viewport import Mode
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.log_lanes import LaneCanvas, LogLegend
from streamscope.desktop.views.widgets import EmptyState, StorageBanner

ZOOM_BUTTON_STEP = 0.5


class LogView(QWidget):
    title = "Log"
    record_requested = Signal(str, int, int)  # topic, partition, offset

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LogView")
        self.theme = theme
        self.model = LogModel()
        self.snapshot: ClusterSnapshot | None = None
        self._pending_topic: str | None = None  # asked for before a snapshot listed it

        root = vbox(self, (18, 12, 18, 12), spacing=8)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        topic_label = plain_label("Topic")
        self.topic_box = QComboBox()
        self.topic_box.setMinimumWidth(180)
        self.topic_box.setMaximumWidth(320)
        self.topic_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.topic_box.setMinimumContentsLength(16)
        topic_label.setBuddy(self.topic_box)
        self.follow_button = self._button(
            "Follow tail",
            "Keep each lane's newest records in view, wide enough for every group's cursor",
        )
        self.whole_button = self._button(
            "Whole log", "Show every lane from its first segment to its high watermark"
        )
        self.zoom_out_button = self._button("−", "Zoom out (or turn the wheel over the lanes)")
        self.zoom_in_button = self._button("+", "Zoom in (or turn the wheel over the lanes)")
        for b in (self.zoom_out_button, self.zoom_in_button):
            b.setCheckable(False)
            b.setFixedWidth(32)
        bar.addWidget(topic_label)
        bar.addWidget(self.topic_box)
        bar.addSpacing(12)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.whole_button)
        bar.addWidget(self.zoom_out_button)
        bar.addWidget(self.zoom_in_button)
        self.window_label = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        bar.addWidget(self.window_label, 1)
        root.addLayout(bar)

        self.summary = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        root.addWidget(self.summary)
        # The shown topic's partitions whose disk fails or that are offline (issue 13).
        self.storage_banner = StorageBanner()
        root.addWidget(self.storage_banner)
        self.legend = LogLegend()
        self.legend.set_theme(theme)
        root.addWidget(self.legend)

        self.lanes = LaneCanvas(self.model)
        self.lanes.set_theme(theme)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("LogLanes")
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.lanes)
        self.empty = EmptyState(
            "No topics yet. Create one in Topics, or produce to a name: each partition "
            "will appear here as a lane of offsets, with every consumer group's cursor on it."
        )
        root.addWidget(self.scroll, 1)
        root.addWidget(self.empty, 1)
        self.scroll.hide()

        self.topic_box.currentTextChanged.connect(self._topic_chosen)
        self.follow_button.clicked.connect(self.follow_tail)
        self.whole_button.clicked.connect(self.whole_log)
        self.zoom_out_button.clicked.connect(lambda: self.lanes.zoom(1 / ZOOM_BUTTON_STEP))
        self.zoom_in_button.clicked.connect(lambda: self.lanes.zoom(ZOOM_BUTTON_STEP))
        self.lanes.viewport_changed.connect(self._sync_buttons)
        self.lanes.record_requested.connect(self.record_requested)
        self._sync_buttons()

    def _button(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(True)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return b

    # -- ticks -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.lanes.set_theme(theme)
        self.legend.set_theme(theme)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.snapshot = snap
        self._update_topics(snap)
        self._update_summary()

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible():
            return
        self.snapshot = snap
        if self.model.topic is None:
            self._update_topics(snap)
        if self.model.update(snap):
            self.lanes.refresh()
            self._update_window_label()

    # -- topic -------------------------------------------------------------------------

    def show_topic(self, name: str) -> bool:
        """Show ``name``'s lanes. False if no snapshot lists it yet: then the first one
        that does selects it (a topic just created is a tick away)."""
        if self.snapshot is not None:
            self._update_topics(self.snapshot)
        i = self.topic_box.findText(name, Qt.MatchFlag.MatchExactly)
        if i < 0:
            self._pending_topic = name
            return False
        self._pending_topic = None
        self.topic_box.setCurrentIndex(i)
        self._topic_chosen(name)
        return True

    def highlight_record(self, topic: str, partition: int, offset: int) -> None:
        """Ring the record just produced from the app (on its lane, for a while)."""
        self.model.highlight(topic, partition, offset, time.time())
        if self.snapshot is not None and self.model.topic == topic:
            self.model.update(self.snapshot, force=True)
            self.lanes.refresh()

    def selected_topic(self) -> str | None:
        return self.model.topic

    def _update_topics(self, snap: ClusterSnapshot) -> None:
        names = LogModel.topic_names(snap)
        current = [self.topic_box.itemText(i) for i in range(self.topic_box.count())]
        if names != current:
            keep = self.model.topic
            if self._pending_topic in names:
                keep, self._pending_topic = self._pending_topic, None
            self.topic_box.blockSignals(True)
            self.topic_box.clear()
            self.topic_box.addItems(names)
            if keep in names:
                self.topic_box.setCurrentIndex(names.index(keep))
            self.topic_box.blockSignals(False)
            chosen = self.topic_box.currentText() or None
            if chosen != self.model.topic:
                self._topic_chosen(chosen or "")
        empty = not names
        self.empty.setVisible(empty)
        self.scroll.setVisible(not empty)

    def _topic_chosen(self, name: str) -> None:
        self.model.set_topic(name or None)
        if self.snapshot is not None:
            self.model.update(self.snapshot)
        self.lanes.refresh()
        self._sync_buttons()
        self._update_summary()
        self._update_window_label()

    # -- controls ----------------------------------------------------------------------

    def follow_tail(self) -> None:
        self.model.viewport.follow_tail()
        self.lanes.viewport_moved()

    def whole_log(self) -> None:
        self.model.viewport.whole_log()
        self.lanes.viewport_moved()

    def _sync_buttons(self) -> None:
        mode = self.model.viewport.mode
        self.follow_button.setChecked(mode == Mode.TAIL)
        self.whole_button.setChecked(mode == Mode.WHOLE)
        self._update_window_label()

    def _update_window_label(self) -> None:
        vp = self.model.viewport
        if not self.model.lanes:
            self.window_label.setText("")
            return
        span = fmt.count(round(vp.span))
        if vp.mode == Mode.TAIL:
            text = f"Following the tail: {span} offsets across"
        elif vp.mode == Mode.WHOLE:
            text = f"Whole log: {span} offsets across"
        else:
            text = f"{span} offsets across · drag to pan, wheel to zoom"
        if not self.model.feed_visible:
            text += " · no activity feed: read positions and new records not shown"
        elif self.model.external:
            text += " · new records sampled by tailing"
        self.window_label.setText(text)

    def _update_summary(self) -> None:
        t = self.model.topic_snapshot
        if t is None:
            self.summary.setText("")
            self.storage_banner.show_problems((), with_topic=False)
            return
        self.storage_banner.show_problems(t.storage_problems, with_topic=False)
        lanes = self.model.lanes
        self.legend.set_extras(
            compacted=any(lane.compaction is not None for lane in lanes),
            stable=any(lane.stable_offset is not None for lane in lanes),
            aborted=any(lane.aborted for lane in lanes),
        )
        groups = self.model.group_ids
        # Group ids stay out of this line: its tooltip (the full text, when elided) is
        # not escaped, and the lanes name every group anyway.
        read_by = (
            f"read by {fmt.plural(len(groups), 'consumer group')}"
            if groups
            else "no consumer group reads it yet"
        )
        retention = fmt.retention_sentence(t.retention_ms, t.retention_bytes)
        policy = dict(t.configs).get("cleanup.policy", "delete")
        if "compact" in policy:
            compacted = "compacted: the latest record per key"
            retention = compacted if "delete" not in policy else f"{retention}, {compacted}"
        parts = [
            t.name,
            fmt.plural(t.partition_count, "partition"),
            retention,
            f"segments of {fmt.size(t.segment_bytes)}",
            read_by,
        ]
        cleaning = _cleaner_summary(lanes, dict(t.configs).get("min.cleanable.dirty.ratio"))
        if cleaning:
            parts.insert(3, cleaning)
        self.summary.setText(" · ".join(parts))


def _cleaner_summary(lanes: tuple[Lane, ...], min_ratio: str | None) -> str:
    """The cleaner's state over a compacted topic's partitions, in a few words."""
    cleaners = [lane.compaction for lane in lanes if lane.compaction is not None]
    if not cleaners:
        return ""
    running = [c for c in cleaners if c.state == "cleaning"]
    if running:
        progress = sum(c.progress for c in running) / len(running)
        state = f"cleaner running on {fmt.plural(len(running), 'partition')} ({progress:.0%})"
    else:
        state = "cleaner idle"
    worst = max(c.dirty_ratio for c in cleaners)
    # Kafka's default min.cleanable.dirty.ratio is 0.5.
    return f"{state}, dirty ratio up to {worst:.2f} (cleans at {min_ratio or '0.5'})"
