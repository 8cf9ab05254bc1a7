"""Partition -> member assignment of one consumer group, drawn as coloured partition chips.

Contract: :meth:`AssignmentWidget.set_group` takes a :class:`~core.monitor.GroupSnapshot`
(or ``None``) and repaints only when the assignment changed. Each topic the group reads
is a row; each partition a chip filled with its member's colour (the same colours as the
members and lag tables, from :func:`member_color_index`), hollow when unassigned. A legend
names the members by client id.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.monitor import GroupSnapshot
from desktop.models.members_model import member_color_index
from desktop.theme import LIGHT, Theme

CHIP_W = 34
CHIP_H = 24
GAP = 6
ROW_GAP = 10
LABEL_W = 120
LEGEND_H = 22


class AssignmentWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AssignmentWidget")
        self._theme: Theme = LIGHT
        self._key: tuple | None = None
        # (topic, [(partition, member slot or None, lag)]) and the legend.
        self._rows: list[tuple[str, list[tuple[int, int | None]]]] = []
        self._legend: list[tuple[int, str]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(80)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_group(self, group: GroupSnapshot | None) -> None:
        if group is None:
            key: tuple | None = None
        else:
            key = (
                tuple((m.member_id, m.client_id, m.assignment) for m in group.members),
                tuple((o.topic, o.partition) for o in group.offsets),
            )
        if key == self._key:
            return
        self._key = key
        self._rows = []
        self._legend = []
        if group is not None:
            slots = member_color_index(group)
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
            for m in sorted(group.members, key=lambda m: m.member_id):
                label = m.client_id or m.member_id
                self._legend.append((slots[m.member_id], label))
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

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        per_row = self._per_row()
        lines = sum(max(1, -(-len(chips) // per_row)) for _, chips in self._rows) or 1
        return QSize(480, LEGEND_H + 12 + lines * (CHIP_H + GAP) + len(self._rows) * ROW_GAP)

    def paintEvent(self, event) -> None:  # noqa: N802
        t = self._theme
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        p.setFont(font)
        fm = QFontMetrics(font)
        muted = QColor(t.muted)
        if not self._rows:
            p.setPen(muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No partitions assigned")
            return

        # Legend: one swatch per member.
        x = 4.0
        y = 4.0
        for slot, label in self._legend:
            color = t.member_color(slot)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(QRectF(x, y + 4, 12, 12), 3, 3)
            p.setPen(QColor(t.text))
            text = fm.elidedText(label, Qt.TextElideMode.ElideMiddle, 160)
            p.drawText(QRectF(x + 17, y, 170, 20), Qt.AlignmentFlag.AlignVCenter, text)
            x += 17 + fm.horizontalAdvance(text) + 16
            if x > self.width() - 120:
                break
        y += LEGEND_H + 8

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
                    p.setPen(QColor("#ffffff") if color.lightness() < 170 else QColor("#1d2330"))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(partition))
            y += CHIP_H + GAP + ROW_GAP
