"""The partition lanes of the log view as a widget, and their legend.

Contract: :class:`LaneCanvas` shows the lanes of a :class:`~desktop.models.log_model.LogModel`
(one per partition, stacked, :func:`~desktop.models.log_marks.lane_height` each), drawn by
a :class:`~desktop.views.log_paint.LanePainter`, and turns the mouse into the model's
terms: the wheel zooms along offsets around the pointer, a drag pans, hovering any mark
shows :func:`~desktop.models.log_explain.explain` as an escaped plain-text tooltip, and a
click on a token, a cursor or a position emits ``record_requested(topic, partition,
offset)``. Viewport changes are announced with ``viewport_changed`` so the page can
update its buttons.

Cost: layout happens on the tick, not in ``paintEvent``. :meth:`LaneCanvas.refresh`
(the model took a snapshot, or the viewport moved) and a resize lay out the lanes in
view into marks and then into a :class:`~desktop.views.log_paint.LaneDrawing` each;
a paint replays the cached drawings of the lanes crossing its exposed rectangle, so its
work depends on the pixels shown, not on the message rate. A lane scrolled into view
between ticks is laid out by the paint that first shows it (once). Every ``paintEvent``
is timed into :attr:`LaneCanvas.frame_times`, a bounded ring of milliseconds a benchmark
reads.

:class:`LogLegend` draws one sample of every mark with its meaning, in the same colours.

Both follow their widget's font (``QEvent.FontChange``): at up to :data:`LANE_FONT_PT`
(the app's usual size) the labels are drawn in fonts derived from it; a larger font
(presentation mode's style sheet makes it 1.4 times larger) scales the whole drawing
by ``font size / LANE_FONT_PT`` (:attr:`LaneCanvas.scale`), bars, rows, gutters and
labels alike, so the labels grow without outgrowing the rows laid out for them
(:mod:`desktop.models.log_marks`). Marks are laid out in lane coordinates, widget pixels
divided by the scale; :meth:`LaneCanvas.explain_at` and :meth:`LaneCanvas.click` take
widget pixels (:meth:`LaneCanvas.widget_point` maps a mark's point to them).
"""

from __future__ import annotations

import math
import time
from collections import deque

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget
from streamscope.desktop import format as fmt
from streamscope.desktop.models.log_explain import explain, hit, record_at
from streamscope.desktop.models.log_marks import (
    LEFT_GUTTER,
    RIGHT_GUTTER,
    Kind,
    LaneBox,
    Mark,
    Scale,
    lane_height,
    lane_marks,
)
from streamscope.desktop.models.log_model import LogModel
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.log_paint import (
    LaneDrawing,
    LanePainter,
    group_color,
    label_font,
)
from streamscope.desktop.views.widgets import ThemedCanvas

FRAME_RING = 600  # paint times kept for the benchmark
LANE_FONT_PT = 10.0  # the font size the lane geometry is laid out for (the themes' QWidget)
DRAG_START_PX = 4
WHEEL_STEP = 0.8  # span factor per wheel notch (zoom in)
LEGEND_H = 26  # the legend's height at scale 1


class LaneCanvas(ThemedCanvas):
    """All lanes of the topic, one under the other; see the module docstring."""

    record_requested = Signal(str, int, int)  # topic, partition, offset
    viewport_changed = Signal()

    def __init__(self, model: LogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LaneCanvas")
        self.model = model
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.frame_times: deque[float] = deque(maxlen=FRAME_RING)
        self._marks: dict[int, list[Mark]] = {}  # lane index -> marks, until refresh
        self._drawings: dict[int, LaneDrawing] = {}  # lane index -> drawing, until refresh
        self._tops: list[int] = []
        self._press: QPointF | None = None
        self._dragging = False
        self.scale = 1.0  # widget pixels per lane unit: above 1 for a large font
        self._painter = LanePainter(self._theme, self.font())
        self._relayout()

    def set_theme(self, theme: Theme) -> None:
        self._painter.set_theme(theme)
        self._drawings.clear()
        super().set_theme(theme)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        # The labels follow the widget's font: presentation mode's style sheet enlarges
        # it, and a projector needs the partition names and group labels large too.
        if event.type() == QEvent.Type.FontChange:
            self.scale, base = font_scale(self.font())
            self._painter.set_font(base)
            self.refresh()
        super().changeEvent(event)

    def _width(self) -> float:
        """The canvas width in lane units."""
        return self.width() / self.scale

    def _lane_point(self, pos: QPointF) -> QPointF:
        return QPointF(pos.x() / self.scale, pos.y() / self.scale)

    def widget_point(self, pos: QPointF) -> QPointF:
        """A point in lane units (a mark's) in widget pixels."""
        return QPointF(pos.x() * self.scale, pos.y() * self.scale)

    # -- model -------------------------------------------------------------------------

    def refresh(self) -> None:
        """The model took a new tick (or the viewport moved): lay out the lanes in view
        now, so the paint that follows only draws."""
        self._marks.clear()
        self._drawings.clear()
        self._relayout()
        self._lay_out_visible()
        self.update()

    def _lay_out_visible(self) -> None:
        """Lay out (marks and drawing) every lane crossing the part of the canvas on
        screen; nothing while hidden (the paint that shows it lays out what it needs)."""
        if not self.isVisible() or not self.model.lanes:
            return
        shown = self.visibleRegion().boundingRect()
        if shown.isEmpty():
            return
        for i in self._lanes_in(shown.top(), shown.bottom()):
            self.drawing(i)

    def _lanes_in(self, top: int, bottom: int) -> range:
        """The lanes crossing widget rows ``top``..``bottom``."""
        h = lane_height(len(self.model.group_ids)) * self.scale
        n = len(self.model.lanes)
        if not h or not n:
            return range(0)
        return range(max(0, int(top // h)), min(n - 1, int(bottom // h)) + 1)

    def _relayout(self) -> None:
        groups = len(self.model.group_ids)
        h = lane_height(groups)
        self._tops = [i * h for i in range(len(self.model.lanes))]
        total = max(math.ceil(h * len(self.model.lanes) * self.scale), 40)
        if self.minimumHeight() != total:
            self.setMinimumHeight(total)
            self.setMaximumHeight(total)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(900, self.minimumHeight())

    def box(self, index: int) -> LaneBox:
        return LaneBox(self._tops[index], LEFT_GUTTER, self._width() - RIGHT_GUTTER)

    def marks(self, index: int) -> list[Mark]:
        """Lane ``index``'s marks, laid out now if not cached."""
        cached = self._marks.get(index)
        if cached is not None:
            return cached
        lane = self.model.lanes[index]
        window = self.model.viewport.window(lane.partition)
        out = lane_marks(lane, index, window, self.box(index)) if window else []
        self._marks[index] = out
        return out

    def drawing(self, index: int) -> LaneDrawing:
        """Lane ``index`` as paint calls, laid out now if not cached."""
        cached = self._drawings.get(index)
        if cached is not None:
            return cached
        lane = self.model.lanes[index]
        window = self.model.viewport.window(lane.partition)
        box = self.box(index)
        if window is None:
            out = LaneDrawing(box.top, box.top, [])
        else:
            out = self._painter.compile(index, lane, self.marks(index), box, window, self._width())
        self._drawings[index] = out
        return out

    def all_marks(self, kind: Kind | None = None) -> list[Mark]:
        """Every lane's marks (of ``kind``), for tests and the benchmark."""
        out = []
        for i in range(len(self.model.lanes)):
            out.extend(m for m in self.marks(i) if kind is None or m.kind == kind)
        return out

    def lane_at(self, y: float) -> int | None:
        """The lane at widget row ``y``."""
        h = lane_height(len(self.model.group_ids)) * self.scale
        i = int(y // h) if h else -1
        return i if 0 <= i < len(self.model.lanes) else None

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._marks.clear()
        self._drawings.clear()
        super().resizeEvent(event)
        self._lay_out_visible()

    # -- painting ----------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        t = self._theme
        p = QPainter(self)
        rect = event.rect()
        p.fillRect(rect, self._painter.paints.base)
        p.scale(self.scale, self.scale)  # drawings are in lane units
        lanes = self.model.lanes
        if not lanes:
            p.setPen(QColor(t.muted))
            p.setFont(self._painter.font)
            p.drawText(
                QRectF(0, 0, self._width(), self.height() / self.scale),
                Qt.AlignmentFlag.AlignCenter,
                "No partitions to show",
            )
            p.end()
            self.frame_times.append((time.perf_counter() - started) * 1000)
            return
        draw = self._painter.draw
        for i in self._lanes_in(rect.top(), rect.bottom()):
            draw(p, self.drawing(i))
        p.end()
        self.frame_times.append((time.perf_counter() - started) * 1000)

    # -- mouse -------------------------------------------------------------------------

    def _mark_at(self, pos: QPointF) -> tuple[int, Mark] | None:
        """The lane and mark at widget point ``pos``."""
        i = self.lane_at(pos.y())
        if i is None:
            return None
        at = self._lane_point(pos)
        m = hit(self.marks(i), at.x(), at.y())
        return (i, m) if m is not None else None

    def _offset_at(self, index: int, x: float) -> float | None:
        """The offset under widget column ``x`` in lane ``index``."""
        x /= self.scale
        lane = self.model.lanes[index]
        window = self.model.viewport.window(lane.partition)
        if window is None:
            return None
        box = self.box(index)
        return Scale(window, box.left, box.right).offset_at(x)

    def explain_at(self, pos: QPointF) -> str:
        """The explanation the tooltip shows at ``pos`` ("" over nothing)."""
        found = self._mark_at(pos)
        if found is None:
            return ""
        i, m = found
        return explain(self.model.lanes[i], m, self._offset_at(i, pos.x()))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._dragging = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            dx = pos.x() - self._press.x()
            if self._dragging or abs(dx) >= DRAG_START_PX:
                self._dragging = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                width = max(1.0, self._width() - LEFT_GUTTER - RIGHT_GUTTER)
                self.pan(dx / self.scale / width)
                self._press = pos
            return
        text = self.explain_at(pos)
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), fmt.plain_tooltip(text), self)
        else:
            QToolTip.hideText()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        was_drag = self._dragging
        self._press = None
        self._dragging = False
        self.unsetCursor()
        if not was_drag:
            self.click(event.position())

    def click(self, pos: QPointF) -> bool:
        """Ask for the record under ``pos`` (a token, a cursor, a position); True if any."""
        found = self._mark_at(pos)
        if found is None:
            return False
        i, m = found
        lane = self.model.lanes[i]
        offset = self._offset_at(i, pos.x())
        o = record_at(lane, m, offset if offset is not None else m.offset)
        if o is None:
            return False
        self.record_requested.emit(lane.topic, lane.partition, o)
        return True

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        notches = event.angleDelta().y() / 120
        if not notches:
            return
        width = max(1.0, self._width() - LEFT_GUTTER - RIGHT_GUTTER)
        at = (event.position().x() / self.scale - LEFT_GUTTER) / width
        self.zoom(WHEEL_STEP**notches, at)
        event.accept()

    def zoom(self, factor: float, at: float = 1.0) -> None:
        self.model.viewport.zoom(factor, at)
        self.viewport_moved()

    def pan(self, fraction: float) -> None:
        self.model.viewport.pan(fraction)
        self.viewport_moved()

    def viewport_moved(self) -> None:
        """The viewport was changed (here or by the page's buttons): fit and redraw."""
        self.model.viewport.fit(self.model.lanes)
        self.refresh()
        self.viewport_changed.emit()


def font_scale(font: QFont) -> tuple[float, QFont]:
    """(scale, base font) for a canvas drawn in ``font``: above :data:`LANE_FONT_PT` the
    drawing is scaled up and its fonts are the usual size (the scale enlarges them)."""
    size = font.pointSizeF()
    scale = size / LANE_FONT_PT if size > LANE_FONT_PT else 1.0
    base = QFont(font)
    if scale > 1.0:
        base.setPointSizeF(size / scale)
    return scale, base


class LogLegend(ThemedCanvas):
    """One sample of each mark, named: the key to the lanes."""

    ENTRIES = (
        ("log_start", "log start"),
        ("segment", "segment boundary"),
        ("hw", "high watermark"),
        ("token", "new record (colour = key)"),
        ("committed", "committed offset"),
        ("lag", "lag"),
        ("read", "read position"),
        ("uncommitted", "read, not committed"),
    )
    # Shown only on topics that have them (:meth:`set_extras`).
    COMPACTION_ENTRIES = (("clean", "cleaned (compacted)"), ("dirty", "dirty (not cleaned yet)"))
    STABLE_ENTRY = ("stable", "last stable offset")
    ABORTED_ENTRY = ("aborted", "aborted transaction")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LogLegend")
        self.scale = 1.0  # as the lanes': the legend grows with them
        self.entries: tuple[tuple[str, str], ...] = self.ENTRIES
        self.rows = 1
        self._font = label_font(self.font(), -0.5)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit_height()
        self.setToolTip(
            "Each lane is one partition's log, oldest offsets left, newest right. A group's "
            "cursor sits at its committed offset; the shaded gap to the high watermark is "
            "its lag. Hover anything for its numbers; click a record to open it."
        )

    def set_extras(self, compacted: bool, stable: bool, aborted: bool) -> None:
        """Add the compaction and transaction marks to the key while the lanes show them."""
        entries = self.ENTRIES
        if compacted:
            entries += self.COMPACTION_ENTRIES
        if stable:
            entries += (self.STABLE_ENTRY,)
        if aborted:
            entries += (self.ABORTED_ENTRY,)
        if entries != self.entries:
            self.entries = entries
            self._fit_height()
            self.update()

    def _layout(self, width: float) -> list[tuple[str, str, float, int]]:
        """(key, label, x, row) of each entry, wrapped onto more rows when too wide."""
        fm = QFontMetricsF(self._font)
        out = []
        x, row = 4.0, 0
        for key, label in self.entries:
            w = 26 + fm.horizontalAdvance(label) + 18
            if x > 4.0 and x + w - 18 > width:
                x, row = 4.0, row + 1
            out.append((key, label, x, row))
            x += w
        return out

    def _fit_height(self) -> None:
        width = max(200.0, self.width() / self.scale)
        rows = 1 + max((r for *_, r in self._layout(width)), default=0)
        self.rows = rows
        self.setFixedHeight(math.ceil(LEGEND_H * rows * self.scale))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_height()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.FontChange:  # presentation mode: large labels
            self.scale, base = font_scale(self.font())
            self._font = label_font(base, -0.5)
            self._fit_height()
            self.update()
        super().changeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, self.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        t = self._theme
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.scale(self.scale, self.scale)
        p.setFont(self._font)
        fm = QFontMetricsF(self._font)
        width = self.width() / self.scale
        group = group_color(t, 0)
        for key, label, x, row in self._layout(width):
            top = row * LEGEND_H
            self._glyph(p, key, x, top + LEGEND_H / 2, group)
            p.setPen(QColor(t.text))
            w = fm.horizontalAdvance(label)
            p.drawText(QRectF(x + 26, top, w + 2, LEGEND_H), Qt.AlignmentFlag.AlignVCenter,
                       label)
        p.end()

    def _glyph(self, p: QPainter, key: str, x: float, mid: float, group: QColor) -> None:
        t = self._theme
        r = QRectF(x, mid - 8, 20, 16)
        if key == "log_start":
            p.setPen(QPen(QColor(t.text), 3))
            p.drawLine(QPointF(x + 10, mid - 9), QPointF(x + 10, mid + 9))
        elif key == "segment":
            p.setPen(QPen(QColor(t.chart_fg), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x + 10, mid - 9), QPointF(x + 10, mid + 9))
        elif key == "hw":
            p.setPen(QPen(QColor(t.accent), 3))
            p.drawLine(QPointF(x + 10, mid - 9), QPointF(x + 10, mid + 9))
        elif key == "token":
            p.setPen(Qt.PenStyle.NoPen)
            for i, hue in enumerate((20, 140, 260)):
                p.setBrush(QColor.fromHsl(hue, 175, 150 if t.dark else 118))
                p.drawRoundedRect(QRectF(x + i * 7, mid - 6, 5, 12), 2, 2)
        elif key == "committed":
            p.setPen(QPen(QColor(t.base), 1.5))
            p.setBrush(group)
            p.drawRoundedRect(QRectF(x + 5, mid - 6, 10, 12), 2, 2)
        elif key == "lag":
            c = QColor(group)
            c.setAlphaF(0.30)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c)
            p.drawRect(QRectF(r.x(), mid - 5, 20, 10))
        elif key == "read":
            p.setPen(QPen(group, 2))
            p.setBrush(QColor(t.base))
            p.drawEllipse(QPointF(x + 10, mid), 5.5, 5.5)
        elif key == "uncommitted":
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(group, Qt.BrushStyle.BDiagPattern))
            path = QPainterPath()
            path.addRect(QRectF(r.x(), mid - 5, 20, 10))
            p.drawPath(path)
        elif key in ("clean", "dirty"):
            p.setPen(Qt.PenStyle.NoPen)
            if key == "clean":
                c = QColor(t.ok)
                c.setAlphaF(0.85)
                p.setBrush(c)
            else:
                c = QColor(t.warn)
                c.setAlphaF(0.6)
                p.setBrush(c)
            p.drawRect(QRectF(r.x(), mid - 3, 20, 6))
        elif key == "stable":
            p.setPen(QPen(QColor(t.warn), 3))
            p.drawLine(QPointF(x + 10, mid - 9), QPointF(x + 10, mid + 9))
        elif key == "aborted":
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(t.bad), Qt.BrushStyle.DiagCrossPattern))
            p.drawRect(QRectF(r.x(), mid - 6, 20, 12))
