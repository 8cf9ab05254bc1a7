"""How each mark of the log view looks: theme colours, and the painter of one lane.

Contract: :class:`LanePainter` turns one lane's :class:`~desktop.models.log_marks.Mark`
list (laid out by :func:`~desktop.models.log_marks.lane_marks`) into a
:class:`LaneDrawing` (:meth:`LanePainter.compile`, on the tick) and replays a drawing
with a QPainter it is handed (:meth:`LanePainter.draw`, in ``paintEvent``). It keeps the
fonts and a theme's pens and brushes (:class:`Paints`, made once per theme, so neither
step creates one per mark) and holds no widget and no model; :meth:`LanePainter.set_font`
re-derives the fonts when the owning widget's font changes.

Cost: a drawing is a flat list of QPainter calls with their arguments made: tokens of
one colour are one ``drawRects`` call, segment boundaries one ``drawLines``, texts are
measured and placed, redundant pen/brush/font changes dropped. A paint therefore only
replays calls; its work no longer grows with per-mark Python. Antialiasing stays off
except for the few round shapes (cursor tabs, read positions, clipped arrows). Group colours are the theme's member palette by slot (:func:`group_color`);
tokens are coloured by key hue (:func:`key_color`) and fade in steps as they age. The
widget that owns the painter, caches the marks and handles the mouse is
:class:`desktop.views.log_lanes.LaneCanvas`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF
from streamscope.desktop import format as fmt
from streamscope.desktop.models.log_marks import (
    BAR_H,
    GROUP_ROW_H,
    Kind,
    LaneBox,
    Mark,
    Scale,
    key_hue,
    lane_height,
)
from streamscope.desktop.models.log_model import TOKEN_TTL_S, Lane
from streamscope.desktop.theme import Theme


def group_color(theme: Theme, slot: int) -> QColor:
    return theme.member_color(slot)


def key_color(theme: Theme, key_hash: int | None, sampled: bool) -> QColor:
    """A token's colour: by key hash; one neutral colour for a null or unsampled key."""
    hue = key_hue(key_hash) if sampled else None
    if hue is None:
        c = QColor(theme.muted)
        c.setAlphaF(0.75)
        return c
    return QColor.fromHsl(hue, 175, 150 if theme.dark else 118)


def label_font(base: QFont, delta: float = 0.0, bold: bool = False) -> QFont:
    f = QFont(base)
    f.setPointSizeF(max(7.5, base.pointSizeF() + delta))
    f.setBold(bold)
    return f


class Paints:
    """Colours, pens and brushes of one theme, made once (a paint only picks them)."""

    FADE_LEVELS = 4

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        self.base = QColor(theme.base)
        self.track = QColor(theme.alt_base)
        self.text = QColor(theme.text)
        self.muted = QColor(theme.muted)
        self.bad = QColor(theme.bad)
        self.accent = QColor(theme.accent)
        self.border_pen = QPen(QColor(theme.border), 1)
        self.body_pen = QPen(self.accent, 1)
        fill = QColor(theme.accent)
        fill.setAlphaF(0.22 if theme.dark else 0.13)
        self.body_brush = QBrush(fill)
        deleted = QColor(theme.muted)
        deleted.setAlphaF(0.55)
        self.deleted_brush = QBrush(deleted, Qt.BrushStyle.BDiagPattern)
        segment = QColor(theme.chart_fg)
        segment.setAlphaF(0.55)
        self.segment_pen = QPen(segment, 1, Qt.PenStyle.DashLine)
        self.log_start_pen = QPen(self.text, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        self.hw_pen = QPen(self.accent, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        self.reader_pen = QPen(self.muted, 1.5)
        self.produced_pen = QPen(QColor(theme.warn), 3)
        self.tab_pen = QPen(self.base, 1.5)
        # Compaction: the cleaned section "ok", the dirty one a lighter "warn".
        clean = QColor(theme.ok)
        clean.setAlphaF(0.85)
        self.clean_brush = QBrush(clean)
        dirty = QColor(theme.warn)
        dirty.setAlphaF(0.6)
        self.dirty_brush = QBrush(dirty)
        # Transactions: aborted ranges cross-hatched "bad"; the unstable strip and the
        # last stable offset in "warn".
        self.aborted_brush = QBrush(QColor(theme.bad), Qt.BrushStyle.DiagCrossPattern)
        self.unstable_brush = QBrush(QColor(theme.warn))
        self.warn = QColor(theme.warn)
        self.lso_pen = QPen(self.warn, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        self._groups: dict[int, tuple[QColor, QBrush, QBrush, QColor]] = {}
        self._group_pens: dict[int, tuple[QPen, QPen, QPen, QPen]] = {}
        self._tokens: dict[tuple[int | None, int], QColor] = {}

    def group(self, slot: int) -> tuple[QColor, QBrush, QBrush, QColor]:
        """(solid, lag fill, read-not-committed hatch, lighter) of a group's colour."""
        found = self._groups.get(slot)
        if found is None:
            solid = group_color(self.theme, slot)
            lag = QColor(solid)
            lag.setAlphaF(0.30)
            light = QColor(solid)
            light.setAlphaF(0.75)
            found = (solid, QBrush(lag), QBrush(solid, Qt.BrushStyle.BDiagPattern), light)
            self._groups[slot] = found
        return found

    def group_pens(self, slot: int) -> tuple[QPen, QPen, QPen, QPen]:
        """(cursor line, read-position dash, read-position ring, clipped read ring)."""
        found = self._group_pens.get(slot)
        if found is None:
            solid, _lag, _hatch, light = self.group(slot)
            found = (
                QPen(solid, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap),
                QPen(light, 1.5, Qt.PenStyle.DashLine),
                QPen(solid, 2),
                QPen(light, 2),
            )
            self._group_pens[slot] = found
        return found

    def token(self, key: int | None, sampled: bool, age: float) -> QColor:
        """A token's colour by key, fading in steps as it ages."""
        hue = key_hue(key) if sampled else None
        level = min(self.FADE_LEVELS, int(max(0.0, age - 1.0) / TOKEN_TTL_S * self.FADE_LEVELS))
        found = self._tokens.get((hue, level))
        if found is None:
            found = key_color(self.theme, key, sampled)
            found.setAlphaF(found.alphaF() * (1.0 - 0.55 * level / self.FADE_LEVELS))
            self._tokens[(hue, level)] = found
        return found


Op = tuple[Callable[..., object], tuple[object, ...]]
_LEFT_VCENTER = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_UNSET = object()


class LaneDrawing:
    """One lane as QPainter calls (``ops``), and the rows it covers (``top``..``bottom``)."""

    __slots__ = ("top", "bottom", "ops")

    def __init__(self, top: float, bottom: float, ops: list[Op]) -> None:
        self.top = top
        self.bottom = bottom
        self.ops = ops


class _Ops:
    """Collects QPainter calls, dropping pen, brush, font and hint changes that change
    nothing (state is compared by identity: Paints hands out the same objects)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._pen: object = _UNSET
        self._brush: object = _UNSET
        self._font: object = _UNSET
        self._aa = False  # QPainter's default, and every drawing ends with it off

    def pen(self, pen: object) -> None:
        if pen is not self._pen:
            self.ops.append((QPainter.setPen, (pen,)))
            self._pen = pen

    def brush(self, brush: object) -> None:
        if brush is not self._brush:
            self.ops.append((QPainter.setBrush, (brush,)))
            self._brush = brush

    def font(self, font: QFont) -> None:
        if font is not self._font:
            self.ops.append((QPainter.setFont, (font,)))
            self._font = font

    def antialias(self, on: bool) -> None:
        if on != self._aa:
            self.ops.append((QPainter.setRenderHint, (QPainter.RenderHint.Antialiasing, on)))
            self._aa = on

    def add(self, fn: Callable[..., object], *args: object) -> None:
        self.ops.append((fn, args))

    def text(self, font: QFont, color: QColor, rect: QRectF, flags: object, s: str) -> None:
        self.font(font)
        self.pen(color)
        self.ops.append((QPainter.drawText, (rect, flags, s)))


# Spans drawn as plain fills, and the Paints brush of each.
_FILLS = {
    Kind.CLEAN: "clean_brush",
    Kind.DIRTY: "dirty_brush",
    Kind.ABORTED: "aborted_brush",
    Kind.UNSTABLE: "unstable_brush",
}
_NO_PEN = Qt.PenStyle.NoPen
_NO_BRUSH = Qt.BrushStyle.NoBrush


class LanePainter:
    """Lays lanes out as :class:`LaneDrawing` and draws them, in one theme with fonts
    derived from one base font."""

    def __init__(self, theme: Theme, base: QFont) -> None:
        self.paints = Paints(theme)
        self.set_font(base)

    def set_font(self, base: QFont) -> None:
        """Derive the label fonts from ``base`` (the canvas's font, or its usual size when
        the canvas scales its drawing up); drawings compiled before keep the old fonts."""
        self.font = label_font(base)
        self.small = label_font(base, -1.0)
        self.bold = label_font(base, 0.5, bold=True)
        self.fm = QFontMetricsF(self.font)
        self.fm_small = QFontMetricsF(self.small)

    def set_theme(self, theme: Theme) -> None:
        self.paints = Paints(theme)

    @staticmethod
    def draw(p: QPainter, drawing: LaneDrawing) -> None:
        """Replay ``drawing`` (made by :meth:`compile`) on ``p``."""
        for fn, args in drawing.ops:
            fn(p, *args)

    def compile(
        self,
        index: int,
        lane: Lane,
        marks: list[Mark],
        box: LaneBox,
        window: tuple[float, float],
        width: float,
    ) -> LaneDrawing:
        """Lane ``index`` (its ``marks``, laid out in ``box`` over ``window``) on a canvas
        ``width`` pixels wide, as the QPainter calls that draw it, back to front."""
        scale = Scale(window, box.left, box.right)
        top, bot = box.bar_top, box.bar_bottom
        c = self.paints
        o = _Ops()
        # The axis track: where offsets would be, retained or not.
        o.pen(_NO_PEN)
        o.brush(c.track)
        o.add(QPainter.drawRect, QRectF(box.left, top, box.right - box.left, BAR_H))
        if index > 0:
            o.pen(c.border_pen)
            o.add(QPainter.drawLine, QPointF(0, box.top + 0.5), QPointF(width, box.top + 0.5))
        muted, text = c.muted, c.text
        fm_small = self.fm_small
        left_label_right = box.left  # where the axis row's left label ends
        # Offsets under the bar, drawn last on a plate so cursor lines never cross them.
        axis_labels: list[tuple[float, float, str, QColor]] = []
        # Tokens by colour and segment lines are drawn in one call each, where the first
        # of them stood (they never overlap one another).
        tokens: dict[int, tuple[QColor, list[QRectF]]] = {}
        segments: list[QLineF] = []
        for m in marks:
            k = m.kind
            if k == Kind.TOKEN:
                if not tokens:
                    o.add(self._tokens, tokens)
                color = c.token(m.key, m.sampled, m.age)
                batch = tokens.get(id(color))
                if batch is None:
                    batch = tokens[id(color)] = (color, [])
                batch[1].append(QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
                continue
            if k == Kind.SEGMENT:
                if not segments:
                    o.pen(c.segment_pen)
                    o.add(QPainter.drawLines, segments)
                segments.append(QLineF(m.cx, m.y0, m.cx, m.y1))
                continue
            if k == Kind.BODY:
                o.pen(c.body_pen)
                o.brush(c.body_brush)
                o.add(QPainter.drawRect, QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
            elif k == Kind.DELETED:
                o.pen(_NO_PEN)
                o.brush(c.deleted_brush)
                o.add(QPainter.drawRect, QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
            elif k in _FILLS:
                o.pen(_NO_PEN)
                o.brush(getattr(c, _FILLS[k]))
                o.add(QPainter.drawRect, QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
            elif k == Kind.STABLE:
                self._edge_marker(o, m, c.lso_pen)
                label = f"LSO {fmt.count(m.offset)}"
                w = fm_small.horizontalAdvance(label)
                x = max(left_label_right + 12, m.cx - w / 2)
                axis_labels.append((x, w, label, c.warn))
                left_label_right = x + w
            elif k == Kind.LOG_START:
                self._edge_marker(o, m, c.log_start_pen)
                label = f"log start {fmt.count(m.offset)}"
                if m.clipped:
                    label = f"… {fmt.count(max(lane.log_start, int(scale.lo)))}"
                w = fm_small.horizontalAdvance(label)
                x = min(m.x0, box.right - w)
                axis_labels.append((x, w, label, muted if m.clipped else text))
                left_label_right = x + w
            elif k == Kind.HIGH_WATERMARK:
                self._edge_marker(o, m, c.hw_pen)
                label = f"high watermark {fmt.count(m.offset)}"
                w = fm_small.horizontalAdvance(label)
                if m.cx - w < left_label_right + 12:
                    label = f"HW {fmt.count(m.offset)}"
                    w = fm_small.horizontalAdvance(label)
                x = max(left_label_right + 12, m.cx - w)
                axis_labels.append((x, w, label, c.accent))
            elif k == Kind.LAG:
                o.pen(_NO_PEN)
                o.brush(c.group(lane.groups[m.group].slot)[1])
                o.add(QPainter.drawRect, QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
            elif k == Kind.UNCOMMITTED:
                o.pen(_NO_PEN)
                o.brush(c.group(lane.groups[m.group].slot)[2])
                o.add(QPainter.drawRect, QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0))
            elif k == Kind.COMMITTED:
                self._committed(o, lane, m, box, scale)
            elif k == Kind.READ:
                self._read(o, lane, m, box)
            elif k == Kind.PRODUCED:
                o.pen(c.produced_pen)
                o.brush(_NO_BRUSH)
                o.antialias(True)
                o.add(
                    QPainter.drawRoundedRect,
                    QRectF(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0), 3.0, 3.0,
                )
                o.antialias(False)
            elif k == Kind.READER:
                o.pen(c.reader_pen)
                o.brush(_NO_BRUSH)
                o.add(
                    QPainter.drawPolygon,
                    QPolygonF([QPointF(m.cx, m.y0), QPointF(m.x1, m.y1), QPointF(m.x0, m.y1)]),
                )
            elif k == Kind.NO_COMMIT:
                gid = lane.groups[m.group].group_id
                o.text(
                    self.small, muted,
                    QRectF(m.x0 + 4, m.y0 - 4, m.x1 - m.x0, GROUP_ROW_H - 6),
                    _LEFT_VCENTER, f"{gid}: nothing committed here",
                )
            elif k == Kind.RATE:
                o.text(
                    self.bold, text, QRectF(m.x0, m.y0, m.x1 - m.x0 - 6, BAR_H / 2 + 2),
                    _LEFT_VCENTER, fmt.short_count(lane.rate),
                )
                o.text(
                    self.small, muted,
                    QRectF(m.x0, m.y0 + BAR_H / 2, m.x1 - m.x0 - 6, BAR_H / 2 + 4),
                    _LEFT_VCENTER, "msg/s",
                )
            elif k == Kind.LABEL:
                o.text(
                    self.bold, text, QRectF(12, m.y0, m.x1 - 12, BAR_H),
                    _LEFT_VCENTER, f"partition {lane.partition}",
                )
                # A failing or offline partition says so where its count would be; the
                # reason is in the banner above the lanes (and the lane's tooltip).
                problem = lane.storage_problem
                o.text(
                    self.small, c.bad if problem else muted,
                    QRectF(12, m.y0 + BAR_H, m.x1 - 12, 16), Qt.AlignmentFlag.AlignLeft,
                    f"\u26a0 {problem.split(':', 1)[0]}" if problem
                    # A compacted log has gaps: its span counts offsets, not records.
                    else fmt.plural(lane.retained, "offset" if lane.compaction else "record"),
                )
        plate = c.base
        for x, w, label, color in axis_labels:
            o.add(QPainter.fillRect, QRectF(x - 3, bot + 2, w + 6, 15), plate)
            o.text(self.small, color, QRectF(x, bot + 2, w + 4, 15),
                   Qt.AlignmentFlag.AlignLeft, label)
        o.antialias(False)
        return LaneDrawing(box.top, box.top + lane_height(len(lane.groups)), o.ops)

    @staticmethod
    def _tokens(p: QPainter, tokens: dict[int, tuple[QColor, list[QRectF]]]) -> None:
        p.setPen(_NO_PEN)
        for color, rects in tokens.values():
            p.setBrush(color)
            p.drawRects(rects)

    def _edge_marker(self, o: _Ops, m: Mark, pen: QPen) -> None:
        if m.clipped:
            return
        o.pen(pen)
        o.add(QPainter.drawLine, QPointF(m.cx, m.y0), QPointF(m.cx, m.y1))

    def _committed(self, o: _Ops, lane: Lane, m: Mark, box: LaneBox, scale: Scale) -> None:
        g = lane.groups[m.group]
        c = self.paints.group(g.slot)[0]
        row0, row1 = box.group_row(m.group)
        mid = (row0 + row1) / 2
        x = m.cx
        lag = g.lag if g.lag is not None else 0
        label = f"{g.group_id}  lag {fmt.count(lag)}"
        if m.clipped:
            # Off the window: an arrow at the edge it lies beyond, and the numbers.
            left = m.offset < scale.lo
            tip = x - 1 if left else x + 1
            back = x + 9 if left else x - 9
            o.pen(_NO_PEN)
            o.brush(c)
            o.antialias(True)
            o.add(
                QPainter.drawPolygon,
                QPolygonF([QPointF(tip, mid), QPointF(back, mid - 6), QPointF(back, mid + 6)]),
            )
            o.antialias(False)
            label = f"{g.group_id}  at {fmt.count(m.offset)}  lag {fmt.count(lag)}"
            self._group_label(o, label, back + 4 if left else None, x - 12, mid)
            return
        # The cursor: through the log to its row, then a tab with the group's colour.
        o.pen(self.paints.group_pens(g.slot)[0])
        o.add(QPainter.drawLine, QPointF(x, box.bar_top - 2), QPointF(x, row1 - 3))
        o.pen(self.paints.tab_pen)
        o.brush(c)
        o.antialias(True)
        o.add(
            QPainter.drawPolygon,
            QPolygonF(
                [QPointF(x, box.bar_top - 2), QPointF(x - 6, box.bar_top - 9),
                 QPointF(x + 6, box.bar_top - 9)]
            ),
        )
        o.add(QPainter.drawRoundedRect, QRectF(x - 5, mid - 6, 10, 12), 2.0, 2.0)
        o.antialias(False)
        width = self.fm.horizontalAdvance(label)
        # Left of the cursor, and of the read position when that lies behind it.
        right = x - 10
        if g.read is not None and g.read < m.offset:
            right = min(right, scale.clamp_x(scale.x(g.read)) - 10)
        if right - width >= box.left:
            self._group_label(o, label, None, right, mid)
        else:
            # No room before the cursor: after the lag band (past the high watermark).
            end = max(x + 10, scale.clamp_x(scale.x(lane.high_watermark)) + 8)
            self._group_label(o, label, end, None, mid)

    def _group_label(
        self, o: _Ops, label: str, left: float | None, right: float | None, mid: float
    ) -> None:
        width = self.fm.horizontalAdvance(label)
        x = left if left is not None else (right or 0) - width
        o.text(self.font, self.paints.text, QRectF(x, mid - 9, width + 2, 18),
               _LEFT_VCENTER, label)

    def _read(self, o: _Ops, lane: Lane, m: Mark, box: LaneBox) -> None:
        g = lane.groups[m.group]
        _line, dash, ring, clipped_ring = self.paints.group_pens(g.slot)
        x = m.cx
        mid = (m.y0 + m.y1) / 2
        o.antialias(True)
        if m.clipped:
            o.pen(clipped_ring)
            o.brush(_NO_BRUSH)
            o.add(QPainter.drawEllipse, QPointF(x, mid), 4.0, 4.0)
        else:
            o.pen(dash)
            o.add(QPainter.drawLine, QPointF(x, box.bar_top), QPointF(x, mid - 6))
            o.pen(ring)
            o.brush(self.paints.base)
            o.add(QPainter.drawEllipse, QPointF(x, mid), 5.5, 5.5)
        o.antialias(False)
