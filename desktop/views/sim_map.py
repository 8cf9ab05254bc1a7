"""The customer app's map: the city and each delivery partner where the app last saw it.

Contract: :class:`CityMap` draws a :class:`~streamscope.core.sim.city.City` once (its road
grid, restaurants and customers) and, per :meth:`CityMap.set_snapshot`, the partners of a
:class:`~streamscope.core.sim.apps.MapSnapshot`: each partner's last known position as a
dot and its short trail as a line, both coloured by status (driving to a restaurant,
delivering to a customer, waiting), with a legend above and the end-to-end delay (record
produced -> processed by this app) p50 / p99 below. The map is rebuilt only from the
records the app's consumer group consumed: a paused or lagging group shows where the
partners *were*.

Cost: a redraw hands numpy arrays to four pyqtgraph items (two scatters, two line sets);
trails of every partner of one status are one NaN-separated line. Nothing per partner is
a Qt object. Axes read metres from the city's south-west corner; the aspect is locked so
blocks are square; the mouse neither pans nor zooms (a projector demo must not drift).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget
from streamscope.core.sim.apps import MapSnapshot
from streamscope.core.sim.city import City
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, vbox
from streamscope.desktop.theme import Theme

STATUS_TEXT = {
    "to_restaurant": "driving to a restaurant",
    "to_customer": "delivering to a customer",
    "idle": "waiting for an order",
}


def status_colors(theme: Theme) -> dict[str, QColor]:
    """One colour per partner status, readable on both backgrounds."""
    return {
        "to_restaurant": QColor(theme.series[1]),  # orange
        "to_customer": QColor(theme.series[0]),  # blue
        "idle": QColor(theme.muted),
    }


def restaurant_color(theme: Theme) -> QColor:
    return QColor(theme.series[3])


def delay_text(p50: float | None, p99: float | None, samples: int) -> str:
    if p50 is None or p99 is None:
        return "End-to-end delay: no update processed yet"
    return (
        f"End-to-end delay (record produced → processed by this app): "
        f"p50 {_ms(p50)} · p99 {_ms(p99)}, over the last {fmt.count(samples)} updates"
    )


def _ms(ms: float) -> str:
    if ms >= 10_000:
        return f"{ms / 1000:.0f} s"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{max(ms, 0.0):.0f} ms"


def _trails(points: list[tuple[tuple[float, float], ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Every trail as one line, NaN between trails (pyqtgraph's connect='finite')."""
    xs: list[float] = []
    ys: list[float] = []
    for trail in points:
        if len(trail) < 2:
            continue
        for x, y in trail:
            xs.append(x)
            ys.append(y)
        xs.append(math.nan)
        ys.append(math.nan)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


class CityMap(QWidget):
    """The map with its legend and delay line; see the module docstring."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CityMap")
        self.theme = theme
        self.city: City | None = None
        self.snapshot: MapSnapshot | None = None
        layout = vbox(self, spacing=2)
        # Our own text (no client data): rich text for the colour keys.
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = pg.PlotWidget()
        options = self.plot.getPlotItem().ctrlMenu  # parented, so it dies with the map
        options.setParent(self.plot, options.windowFlags())
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(True)
        self.plot.setMinimumSize(160, 120)
        item = self.plot.getPlotItem()
        item.setContentsMargins(2, 2, 8, 2)
        item.setLabel("bottom", "east (m)")
        item.setLabel("left", "north (m)")
        self.roads = pg.PlotDataItem(connect="pairs")
        self.customers = pg.ScatterPlotItem(symbol="o", size=5, pxMode=True)
        self.restaurants = pg.ScatterPlotItem(symbol="s", size=8, pxMode=True)
        self.trail_items = {s: pg.PlotDataItem(connect="finite") for s in STATUS_TEXT}
        self.partners = pg.ScatterPlotItem(symbol="o", size=10, pxMode=True)
        for it in (self.roads, self.customers, self.restaurants, *self.trail_items.values(),
                   self.partners):
            self.plot.addItem(it)
        self.delay = named(QLabel(delay_text(None, None, 0)), "Muted")
        self.delay.setWordWrap(True)
        self.delay.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.delay)
        self.apply_theme(theme)

    # -- theme ---------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.setBackground(QColor(theme.base))
        item = self.plot.getPlotItem()
        font = QFont()
        font.setPointSizeF(8.5)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(QColor(theme.border)))
            axis.setTextPen(pg.mkPen(QColor(theme.chart_fg)))
            axis.setTickFont(font)
        self.roads.setPen(pg.mkPen(QColor(theme.border), width=1))
        self.customers.setPen(pg.mkPen(QColor(theme.muted), width=1))
        self.customers.setBrush(pg.mkBrush(QColor(theme.base)))
        self.restaurants.setPen(pg.mkPen(QColor(theme.base), width=1))
        self.restaurants.setBrush(pg.mkBrush(restaurant_color(theme)))
        colors = status_colors(theme)
        for status, trail in self.trail_items.items():
            c = QColor(colors[status])
            c.setAlphaF(0.55)
            trail.setPen(pg.mkPen(c, width=2))
        self._brushes = {s: pg.mkBrush(c) for s, c in colors.items()}
        self._outline = pg.mkPen(QColor(theme.base), width=1)
        self.legend.setText(self._legend_html())
        if self.snapshot is not None:
            self.set_snapshot(self.snapshot)

    def _legend_html(self) -> str:
        t = self.theme
        keys = [
            f"<span style='color:{c.name()}; font-size:13pt'>&#9679;</span>&nbsp;"
            f"{STATUS_TEXT[s].replace(' ', '&nbsp;')}"
            for s, c in status_colors(t).items()
        ]
        keys.append(
            f"<span style='color:{restaurant_color(t).name()}; font-size:11pt'>&#9632;"
            "</span>&nbsp;restaurant"
        )
        keys.append(f"<span style='color:{t.muted}; font-size:11pt'>&#9675;</span>&nbsp;customer")
        return " &nbsp; ".join(keys)

    # -- data ----------------------------------------------------------------------------

    def set_city(self, city: City) -> None:
        """Draw the roads and places of ``city`` (once per city)."""
        if city == self.city:
            return
        self.city = city
        size = city.size_m
        lines: list[float] = []
        for i in range(city.blocks + 1):
            at = i * city.block_m
            lines += [at, 0.0, at, size, 0.0, at, size, at]  # north-south, then east-west
        pts = np.asarray(lines, dtype=float).reshape(-1, 2)
        self.roads.setData(pts[:, 0], pts[:, 1])
        self.restaurants.setData([p.x for p in city.restaurants], [p.y for p in city.restaurants])
        self.customers.setData([p.x for p in city.customers], [p.y for p in city.customers])
        margin = city.block_m * 0.6
        self.plot.setXRange(-margin, size + margin, padding=0)
        self.plot.setYRange(-margin, size + margin, padding=0)

    def set_snapshot(self, snapshot: MapSnapshot) -> None:
        """Partners where this app last saw them, trails and delay."""
        self.snapshot = snapshot
        partners = snapshot.partners
        by_status: dict[str, list[tuple[tuple[float, float], ...]]] = {s: [] for s in STATUS_TEXT}
        for p in partners:
            by_status.setdefault(p.status, []).append(p.trail)
        for status, item in self.trail_items.items():
            x, y = _trails(by_status.get(status, []))
            item.setData(x, y)
        if partners:
            self.partners.setData(
                x=np.fromiter((p.x for p in partners), float, len(partners)),
                y=np.fromiter((p.y for p in partners), float, len(partners)),
                brush=[self._brushes.get(p.status, self._brushes["idle"]) for p in partners],
                pen=self._outline,
            )
        else:
            self.partners.setData(x=[], y=[])
        d = snapshot.delay
        self.delay.setText(delay_text(d.p50_ms, d.p99_ms, d.samples))

    def partner_count(self) -> int:
        """Partners drawn now (for tests)."""
        return len(self.partners.data)
