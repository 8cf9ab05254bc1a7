"""Partition -> member assignment of one consumer group, drawn as coloured partition chips.

Contract: :meth:`AssignmentWidget.set_group` takes a :class:`~core.monitor.GroupSnapshot`
(or ``None``) and the group's member colour slots (the same as the members and lag
tables; see :class:`desktop.history.MemberColors`) and repaints only when the assignment
changed. Each topic the group reads is a row; each partition a chip filled with its
member's colour, hollow when unassigned, and crossed out while its member is silent
(missed heartbeats: nobody is consuming it). It has no legend of its own: the members
table above it, with a swatch beside each client id, is the colour key, and the height a
legend would take is what the tables need at 1280x720.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget
from streamscope.core.monitor import GroupSnapshot
from streamscope.desktop.models.members_model import member_color_index
from streamscope.desktop.views.widgets import ThemedCanvas

CHIP_W = 34
CHIP_H = 24
GAP = 6
ROW_GAP = 10
LABEL_W = 120


class AssignmentWidget(ThemedCanvas):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AssignmentWidget")
        self._key: tuple | None = None
        # (topic, [(partition, member slot or None)]) and the silent members' slots.
        self._rows: list[tuple[str, list[tuple[int, int | None]]]] = []
        self._silent: set[int] = set()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setMinimumHeight(CHIP_H + GAP + 4)

    def set_group(
        self, group: GroupSnapshot | None, slots: dict[str, int] | None = None
    ) -> None:
        if group is not None and slots is None:
            slots = member_color_index(group)
        if group is None or slots is None:
            key: tuple | None = None
        else:
            key = (
                tuple(
                    (m.member_id, m.client_id, m.assignment, slots.get(m.member_id), m.suspect)
                    for m in group.members
                ),
                tuple((o.topic, o.partition) for o in group.offsets),
            )
        if key == self._key:
            return
        self._key = key
        self._rows = []
        self._silent = set()
        if group is not None and slots is not None:
            slots = {m.member_id: slots.get(m.member_id, 0) for m in group.members}
            self._silent = {slots[m.member_id] for m in group.members if m.suspect}
            owner: dict[tuple[str, int], int] = {}
            for m in group.members:
                for tp in m.assignment:
                    owner[tp] = slots[m.member_id]
            parts: dict[str, set[int]] = {}
            for o in group.offsets:
                parts.setdefault(o.topic, set()).add(o.partition)
            for topic, partition in owner:
                parts.setdefault(topic, set()).add(partition)
            for topic in sorted(parts):
                self._rows.append(
                    (topic, [(p, owner.get((topic, p))) for p in sorted(parts[topic])])
                )
        self.updateGeometry()
        self.update()

    def chip_owner(self, topic: str, partition: int) -> int | None:
        """The colour slot drawn for a partition (for tests), or None if unassigned."""
        for t, chips in self._rows:
            if t == topic:
                for p, slot in chips:
                    if p == partition:
                        return slot
        return None

    def _per_row(self) -> int:
        return max(1, (self.width() - LABEL_W - 8) // (CHIP_W + GAP))

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        return font

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        per_row = self._per_row()
        lines = sum(max(1, -(-len(chips) // per_row)) for _, chips in self._rows) or 1
        return QSize(480, 4 + self._chips_height(lines))

    def _chips_height(self, lines: int) -> int:
        return lines * (CHIP_H + GAP) + max(0, len(self._rows) - 1) * ROW_GAP

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.updateGeometry()  # chips wrap to another number of lines at another width

    def paintEvent(self, event) -> None:  # noqa: N802
        t = self._theme
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = self._font()
        p.setFont(font)
        fm = QFontMetrics(font)
        muted = QColor(t.muted)
        if not self._rows:
            p.setPen(muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No partitions assigned")
            return

        y = 4.0
        per_row = self._per_row()
        for topic, chips in self._rows:
            p.setPen(QColor(t.text))
            label = fm.elidedText(topic, Qt.TextElideMode.ElideRight, LABEL_W - 10)
            p.drawText(
                QRectF(4, y, LABEL_W - 8, CHIP_H),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                label,
            )
            for i, (partition, slot) in enumerate(chips):
                col = i % per_row
                if i and col == 0:
                    y += CHIP_H + GAP
                rect = QRectF(LABEL_W + col * (CHIP_W + GAP), y, CHIP_W, CHIP_H)
                if slot is None:
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.setPen(QPen(muted, 1.2, Qt.PenStyle.DashLine))
                    p.drawRoundedRect(rect, 5, 5)
                    p.setPen(muted)
                else:
                    color = t.member_color(slot)
                    p.setPen(Qt.PenStyle.NoPen)
                    p.setBrush(color)
                    p.drawRoundedRect(rect, 5, 5)
                    ink = QColor("#ffffff") if color.lightness() < 170 else QColor("#1d2330")
                    if slot in self._silent:
                        # Its member has gone quiet: the partition is stuck, not consumed.
                        p.setBrush(QBrush(ink, Qt.BrushStyle.BDiagPattern))
                        p.drawRoundedRect(rect, 5, 5)
                    p.setPen(ink)
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(partition))
            y += CHIP_H + GAP + ROW_GAP
