"""Live line charts on pyqtgraph, fed from history ring buffers once per tick.

Contract: :class:`LiveChart` draws named series against "seconds ago" on the x axis. Pens
are made once per theme; :meth:`LiveChart.set_series` hands numpy views straight to
``PlotDataItem.setData`` (clip-to-view, peak downsampling, finite-check skipped where the
data is finite), so one call per series per tick is all a redraw costs. Charts never see
individual messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

from desktop import format as fmt
from desktop.theme import Theme

pg.setConfigOptions(antialias=True, useNumba=False)

DEFAULT_WINDOW_S = 120.0


class _ValueAxis(pg.AxisItem):
    """A y axis that writes 52.1 k rather than 52100 or 5.21e4."""

    def __init__(
        self, formatter: Callable[[float], str], *, binary: bool = False, **kwargs
    ) -> None:
        super().__init__(orientation="left", **kwargs)
        self._formatter = formatter
        self._binary = binary  # bytes: ticks at round KiB / MiB, not round thousands
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        span = maxVal - minVal
        if not self._binary or span <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        unit = 1.0
        while span / (unit * 1024) >= 1 and unit < 1024**4:
            unit *= 1024
        for m in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
            if span / (m * unit) <= 6:
                return [(m * unit, 0), (m * unit / 2, 0)]
        return super().tickSpacing(minVal, maxVal, size)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        return [self._formatter(v * scale) for v in values]


class _AgoAxis(pg.AxisItem):
    def __init__(self, **kwargs) -> None:
        super().__init__(orientation="bottom", **kwargs)

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            s = -v * scale
            if abs(s) < 0.5:
                out.append("now")
            elif s >= 60 and spacing >= 30:
                out.append(f"-{s / 60:g} min")
            else:
                out.append(f"-{s:g} s")
        return out


def count_axis_format(v: float) -> str:
    return fmt.short_count(v)


def bytes_axis_format(v: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    i = 0
    while abs(v) >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    text = f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"
    return f"{text} {units[i]}"


class LiveChart(pg.PlotWidget):
    def __init__(
        self,
        title: str,
        series: Sequence[str],
        *,
        theme: Theme,
        value_format: Callable[[float], str] = count_axis_format,
        window_s: float = DEFAULT_WINDOW_S,
        parent: QWidget | None = None,
    ) -> None:
        binary = value_format is bytes_axis_format
        super().__init__(
            parent=parent,
            axisItems={"left": _ValueAxis(value_format, binary=binary), "bottom": _AgoAxis()},
        )
        self.window_s = window_s
        self._title = title
        self._names = list(series)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumHeight(140)
        item = self.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.showGrid(x=True, y=True)
        self._curves: list[pg.PlotDataItem] = []
        for name in self._names:
            self._curves.append(item.plot([], [], name=name, skipFiniteCheck=True))
        self.setXRange(-window_s, 0, padding=0)
        self.setLimits(yMin=0)
        item.enableAutoRange(axis="y", enable=True)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(QColor(theme.chart_bg))
        item = self.getPlotItem()
        fg = QColor(theme.chart_fg)
        font = QFont()
        font.setPointSizeF(8.5)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(QColor(theme.border)))
            axis.setTextPen(pg.mkPen(fg))
            axis.setTickFont(font)
            axis.setStyle(tickTextOffset=4)
            axis.setGrid(int(255 * theme.grid_alpha))
        # The legend lives in the title: a pyqtgraph legend covers the newest data.
        keys = "&nbsp;&nbsp;".join(
            f"<span style='color:{theme.series[i % len(theme.series)]}'>&#9644; {name}</span>"
            for i, name in enumerate(self._names)
        )
        item.setTitle(f"{self._title}&nbsp;&nbsp;&nbsp;{keys}", color=theme.chart_fg, size="9.5pt")
        # Pens are made once per theme, not per tick.
        for i, curve in enumerate(self._curves):
            color = QColor(theme.series[i % len(theme.series)])
            curve.setPen(pg.mkPen(color, width=1.6))
            fill = QColor(color)
            fill.setAlpha(40 if i == 0 else 0)
            if i == 0:
                curve.setFillLevel(0)
                curve.setBrush(pg.mkBrush(fill))

    def set_colors(self, colors: Sequence[QColor]) -> None:
        for curve, color in zip(self._curves, colors, strict=False):
            curve.setPen(pg.mkPen(color, width=1.6))

    def set_series(self, t: np.ndarray, ys: Sequence[np.ndarray], now: float) -> None:
        """One tick: ``t`` on the history clock, ``now`` its newest value."""
        if len(t) == 0:
            for curve in self._curves:
                curve.setData([], [])
            return
        # Only the visible window is handed over: less to clip and downsample.
        start = int(np.searchsorted(t, now - self.window_s - 1.0))
        x = t[start:] - now
        for curve, y in zip(self._curves, ys, strict=False):
            curve.setData(x, y[start:], skipFiniteCheck=True)

    def clear_series(self) -> None:
        for curve in self._curves:
            curve.setData([], [])


class MultiLineChart(pg.PlotWidget):
    """A chart whose set of lines changes (per-partition lag): lines keyed, added/removed."""

    def __init__(
        self,
        title: str,
        *,
        theme: Theme,
        value_format: Callable[[float], str] = count_axis_format,
        window_s: float = DEFAULT_WINDOW_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            parent=parent,
            axisItems={"left": _ValueAxis(value_format), "bottom": _AgoAxis()},
        )
        self.window_s = window_s
        self._title = title
        self._theme = theme
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumHeight(120)
        item = self.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.showGrid(x=True, y=True)
        self._curves: dict[object, pg.PlotDataItem] = {}
        self.setXRange(-window_s, 0, padding=0)
        self.setLimits(yMin=0)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(QColor(theme.chart_bg))
        item = self.getPlotItem()
        font = QFont()
        font.setPointSizeF(8.5)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(QColor(theme.border)))
            axis.setTextPen(pg.mkPen(QColor(theme.chart_fg)))
            axis.setTickFont(font)
            axis.setGrid(int(255 * theme.grid_alpha))
        item.setTitle(self._title, color=theme.chart_fg, size="9.5pt")

    def set_lines(
        self,
        lines: dict[object, tuple[np.ndarray, np.ndarray, QColor]],
        now: float,
    ) -> None:
        """``{key: (t, y, colour)}``; lines not listed are removed."""
        item = self.getPlotItem()
        for key in [k for k in self._curves if k not in lines]:
            item.removeItem(self._curves.pop(key))
        for key, (t, y, color) in lines.items():
            curve = self._curves.get(key)
            if curve is None:
                curve = self._curves[key] = item.plot([], [], connect="finite")
                curve.setPen(pg.mkPen(color, width=1.4))
                curve.setData([], [])
                curve._color = color.name()  # type: ignore[attr-defined]
            elif curve._color != color.name():  # type: ignore[attr-defined]
                curve.setPen(pg.mkPen(color, width=1.4))
                curve._color = color.name()  # type: ignore[attr-defined]
            if len(t) == 0:
                curve.setData([], [])
                continue
            start = int(np.searchsorted(t, now - self.window_s - 1.0))
            curve.setData(t[start:] - now, y[start:])

    def line_count(self) -> int:
        return len(self._curves)


def mono_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    return font
