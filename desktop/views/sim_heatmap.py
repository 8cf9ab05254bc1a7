"""The analytics app's view: updates per zone as a heatmap, average speeds, busiest partners.

Contract: :class:`AnalyticsPanel.set_snapshot` takes an
:class:`~streamscope.core.sim.apps.AnalyticsSnapshot` (and the city, for its zone grid)
and repaints. :class:`ZoneHeatmap` draws the city's zones as a grid, north up, each cell
coloured by the updates per second the app processed from that zone over its sliding
window, written in the cell with the zone's average speed (m/s over moving updates); a
colour scale with its unit sits beside the grid, from 0 to a round number above the
busiest zone. :class:`BusiestPartners` lists the partners with the most updates processed
and each one's share of all updates, beside the share each would have if all sent alike:
a hot key (one partner sending far more) stands out, and with it the partition its key
maps to.

Partner ids come from the records (a client's data): they are painted as plain text.
Everything is painted with QPainter per repaint; nothing per update is a Qt object, and
a snapshot with the same figures as the one on screen repaints nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget
from streamscope.core.sim.apps import AnalyticsSnapshot
from streamscope.core.sim.city import City
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.theme import LIGHT, Theme
from streamscope.desktop.views.charts import nice_top

# Sequential, light to dark (ColorBrewer YlOrRd): reads on both backgrounds.
HEAT_STOPS = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
SCALE_WIDTH = 74  # the colour bar and its labels
TOP_ROWS = 5
# A partner sending this many times its fair share is called a hot key.
HOT_FACTOR = 3.0


def heat_color(fraction: float) -> QColor:
    """The colour of ``fraction`` (0..1) of the scale."""
    f = min(max(fraction, 0.0), 1.0) * (len(HEAT_STOPS) - 1)
    i = min(int(f), len(HEAT_STOPS) - 2)
    a, b = QColor(HEAT_STOPS[i]), QColor(HEAT_STOPS[i + 1])
    t = f - i
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def _ink(background: QColor) -> QColor:
    """Black or white text, whichever reads on ``background``."""
    lum = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor("#1d2330") if lum > 140 else QColor("#ffffff")


def share_text(share: float) -> str:
    """``0.025`` -> ``"2.5 %"``; whole percents from 10 % up."""
    pct = share * 100
    return f"{pct:.0f} %" if pct >= 10 else f"{pct:.1f} %"


def rate_text(per_s: float) -> str:
    return f"{fmt.short_count(per_s)}/s"


class ZoneHeatmap(QWidget):
    """The zones grid and its colour scale (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._theme: Theme = LIGHT
        self.city: City | None = None
        self.snapshot: AnalyticsSnapshot | None = None
        self.top = 1.0

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_data(self, city: City, snapshot: AnalyticsSnapshot) -> None:
        old = self.snapshot
        self.snapshot = snapshot
        if city == self.city and old is not None and old.zones == snapshot.zones:
            return  # the same figures: no repaint (the snapshot's time alone moved)
        self.city = city
        peak = max((z.rate_per_s for z in snapshot.zones), default=0.0)
        self.top = nice_top(peak, floor=1.0)
        self.update()

    def cell_text(self, zone: int) -> str:
        """What cell ``zone`` says (for tests): its rate and speed."""
        if self.snapshot is None:
            return ""
        z = self.snapshot.zones[zone]
        speed = "no one moving" if z.avg_speed is None else f"avg {z.avg_speed:.1f} m/s"
        return f"{rate_text(z.rate_per_s)} · {speed}"

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # No antialiasing: the cells and the scale are axis-aligned rectangles (text is
        # antialiased on its own); blending every edge only costs.
        p = QPainter(self)
        t = self._theme
        w, h = self.width(), self.height()
        side = max(40.0, min(w - SCALE_WIDTH - 12, h - 2))
        grid = QRectF(1, (h - side) / 2, side, side)
        n = self.city.zones_per_side if self.city is not None else 3
        cell = side / n
        base = QFont(self.font())
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * 0.9))
        big = QFont(base)
        big.setBold(True)
        # Small cells (a short window) keep the rate and drop the rest, never overlapping.
        big.setPointSizeF(base.pointSizeF() * (1.35 if cell > 90 else 1.0 if cell > 56 else 0.85))
        show_zone = cell >= 70
        show_speed = cell >= 56
        zones = self.snapshot.zones if self.snapshot is not None else ()
        for zone in range(n * n):
            zx, zy = zone % n, zone // n
            # Zone rows count from the south: row 0 is drawn at the bottom (north up).
            r = QRectF(grid.left() + zx * cell, grid.bottom() - (zy + 1) * cell, cell, cell)
            stats = zones[zone] if zone < len(zones) else None
            rate = stats.rate_per_s if stats is not None else 0.0
            fill = heat_color(rate / self.top) if stats is not None else QColor(t.alt_base)
            p.setPen(QPen(QColor(t.base), 2))
            p.setBrush(fill)
            p.drawRect(r)
            ink = _ink(fill)
            p.setPen(ink)
            inner = r.adjusted(4, 3, -4, -3)
            p.setFont(small)
            if show_zone:
                p.drawText(inner, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
                           f"zone {zone}")
            if stats is None:
                continue
            p.setFont(big)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, rate_text(rate))
            if show_speed:
                p.setFont(small)
                speed = "–" if stats.avg_speed is None else f"{stats.avg_speed:.1f} m/s"
                p.drawText(inner, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                           speed)
        self._paint_scale(p, QRectF(grid.right() + 12, grid.top(), SCALE_WIDTH, side), small)
        p.end()

    def _paint_scale(self, p: QPainter, area: QRectF, font: QFont) -> None:
        t = self._theme
        p.setFont(font)
        fm = QFontMetrics(font)
        title_h = fm.height() * 2 + 2
        p.setPen(QColor(t.chart_fg))
        p.drawText(
            QRectF(area.left(), area.top(), area.width(), title_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "updates\nper second",
        )
        bar = QRectF(area.left(), area.top() + title_h + 4, 14, area.height() - title_h - 10)
        if bar.height() < 20:
            return
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())
        for i, stop in enumerate(HEAT_STOPS):
            gradient.setColorAt(i / (len(HEAT_STOPS) - 1), QColor(stop))
        p.setPen(QPen(QColor(t.border), 1))
        p.setBrush(gradient)
        p.drawRect(bar)
        p.setPen(QColor(t.chart_fg))
        for frac in (0.0, 0.5, 1.0):
            y = bar.bottom() - frac * bar.height()
            p.drawLine(int(bar.right()), int(y), int(bar.right() + 4), int(y))
            p.drawText(
                QRectF(bar.right() + 7, y - fm.height() / 2, area.width() - 22, fm.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fmt.short_count(self.top * frac),
            )


class BusiestPartners(QWidget):
    """The partners with the most updates processed, as bars of their share of all updates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self.rows: list[tuple[str, int, float]] = []  # partner, updates, share of all
        self.fair: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)

    def _row_height(self) -> int:
        return QFontMetrics(self.font()).height() + 4  # the theme's font, once polished

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(200, self._row_height() * TOP_ROWS)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        # Short of room, fewer rows are shown (the busiest first), never a cut one.
        return QSize(120, self._row_height() * 2)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_data(self, snapshot: AnalyticsSnapshot, partners: int | None) -> None:
        total = sum(z.updates for z in snapshot.zones)
        rows = [(pid, n, n / total if total else 0.0) for pid, n in snapshot.top_partners]
        fair = 1.0 / partners if partners else None
        if rows != self.rows or fair != self.fair:
            self.rows, self.fair = rows, fair
            self.update()

    def hot(self) -> list[str]:
        """Partners sending more than :data:`HOT_FACTOR` times their fair share."""
        if self.fair is None:
            return []
        return [pid for pid, _n, share in self.rows if share > HOT_FACTOR * self.fair]

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        t = self._theme
        fm = QFontMetrics(self.font())
        row_h = fm.height() + 4
        name_w = min(150, max((fm.horizontalAdvance(r[0]) for r in self.rows), default=60) + 12)
        figures = [f"{fmt.count(n)} ({share_text(share)})" for _pid, n, share in self.rows]
        # As wide as the widest figure shown (a narrow panel keeps them whole).
        figure_w = max((fm.horizontalAdvance(f) for f in figures), default=0) + 8
        bar_w = max(20, self.width() - name_w - figure_w)
        top_share = max((r[2] for r in self.rows), default=0.0)
        scale = max(top_share, self.fair or 0.0, 1e-9)
        hot = set(self.hot())
        fit = max(1, self.height() // row_h)
        for i, (pid, _n, share) in enumerate(self.rows[:fit]):
            y = i * row_h
            p.setPen(QColor(t.text))
            name = fm.elidedText(pid, Qt.TextElideMode.ElideMiddle, name_w - 6)
            p.drawText(QRectF(0, y, name_w, row_h), Qt.AlignmentFlag.AlignVCenter, name)
            color = QColor(t.bad if pid in hot else t.accent)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRect(QRectF(name_w, y + 3, max(1.0, bar_w * share / scale), row_h - 6))
            if self.fair is not None:
                x = name_w + bar_w * self.fair / scale
                p.setPen(QPen(QColor(t.chart_fg), 1, Qt.PenStyle.DashLine))
                p.drawLine(int(x), int(y + 1), int(x), int(y + row_h - 1))
            p.setPen(QColor(t.text))
            p.drawText(
                QRectF(name_w + bar_w, y, figure_w, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                figures[i],
            )
        p.end()


class AnalyticsPanel(QWidget):
    """Heatmap, its explanation, and the busiest partners."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AnalyticsPanel")
        layout = vbox(self, spacing=4)
        self.caption = named(
            plain_label("Updates per second from each zone of the city over the last 10 s, and "
                   "the partners' average speed there."),
            "Muted",
        )
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.heatmap = ZoneHeatmap()
        self.heatmap.setMinimumHeight(90)
        self.top_title = plain_label("Busiest partners (updates processed, share of all)")
        self.top_title.setWordWrap(True)
        self.top_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.top = BusiestPartners()
        self.hot_label = named(plain_label(""), "Muted")
        self.hot_label.setTextFormat(Qt.TextFormat.PlainText)  # names a partner id
        self.hot_label.setWordWrap(True)
        self.hot_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.caption)
        layout.addWidget(self.heatmap, 1)
        layout.addWidget(self.top_title)
        layout.addWidget(self.top)
        layout.addWidget(self.hot_label)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.heatmap.set_theme(theme)
        self.top.set_theme(theme)

    def set_snapshot(self, city: City, snapshot: AnalyticsSnapshot, partners: int | None) -> None:
        self.heatmap.set_data(city, snapshot)
        self.top.set_data(snapshot, partners)
        hot = self.top.hot()
        if hot:
            text = (f"Hot key: {', '.join(hot)} sends far more than the others; every update "
                    "with that key goes to one partition, which gets busier than the rest.")
        elif self.top.fair is not None:
            text = (f"Dashed line: a fair share ({self.top.fair * 100:.1f} %, all sending "
                    "alike). A bar far past it is a hot key.")
        else:
            text = ""
        if self.hot_label.text() != text:
            self.hot_label.setText(text)
