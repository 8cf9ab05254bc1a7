"""The Log page in presentation mode (real app, Qt offscreen, 1280x720): the lanes and
their legend follow the font presentation mode sets, so partition names, offsets and the
groups' labels grow with the rest of the app (the whole lane drawing scales, rows and
gutters included, so nothing is cut); hovering still explains the mark under the mouse;
leaving presentation mode brings the usual size back (desktop/views/log_lanes.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontInfo, QImage
from PySide6.QtWidgets import QApplication
from streamscope.desktop.models.log_marks import Kind, lane_height
from streamscope.desktop.presentation import FONT_SCALE

STEP_TIMEOUT = 90_000


def center(mark) -> QPointF:
    return QPointF((mark.x0 + mark.x1) / 2, (mark.y0 + mark.y1) / 2)


def test_presentation_mode_scales_the_log_lanes_and_their_labels(app_shell, qtbot, tmp_path: Path):
    w = app_shell.window
    w.resize(1280, 720)
    w.open_lesson("fanout")
    qtbot.waitUntil(lambda: app_shell.lessons.latest() is not None, timeout=15_000)
    app_shell.lessons.next()  # the partners fill "deliveries"
    qtbot.waitUntil(lambda: app_shell.lessons.latest().step == 0
                    and not app_shell.lessons.busy(), timeout=STEP_TIMEOUT)
    w.show_log("deliveries")
    lanes, legend = w.log.lanes, w.log.legend
    qtbot.waitUntil(lambda: len(lanes.model.lanes) == 6, timeout=15_000)
    assert lanes.scale == 1.0
    lane_h = lane_height(len(lanes.model.group_ids))
    assert lanes.minimumHeight() == lane_h * 6
    legend_h = legend.height()
    usual_pt = QFontInfo(lanes.font()).pointSizeF()

    w.set_presentation(True, fullscreen=False)
    w.resize(1280, 720)
    QApplication.processEvents()
    big_pt = QFontInfo(lanes.font()).pointSizeF()
    assert big_pt >= usual_pt * FONT_SCALE - 0.2
    # The drawing scales with the font: rows, bars and labels alike.
    assert abs(lanes.scale - big_pt / 10.0) < 0.05 and lanes.scale >= FONT_SCALE - 0.05
    assert lanes.minimumHeight() >= lane_h * 6 * lanes.scale - 1
    assert legend.height() >= legend_h * lanes.scale - 1
    assert lanes._painter.font.pointSizeF() <= 10.0  # noqa: SLF001 - drawn, then scaled
    # Hovering a mark still explains that mark (lane units mapped to widget pixels).
    start = lanes.all_marks(Kind.LOG_START)[0]
    assert "Log start offset of deliveries-0" in lanes.explain_at(
        lanes.widget_point(center(start)))
    shot = tmp_path / "presentation_log.png"
    assert w.grab().save(str(shot))
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 720)

    w.set_presentation(False)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: lanes.scale == 1.0, timeout=5000)
    assert lanes.minimumHeight() == lane_h * 6
    assert legend.height() == legend_h
    assert w.current_view() == "log"
