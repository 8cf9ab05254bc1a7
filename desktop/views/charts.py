"""Live line charts on pyqtgraph, fed from history ring buffers once per tick.

Contract: :class:`LiveChart` draws named series, :class:`MultiLineChart` a changing set of
keyed lines (with :class:`ChartLegend` naming them), both against "seconds ago" on the x
axis. Pens are made once per theme (or per line); a redraw hands numpy slices of the
visible window to ``PlotDataItem.setData``, so one call per line per tick is all it costs.
Charts never see individual messages.

How the axes read, on every chart alike:

* y starts at 0 and ends at a round number just above the largest visible value
  (:func:`nice_top`), recomputed on every redraw: a chart never keeps the scale of data it
  no longer shows (another group, an idle topic), and an empty chart reads 0 to a small
  round number, never pyqtgraph's 0.2-0.8.
* y tick labels share one format per axis (:func:`si_ticks`, :func:`binary_ticks`): one SI
  prefix and one number of decimals for all of them ("0, 5 k, 10 k, 15 k", never "5000"
  beside "10.0 k"); byte axes use binary units (KiB, MiB) as the tables do.
* x runs from ``-window_s`` to 0 and its last tick is labelled "now".
* Where sampling paused (no sample for more than :data:`GAP_S`), the line breaks: a gap is
  drawn as a gap, never as a straight or box-shaped bridge across it.
* Every chart has ``markers`` (:class:`~desktop.views.chart_markers.ChartMarkers`):
  rebalances and admin events drawn as vertical lines on the same time axis, their text on
  hover, so a chart says why it moved.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Hashable, Sequence
from typing import TypedDict, Unpack

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.chart_markers import ChartMarkers

# Lines are stroked segment by segment: pyqtgraph strokes an antialiased line wider than
# 1 px as one polyline path by default, which Qt's raster engine widens and fills at about
# three times the cost (a 1000x300 chart: 30 ms a frame against 10; the charts were most of
# the GUI thread's paint time under load, benchmarks/gui_load.py) and looks the same.
pg.setConfigOptions(antialias=True, useNumba=False, segmentedLineMode="on")

DEFAULT_WINDOW_S = 120.0
# A pause in sampling longer than this is drawn as a gap (ticks come every 0.1 s).
GAP_S = 1.0
# Smallest top of the y axis: an idle chart reads 0-10, not 0-1 with fractional ticks.
MIN_TOP_COUNT = 10.0
MIN_TOP_BYTES = 1024.0

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((1024.0**4, "TiB"), (1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB"))


def fixed_plot(plot: pg.PlotWidget) -> pg.PlotItem:
    """Make ``plot`` a figure that only shows: no option menu, no mouse pan or zoom, no
    auto-range button; returns its plot item. Shared by every chart and plot view.

    pyqtgraph's "Plot Options" menu has no parent: a reference cycle through its Qt
    connections can keep it alive as a stray top-level window. Owned by the plot, it is
    deleted with the plot."""
    item = plot.getPlotItem()
    plot.setMenuEnabled(False)
    options = item.ctrlMenu
    options.setParent(plot, options.windowFlags())
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return item


def style_axes(item: pg.PlotItem, theme: Theme, *, point_size: float = 8.5, grid: bool = False,
               text_offset: int | None = None) -> None:
    """The left and bottom axes in the theme's colours with ``point_size`` tick labels;
    ``grid``: grid lines at the theme's alpha; ``text_offset``: pixels between a tick and
    its label (pyqtgraph's default otherwise)."""
    font = QFont()
    font.setPointSizeF(point_size)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(QColor(theme.border)))
        axis.setTextPen(pg.mkPen(QColor(theme.chart_fg)))
        axis.setTickFont(font)
        if text_offset is not None:
            axis.setStyle(tickTextOffset=text_offset)
        if grid:
            axis.setGrid(int(255 * theme.grid_alpha))


def _axis_scale(
    values: Sequence[float], units: tuple[tuple[float, str], ...], base: str
) -> tuple[float, str]:
    """The largest of ``units`` (scale, name; largest first) that the largest value
    reaches, else (1, ``base``): one unit for every label on the axis."""
    big = max((abs(v) for v in values), default=0.0)
    return next(((scale, name) for scale, name in units if big >= scale), (1.0, base))


def _decimals(step: float) -> int:
    """Decimals needed to tell ticks ``step`` apart (0 for whole steps)."""
    if step <= 0 or step >= 1 or math.isclose(step, round(step)):
        return 0
    return min(3, max(0, -math.floor(math.log10(step) + 1e-9)))


def si_ticks(values: Sequence[float], step: float, unit: str = "") -> list[str]:
    """Labels for ticks ``values`` spaced ``step`` apart, in one SI format.

    The prefix comes from the largest tick and the decimals from the spacing, so every
    label on the axis reads alike: ``[0, 5000, 10000]`` -> ``["0", "5 k", "10 k"]``.
    """
    values = list(values)
    scale, prefix = _axis_scale(values, _SI, "")
    digits = _decimals(step / scale)
    suffix = f" {prefix}{unit}" if prefix or unit else ""
    out = []
    for v in values:
        if abs(v) < step * 1e-6:
            out.append("0")
        else:
            out.append(f"{v / scale:.{digits}f}{suffix}")
    return out


def binary_ticks(values: Sequence[float], step: float, unit: str = "") -> list[str]:
    """Byte labels in one binary unit for the whole axis: ``0, 512 KiB, 1 MiB`` never mix."""
    values = list(values)
    scale, name = _axis_scale(values, _BINARY, "B")
    digits = _decimals(step / scale)
    return ["0" if abs(v) < step * 1e-6 else f"{v / scale:.{digits}f} {name}{unit}" for v in values]


def nice_top(peak: float, *, binary: bool = False, floor: float | None = None) -> float:
    """A round axis top at or above ``peak`` (1, 2, 2.5, 5 x 10^n; powers of 1024 x 1, 2,
    5... for bytes), never below ``floor``."""
    floor = floor if floor is not None else (MIN_TOP_BYTES if binary else MIN_TOP_COUNT)
    peak = max(float(peak), floor)
    if binary:
        unit = 1.0
        while peak / unit >= 1024:
            unit *= 1024
        for m in (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64, 100, 128, 200, 256, 500, 512,
                  1000, 1024):
            if m * unit >= peak:
                return m * unit
        return 1024 * unit
    mag = 10 ** math.floor(math.log10(peak))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= peak * (1 - 1e-9):
            return m * mag
    return 10 * mag


def with_gaps(x: np.ndarray, y: np.ndarray, gap: float = GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` with a NaN inserted wherever samples are more than ``gap`` apart, so a
    line drawn with ``connect="finite"`` breaks there instead of bridging the pause."""
    if len(x) < 2:
        return x, y
    breaks = np.flatnonzero(np.diff(x) > gap) + 1
    if not len(breaks):
        return x, y
    mid = (x[breaks - 1] + x[breaks]) / 2
    return np.insert(x, breaks, mid), np.insert(y.astype(np.float64), breaks, np.nan)


def count_axis_format(v: float) -> str:
    """One value as a count axis writes it (for callers that label a single number)."""
    return si_ticks([v], abs(v) or 1.0)[0]


def bytes_axis_format(v: float) -> str:
    return binary_ticks([v], abs(v) or 1.0)[0]


class _ValueAxis(pg.AxisItem):
    """A y axis whose tick labels share one format (see :func:`si_ticks`)."""

    def __init__(self, *, binary: bool = False, **kwargs) -> None:
        super().__init__(orientation="left", **kwargs)
        self._binary = binary  # bytes: ticks at round KiB / MiB, not round thousands
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        span = maxVal - minVal
        if not self._binary or span <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        unit = 1.0
        while span / (unit * 1024) >= 1 and unit < 1024**4:
            unit *= 1024
        for m in (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 512):
            if span / (m * unit) <= 5:
                return [(m * unit, 0), (m * unit / 2, 0)]
        return super().tickSpacing(minVal, maxVal, size)

    def boundingRect(self):  # noqa: N802 - Qt's name
        # With a grid, pyqtgraph bounds the labels by the plot: the "0" at the bottom edge
        # would be dropped. Let labels overhang the ends by half a line.
        return super().boundingRect().adjusted(0, -10, 0, 10)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        values = [v * scale for v in values]
        step = spacing * scale
        return binary_ticks(values, step) if self._binary else si_ticks(values, step)


class _AgoAxis(pg.AxisItem):
    """Seconds before now, ending at a tick labelled "now"."""

    def __init__(self, **kwargs) -> None:
        super().__init__(orientation="bottom", **kwargs)

    def boundingRect(self):  # noqa: N802 - Qt's name
        # The "now" label is centred on the right edge: let it overhang by half its width
        # (the plot keeps a right margin for it) instead of being dropped, as pyqtgraph
        # does with labels outside the plot when a grid is shown.
        return super().boundingRect().adjusted(-20, 0, 20, 0)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        # Ticks counted back from 0, so "now" is always one of them.
        span = maxVal - minVal
        if span <= 0:
            return super().tickValues(minVal, maxVal, size)
        # At most six labels, and at least ~60 px apart so "-100 s" never touches "-80 s".
        major = next(
            (s for s in (5, 10, 15, 20, 30, 60, 120, 300, 600)
             if span / s <= 6 and size * s / span >= 60),
            900,
        )
        # The tick at the window's far end is left out: its label would sit on the y axis.
        first = math.floor(minVal / major + 1e-9) + 1
        ticks = [k * major for k in range(first, math.floor(maxVal / major + 1e-9) + 1)]
        return [(major, ticks)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            s = -v * scale
            if abs(s) < 0.5:
                out.append("now")
            elif spacing * scale >= 60 and spacing * scale % 60 == 0:  # one unit per axis
                out.append(f"-{s / 60:g} min")
            else:
                out.append(f"-{s:g} s")
        return out


class ChartOptions(TypedDict, total=False):
    """What every chart takes besides its title and theme (defaults in :class:`_Chart`)."""

    value_format: Callable[[float], str]
    window_s: float
    parent: QWidget | None


class _Chart(pg.PlotWidget):
    """What both charts share: axes, theme, fixed x window, y from 0."""

    def __init__(
        self,
        title: str,
        *,
        theme: Theme,
        value_format: Callable[[float], str] = count_axis_format,
        window_s: float = DEFAULT_WINDOW_S,
        parent: QWidget | None = None,
    ) -> None:
        binary = value_format is bytes_axis_format
        super().__init__(
            parent=parent,
            axisItems={"left": _ValueAxis(binary=binary), "bottom": _AgoAxis()},
        )
        self.window_s = window_s
        self._title = title
        self._binary = binary
        self._theme = theme
        item = fixed_plot(self)
        item.setClipToView(True)
        item.showGrid(x=True, y=True)
        item.enableAutoRange(enable=False)
        item.setContentsMargins(2, 8, 16, 2)  # room for the top and "now" labels
        self.setXRange(-window_s, 0, padding=0)
        self.setLimits(yMin=0)
        self.set_top(0.0)
        # Rebalances and admin events as vertical markers: views hand them over per tick
        # (chart_markers.topic_events, group_events, cluster_events).
        self.markers = ChartMarkers(self, theme, window_s)

    @property
    def y_top(self) -> float:
        return float(self.getPlotItem().viewRange()[1][1])

    def set_top(self, peak: float) -> None:
        """Scale y from 0 to a round number at or above ``peak``."""
        top = nice_top(peak, binary=self._binary)
        if not math.isclose(top, self.y_top):
            self.setYRange(0, top, padding=0)

    def _style_axes(self, theme: Theme) -> None:
        self._theme = theme
        self.markers.apply_theme(theme)
        self.setBackground(QColor(theme.chart_bg))
        style_axes(self.getPlotItem(), theme, grid=True, text_offset=4)

    def _fit_minimum_width(self) -> None:
        """Never narrower than the plot's own layout (axes, title): pyqtgraph lays its scene
        out at that minimum regardless, and a narrower widget would cut off its right edge
        (the legend, "now")."""
        need = self.getPlotItem().effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        self.setMinimumWidth(max(self.minimumWidth(), math.ceil(need) + 4))

    def _window(self, t: np.ndarray, now: float) -> int:
        return int(np.searchsorted(t, now - self.window_s - 1.0))

    def _scrolled_a_pixel(self, since: float | None, now: float) -> bool:
        """Whether the x axis (``window_s`` across the plot's width) moved a pixel or more
        from ``since`` to ``now``: drawn sooner, nothing new would show. The same instant
        again (or an earlier one) is new data for it: drawn."""
        if since is None or now <= since:
            return True
        width = self.getPlotItem().getViewBox().width()
        return width <= 0 or (now - since) * width / self.window_s >= 1.0


def _peak(y: np.ndarray) -> float:
    if not len(y):
        return 0.0
    m = np.nanmax(y) if np.isfinite(y).any() else 0.0
    return float(m)


class LiveChart(_Chart):
    def __init__(
        self,
        title: str,
        series: Sequence[str],
        *,
        theme: Theme,
        legend_below_title: bool = False,
        **options: Unpack[ChartOptions],
    ) -> None:
        super().__init__(title, theme=theme, **options)
        # In a narrow place, the legend goes on a second line so the title row, which
        # sets the chart's minimum width, stays short.
        self._legend_sep = "<br>" if legend_below_title else "&nbsp;&nbsp;&nbsp;"
        self._names = list(series)
        self._drawn_at: float | None = None  # the ``now`` of the series drawn
        self.setMinimumHeight(140)
        item = self.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        self._curves: list[pg.PlotDataItem] = []
        for name in self._names:
            self._curves.append(item.plot([], [], name=name, connect="finite"))
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self._style_axes(theme)
        item = self.getPlotItem()
        # The legend lives in the title: a pyqtgraph legend covers the newest data.
        keys = "&nbsp;&nbsp;".join(
            f"<span style='color:{theme.series[i % len(theme.series)]}'>&#9644; "
            f"{html.escape(name)}</span>"
            for i, name in enumerate(self._names)
        )
        item.setTitle(
            f"{html.escape(self._title)}{self._legend_sep}{keys}", color=theme.chart_fg,
            size="9.5pt",
        )
        self._fit_minimum_width()
        # Pens are made once per theme, not per tick.
        for i, curve in enumerate(self._curves):
            color = QColor(theme.series[i % len(theme.series)])
            curve.setPen(pg.mkPen(color, width=1.6))
            if i == 0:
                fill = QColor(color)
                fill.setAlpha(40)
                curve.setFillLevel(0)
                curve.setBrush(pg.mkBrush(fill))

    def set_series(self, t: np.ndarray, ys: Sequence[np.ndarray], now: float) -> None:
        """One tick: ``t`` on the history clock, ``now`` its newest value. Drawn once the
        axis has scrolled a pixel (see :meth:`MultiLineChart.set_lines`)."""
        if len(t) == 0:
            self.clear_series()
            return
        if not self._scrolled_a_pixel(self._drawn_at, now):
            return
        self._drawn_at = now
        # Only the visible window is handed over: less to clip and downsample.
        start = self._window(t, now)
        x = t[start:] - now
        peak = 0.0
        for curve, y in zip(self._curves, ys, strict=False):
            gx, gy = with_gaps(x, y[start:])
            curve.setData(gx, gy, connect="finite")
            peak = max(peak, _peak(gy))
        self.set_top(peak)

    def clear_series(self) -> None:
        for curve in self._curves:
            curve.setData([], [])
        self.set_top(0.0)
        self._drawn_at = None


# A few lines are drawn bold; a bundle of them (a dozen partitions' lag) at 1 px, which
# tells overlapping lines apart better and which Qt's raster engine strokes antialiased
# about 3.5 times faster than anything wider (12 lines of 1,200 points, 800x300: 8 ms a
# frame against 28; they were the Groups page's paint time under load).
BOLD_LINES_MAX = 4


def line_width(lines: int) -> float:
    """The pen width of each of ``lines`` lines drawn together."""
    return 1.8 if lines <= BOLD_LINES_MAX else 1.0


class MultiLineChart(_Chart):
    """A chart whose set of lines changes (lag per partition or per member): lines keyed,
    added and removed; :meth:`legend` names what is drawn, for a :class:`ChartLegend`."""

    def __init__(self, title: str, *, theme: Theme, **options: Unpack[ChartOptions]) -> None:
        super().__init__(title, theme=theme, **options)
        self.setMinimumHeight(120)
        # A dozen lines of 1,200 points each in a few hundred pixels: drawn at most a few
        # points per pixel column, the peaks kept (lines added later inherit this).
        self.getPlotItem().setDownsampling(auto=True, mode="peak")
        # (curve, colour name, label, pen width) per key, in the order the lines were given.
        self._curves: dict[Hashable, tuple[pg.PlotDataItem, str, str, float]] = {}
        self._drawn_at: float | None = None  # the ``now`` of the lines drawn
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self._style_axes(theme)
        if self._title:
            self.getPlotItem().setTitle(
                html.escape(self._title), color=theme.chart_fg, size="9.5pt"
            )

    def set_lines(
        self,
        lines: dict[Hashable, tuple[np.ndarray, np.ndarray, QColor, str]],
        now: float,
    ) -> None:
        """``{key: (t, y, colour, label)}``; lines not listed are removed.

        The same lines are redrawn only once the axis has scrolled a pixel: a dozen lines
        of a two-minute window in a few hundred pixels moved less than half a pixel per
        tick, and redrawing them was most of the Groups page's time under load."""
        item = self.getPlotItem()
        width = line_width(len(lines))
        same = [(k, c.name(), label) for k, (_t, _y, c, label) in lines.items()] == [
            (k, color, label) for k, (_c, color, label, _w) in self._curves.items()]
        if same and not self._scrolled_a_pixel(self._drawn_at, now):
            return
        self._drawn_at = now
        for key in [k for k in self._curves if k not in lines]:
            item.removeItem(self._curves.pop(key)[0])
        peak = 0.0
        order: dict[Hashable, tuple[pg.PlotDataItem, str, str, float]] = {}
        for key, (t, y, color, label) in lines.items():
            entry = self._curves.get(key)
            if entry is None:
                curve = item.plot([], [], connect="finite")
                curve.setPen(pg.mkPen(color, width=width))
            else:
                curve = entry[0]
                if entry[1] != color.name() or entry[3] != width:
                    curve.setPen(pg.mkPen(color, width=width))
            order[key] = (curve, color.name(), label, width)
            if len(t) == 0:
                curve.setData([], [])
                continue
            start = self._window(t, now)
            x, yy = with_gaps(t[start:] - now, y[start:])
            curve.setData(x, yy, connect="finite")
            peak = max(peak, _peak(yy))
        self._curves = order
        self.set_top(peak)

    def line_count(self) -> int:
        return len(self._curves)

    def legend(self) -> list[tuple[str, str]]:
        """``(label, colour name)`` of each line drawn, in the order given."""
        return [(label, color) for _, color, label, _w in self._curves.values()]

    def line_data(self, key: Hashable) -> tuple[np.ndarray, np.ndarray] | None:
        """What is drawn for one line (after clipping and gaps), for tests."""
        entry = self._curves.get(key)
        if entry is None:
            return None
        x, y = entry[0].getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))


class ChartLegend(QLabel):
    """A wrapped row of colour keys naming a chart's lines (names are escaped: topic names
    and client ids are the clients' data, never markup)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChartLegend")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._entries: list[tuple[str, str]] = []

    def set_entries(self, entries: list[tuple[str, str]], more: int = 0) -> None:
        """``(label, colour name)`` per key; an empty colour makes the label a heading
        for the keys after it ("rider-locations  0  1  2")."""
        if entries == self._entries and not more:
            return
        self._entries = list(entries)
        keys = []
        for label, color in entries:
            # One key never wraps inside itself: spaces and hyphens are non-breaking.
            text = html.escape(label).replace(" ", "&nbsp;").replace("-", "&#8209;")
            if not color:
                keys.append(f"<b>{text}</b>")
            else:
                keys.append(
                    f"<span style='color:{color}; font-size:13pt'>&#9632;</span>&nbsp;{text}"
                )
        if more:
            keys.append(f"+{more}&nbsp;more")
        self.setText(" &nbsp; ".join(keys))

    def entries(self) -> list[tuple[str, str]]:
        return list(self._entries)


def mono_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    return font
