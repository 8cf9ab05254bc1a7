"""The customer app's map: the city and each delivery partner where the app last saw it.

Contract: :class:`CityMap` draws a :class:`~streamscope.core.sim.city.City` once (its road
grid, restaurants and customers) and, per :meth:`CityMap.set_snapshot`, the partners of a
:class:`~streamscope.core.sim.apps.MapSnapshot`: each partner's last known position as a
dot and its short trail as a line, both coloured by status (driving to a restaurant,
delivering to a customer, waiting), with a legend above and the end-to-end delay (record
produced -> processed by this app) p50 / p99 below. The map is rebuilt only from the
records the app's consumer group consumed: a paused or lagging group shows where the
partners *were*.

Cost (benchmarks/sim_paint.py): the city is static and cached as pixels (its items are
painted once per size); per status one line item holds every partner's trail (one
``connect`` array, corners only: points along a straight road are dropped) and one
scatter item the dots, both fed numpy arrays; at most :data:`TRAIL_POINTS` trail points
per redraw (with many partners each keeps its newest ones). Nothing per partner is a Qt
object, nothing is styled per point, and a snapshot showing nothing new (the app
processed no record since) redraws nothing. Axes read metres from the city's south-west
corner; the aspect is locked so blocks are square; the mouse neither pans nor zooms (a
projector demo must not drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy, QWidget
from streamscope.core.sim.apps import MapSnapshot, PartnerView
from streamscope.core.sim.city import City
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import designed_rich_text, named, plain_label, vbox
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.charts import fixed_plot, style_axes

STATUS_TEXT = {
    "to_restaurant": "driving to a restaurant",
    "to_customer": "delivering to a customer",
    "idle": "waiting for an order",
}
SHORT_STATUS_TEXT = {
    "to_restaurant": "to a restaurant",
    "to_customer": "to a customer",
    "idle": "waiting",
}
SHORT_LEGEND_CHARS = 48  # a map narrower than this many characters: the short legend
STATUS_CODE = {s: i for i, s in enumerate(STATUS_TEXT)}
IDLE = STATUS_CODE["idle"]
# Trail points handed to the line items per redraw, all partners together (see _trails).
TRAIL_POINTS = 8_000
# Points closer than this to the line through their neighbours lie on one road (metres).
STRAIGHT_M = 0.05


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


def _trails(
    partners: Sequence[PartnerView], budget: int = TRAIL_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every partner's trail, as flat arrays ready for one line item per status.

    Returns ``(x, y, connect, trail)``: the points of all trails end to end, whether each
    point is joined to the next (the last point of a trail is not), and the index in
    ``partners`` of the trail each point belongs to. Each trail keeps at most its newest
    ``budget / len(partners)`` points: a few partners show their whole trail, hundreds a
    short tail each (a tangle of long ones would hide the dots), and the work per tick
    stays bounded. Points in the middle of a straight stretch (partners drive along a
    grid) and repeats (a waiting partner) are dropped: a trail is drawn as a few
    segments, corner to corner.
    """
    keep_last = max(2, budget // max(1, len(partners)))
    trails = [p.trail[-keep_last:] for p in partners]
    lens = np.fromiter((len(t) for t in trails), np.int64, len(trails))
    n = int(lens.sum())
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(trails)), float, 2 * n)
    x, y = flat[0::2], flat[1::2]
    owner = np.repeat(np.arange(len(trails)), lens)
    if n >= 3:
        same = owner[:-2] == owner[2:]  # i-1 and i+1 on one trail, so i is inside it
        dx0, dx1 = x[1:-1] - x[:-2], x[2:] - x[1:-1]
        dy0, dy1 = y[1:-1] - y[:-2], y[2:] - y[1:-1]
        # On one road, going on the same way (a partner turning back keeps its turn).
        on_x = (np.abs(dx0) < STRAIGHT_M) & (np.abs(dx1) < STRAIGHT_M) & (dy0 * dy1 >= 0)
        on_y = (np.abs(dy0) < STRAIGHT_M) & (np.abs(dy1) < STRAIGHT_M) & (dx0 * dx1 >= 0)
        keep = np.ones(n, dtype=bool)
        keep[1:-1] = ~(same & (on_x | on_y))
        x, y, owner = x[keep], y[keep], owner[keep]
    connect = np.zeros(len(x), dtype=bool)
    connect[:-1] = owner[:-1] == owner[1:]
    return x, y, connect, owner


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
        self.legend = designed_rich_text(plain_label())
        self.legend.setWordWrap(True)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = pg.PlotWidget()
        fixed_plot(self.plot)
        self.plot.setAspectLocked(True)
        self.plot.setMinimumSize(140, 120)
        item = self.plot.getPlotItem()
        item.setContentsMargins(2, 2, 8, 2)
        item.setLabel("bottom", "east (m)")
        item.setLabel("left", "north (m)")
        # The city never moves (the mouse neither pans nor zooms): its items are painted
        # once into a cache and blitted, until the map is resized.
        self.roads = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.customers = pg.ScatterPlotItem(symbol="o", size=5, pxMode=True)
        self.restaurants = pg.ScatterPlotItem(symbol="s", size=8, pxMode=True)
        for static in (self.roads, self.customers, self.restaurants):
            static.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # One line item and one dot item per status (a uniform pen and brush each):
        # nothing per partner is a Qt object, nothing per point is styled.
        self.trail_items = {s: pg.PlotCurveItem(skipFiniteCheck=True) for s in STATUS_TEXT}
        self.dot_items = {s: pg.ScatterPlotItem(symbol="o", size=10, pxMode=True)
                          for s in STATUS_TEXT}
        for it in (self.roads, self.customers, self.restaurants, *self.trail_items.values(),
                   *self.dot_items.values()):
            self.plot.addItem(it)
        self._drawn: tuple[object, ...] | None = None  # what the last set_snapshot drew
        self.delay = named(plain_label(delay_text(None, None, 0)), "Muted")
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
        style_axes(self.plot.getPlotItem(), theme)
        self.roads.setPen(pg.mkPen(QColor(theme.border), width=1))
        self.customers.setPen(pg.mkPen(QColor(theme.muted), width=1))
        self.customers.setBrush(pg.mkBrush(QColor(theme.base)))
        self.restaurants.setPen(pg.mkPen(QColor(theme.base), width=1))
        self.restaurants.setBrush(pg.mkBrush(restaurant_color(theme)))
        colors = status_colors(theme)
        outline = pg.mkPen(QColor(theme.base), width=1)
        for status, trail in self.trail_items.items():
            c = QColor(colors[status])
            c.setAlphaF(0.6)
            trail.setPen(pg.mkPen(c, width=2))
            self.dot_items[status].setPen(outline)
            self.dot_items[status].setBrush(pg.mkBrush(colors[status]))
        self.legend.setText(self._legend_html())
        if self.snapshot is not None:
            self._drawn = None
            self.set_snapshot(self.snapshot)

    def _legend_html(self) -> str:
        t = self.theme
        # A narrow map (the lesson dock open) gets the short names, one per line's worth.
        short = self.width() < SHORT_LEGEND_CHARS * self.fontMetrics().averageCharWidth()
        names = SHORT_STATUS_TEXT if short else STATUS_TEXT
        keys = [
            f"<span style='color:{c.name()}; font-size:13pt'>&#9679;</span>&nbsp;"
            f"{names[s].replace(' ', '&nbsp;')}"
            for s, c in status_colors(t).items()
        ]
        keys.append(
            f"<span style='color:{restaurant_color(t).name()}; font-size:11pt'>&#9632;"
            "</span>&nbsp;restaurant"
        )
        keys.append(f"<span style='color:{t.muted}; font-size:11pt'>&#9675;</span>&nbsp;customer")
        return " &nbsp; ".join(keys)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        text = self._legend_html()
        if text != self.legend.text():
            self.legend.setText(text)
        super().resizeEvent(event)

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
        """Partners where this app last saw them, trails and delay.

        Nothing is redrawn when the app processed nothing since the last call (a paused,
        stopped or idle app): the model changes only by processing records.
        """
        self.snapshot = snapshot
        drawn = (snapshot.delivery, snapshot.delay, len(snapshot.partners))
        if drawn == self._drawn:
            return
        self._drawn = drawn
        partners = snapshot.partners
        codes = np.fromiter((STATUS_CODE.get(p.status, IDLE) for p in partners), np.int8,
                            len(partners))
        at = np.fromiter(chain.from_iterable((p.x, p.y) for p in partners), float,
                         2 * len(partners))
        px, py = at[0::2], at[1::2]
        x, y, connect, owner = _trails(partners)
        point_codes = codes[owner]
        for code, status in enumerate(STATUS_TEXT):
            mine = point_codes == code
            c = connect[mine]
            if len(c):
                c[-1] = False
            self.trail_items[status].setData(x[mine], y[mine], connect=c)
            dots = codes == code
            self.dot_items[status].setData(x=px[dots], y=py[dots])
        d = snapshot.delay
        text = delay_text(d.p50_ms, d.p99_ms, d.samples)
        if text != self.delay.text():
            self.delay.setText(text)

    def partner_count(self) -> int:
        """Partners drawn now (for tests)."""
        return sum(len(item.data) for item in self.dot_items.values())

    def trail_segments(self) -> int:
        """Trail segments drawn now (for tests and the benchmark)."""
        total = 0
        for item in self.trail_items.values():
            connect = item.opts["connect"]
            total += int(np.count_nonzero(connect)) if isinstance(connect, np.ndarray) else 0
        return total
