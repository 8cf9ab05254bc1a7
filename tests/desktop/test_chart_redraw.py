"""Charts redraw once their axis has scrolled a pixel (issue 13's load test: redrawing a
dozen lag lines every tick, each tick less than half a pixel of scroll, was most of the
Groups page's time).

Checked on a chart of known width: a tick that moves the axis less than a pixel draws
nothing new; one that moves it a pixel or more draws what it was given; the same instant
again, a changed set of lines and a cleared chart draw at once.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.charts import LiveChart, MultiLineChart


def px_per_s(chart) -> float:
    return chart.getPlotItem().getViewBox().width() / chart.window_s


def shown_chart(qtbot, chart):
    qtbot.addWidget(chart)
    chart.resize(640, 240)
    chart.show()
    qtbot.waitUntil(lambda: chart.getPlotItem().getViewBox().width() > 100)
    return chart


def test_a_multi_line_chart_redraws_its_lines_once_they_scrolled_a_pixel(qtbot):
    chart = shown_chart(qtbot, MultiLineChart("Lag", theme=LIGHT))
    step = 1.0 / px_per_s(chart)  # seconds per pixel of scroll
    t = np.arange(0.0, 100.0, 0.1)
    red = QColor("red")

    def draw(now: float, level: float, keys=("a",)) -> None:
        chart.set_lines({k: (t, np.full_like(t, level), red, k) for k in keys}, now)

    def drawn_level(key="a") -> float:
        return float(chart.line_data(key)[1][-1])

    draw(50.0, 1.0)
    assert drawn_level() == 1.0
    draw(50.0 + 0.4 * step, 2.0)  # less than a pixel later: nothing new would show
    assert drawn_level() == 1.0
    draw(50.0 + 1.1 * step, 3.0)  # a pixel on from the last drawing
    assert drawn_level() == 3.0
    draw(50.0 + 1.1 * step, 4.0)  # the same instant again: new data for it
    assert drawn_level() == 4.0
    draw(50.0 + 1.2 * step, 5.0, keys=("a", "b"))  # another line: at once
    assert drawn_level() == 5.0 and drawn_level("b") == 5.0


def test_a_live_chart_redraws_once_scrolled_a_pixel_and_at_once_after_clearing(qtbot):
    chart = shown_chart(qtbot, LiveChart("Messages/s", ("in", "out"), theme=LIGHT))
    step = 1.0 / px_per_s(chart)
    t = np.arange(0.0, 100.0, 0.1)

    def drawn_level() -> float:
        return float(chart._curves[0].getData()[1][-1])

    chart.set_series(t, (np.full_like(t, 10.0), np.zeros_like(t)), 50.0)
    assert drawn_level() == 10.0
    chart.set_series(t, (np.full_like(t, 20.0), np.zeros_like(t)), 50.0 + 0.5 * step)
    assert drawn_level() == 10.0
    chart.set_series(t, (np.full_like(t, 30.0), np.zeros_like(t)), 50.0 + 1.5 * step)
    assert drawn_level() == 30.0
    chart.clear_series()  # another topic: its first tick draws whenever it comes
    chart.set_series(t, (np.full_like(t, 40.0), np.zeros_like(t)), 50.0 + 1.6 * step)
    assert drawn_level() == 40.0
