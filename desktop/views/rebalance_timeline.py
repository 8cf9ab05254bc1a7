"""A consumer group's rebalance history as a timeline.

Contract: :meth:`RebalanceTimeline.set_group` takes a :class:`~core.monitor.GroupSnapshot`
(or ``None``); each rebalance is a marker at its start time spanning to its completion,
labelled beside it with the generation it produced and the member count; hovering shows
the reason. It is one line high (about 40 px), so it fits beside tables at 1280x720.
The time axis runs from the first recorded rebalance to now, so a calm group shows its
last rebalance far to the left. Repaints once per slow tick at most.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget
from streamscope.core.monitor import GroupSnapshot, RebalanceSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.views.widgets import ThemedCanvas

MARGIN = 14


class RebalanceTimeline(ThemedCanvas):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RebalanceTimeline")
        self._rebalances: tuple[RebalanceSnapshot, ...] = ()
        self._now = time.time()
        self._marks: list[tuple[QRectF, RebalanceSnapshot]] = []
        self.setMouseTracking(True)
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(400, 44)

    def set_group(self, group: GroupSnapshot | None, now: float | None = None) -> None:
        self._rebalances = group.rebalances if group is not None else ()
        self._now = now if now is not None else time.time()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        t = self._theme
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        p.setFont(font)
        fm = QFontMetrics(font)
        w, h = self.width(), self.height()
        axis_y = h - 16
        p.setPen(QPen(QColor(t.border), 1))
        p.drawLine(QPointF(MARGIN, axis_y), QPointF(w - MARGIN, axis_y))
        self._marks = []
        if not self._rebalances:
            p.setPen(QColor(t.muted))
            p.drawText(QRectF(0, 0, w, axis_y), Qt.AlignmentFlag.AlignCenter, "No rebalances yet")
            return
        start = self._rebalances[0].started_at
        span = max(10.0, self._now - start) * 1.04
        t0 = self._now - span

        def x_of(ts: float) -> float:
            return MARGIN + (ts - t0) / span * (w - 2 * MARGIN)

        # Axis labels: the oldest time and "now".
        p.setPen(QColor(t.muted))
        p.drawText(
            QRectF(MARGIN, axis_y + 1, 200, 16), Qt.AlignmentFlag.AlignLeft, fmt.clock(t0)[:8]
        )
        p.drawText(
            QRectF(w - MARGIN - 200, axis_y + 1, 200, 16), Qt.AlignmentFlag.AlignRight, "now"
        )
        last_label_x = -1e9
        for r in self._rebalances:
            x0 = x_of(r.started_at)
            x1 = x_of(r.completed_at if r.completed_at is not None else self._now)
            done = r.completed_at is not None
            color = QColor(t.accent if done else t.warn)
            bar = QRectF(x0, axis_y - 11, max(4.0, x1 - x0), 8)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(bar, 3, 3)
            self._marks.append((bar.adjusted(-4, -8, 4, 4), r))
            label = f"gen {r.generation}: {r.member_count} member{'s' if r.member_count != 1 else ''}"
            lw = fm.horizontalAdvance(label)
            lx = bar.right() + 4
            if lx + lw > w - MARGIN:  # a recent one, near "now": label it on its left
                lx = x0 - 4 - lw
            # Beside its bar, skipped where it would overlap the previous label.
            if lx > last_label_x and lx >= MARGIN:
                p.setPen(QColor(t.text))
                p.drawText(
                    QRectF(lx, axis_y - 24, lw + 4, 18), Qt.AlignmentFlag.AlignVCenter, label
                )
                last_label_x = lx + lw + 8

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        for rect, r in self._marks:
            if rect.contains(pos):
                took = (
                    f"took {(r.completed_at - r.started_at) * 1000:.0f} ms"
                    if r.completed_at is not None
                    else "in progress"
                )
                QToolTip.showText(
                    event.globalPosition().toPoint(),
                    fmt.plain_tooltip(
                        f"Generation {r.generation} · {r.member_count} members\n"
                        f"{fmt.timestamp(r.started_at)}, {took}\n{r.reason}"
                    ),
                    self,
                )
                return
        QToolTip.hideText()
