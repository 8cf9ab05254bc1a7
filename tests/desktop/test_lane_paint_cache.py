"""The lanes are laid out on the tick and a paint only replays them.

A LogView on a hand-built snapshot (tests/desktop/snapshots.py, the monitor's own
classes): 12 partitions read by 5 groups, recent appends with keys. The canvas's layout
(:meth:`LanePainter.compile`) is counted around ticks and paints; nothing is timed.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from PySide6.QtCore import QRect
from streamscope.core import monitor
from streamscope.core.monitor.activity import ActivitySnapshot, AppendSample, ReadPosition
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.models.log_marks import Kind, lane_height
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.log_paint import LanePainter
from streamscope.desktop.views.log_view import LogView

from tests.desktop import snapshots as S

PARTITIONS, GROUPS, BATCHES, PER_BATCH = 12, 5, 24, 20


def busy_snapshot(hw: int = 50_000, t: float | None = None) -> monitor.ClusterSnapshot:
    now = time.time()
    topic = S.topic("lanes", PARTITIONS)
    parts = tuple(
        dataclasses.replace(p, high_watermark=hw, segment_bases=tuple(range(0, hw, 2_000)))
        for p in topic.partitions
    )
    topic = dataclasses.replace(topic, partitions=parts)
    groups = []
    for g in range(GROUPS):
        lag = 100 + 80 * g
        offsets = tuple(
            monitor.OffsetSnapshot("lanes", p, hw - lag, hw, 0, lag, None)
            for p in range(PARTITIONS)
        )
        groups.append(dataclasses.replace(S.group(f"g{g}"), offsets=offsets,
                                          total_lag=lag * PARTITIONS))
    appends, reads = [], []
    for p in range(PARTITIONS):
        for b in range(BATCHES):
            base = hw - (BATCHES - b) * PER_BATCH
            keys = tuple(None if i % 7 == 0 else i % 5 for i in range(PER_BATCH))
            appends.append(AppendSample(len(appends), "lanes", p, base, base + PER_BATCH - 1,
                                        0, now - 1, keys))
        reads += [ReadPosition("lanes", p, hw - 40 * g, g, f"c{g}", "h", now, f"g{g}", f"m{g}")
                  for g in range(GROUPS)]
    s = S.snapshot(topics=[topic], groups=groups, t=t)
    return dataclasses.replace(
        s, taken_at=now, activity=ActivitySnapshot(tuple(appends), (), tuple(reads), 0)
    )


@pytest.fixture
def view(qtbot) -> LogView:
    v = LogView(LIGHT)
    qtbot.addWidget(v)
    v.resize(1280, 720)
    v.show()
    qtbot.waitExposed(v)
    snap = busy_snapshot(t=1.0)
    history = MonitorHistory()
    v.on_slow_tick(snap, history)
    assert v.show_topic("lanes")
    v.on_tick(snap, history)
    return v


def count_compiles(v: LogView) -> list[int]:
    """Record the lane index of every layout into a drawing."""
    laid_out: list[int] = []
    painter = v.lanes._painter
    real = painter.compile

    def counted(index, *args):
        laid_out.append(index)
        return real(index, *args)

    painter.compile = counted  # type: ignore[method-assign]
    return laid_out


def visible_lanes(v: LogView) -> list[int]:
    shown = v.lanes.visibleRegion().boundingRect()
    h = lane_height(GROUPS)
    return list(range(shown.top() // h, min(PARTITIONS - 1, shown.bottom() // h) + 1))


def test_a_tick_lays_out_the_lanes_in_view_and_paints_only_replay_them(view, qtbot):
    laid_out = count_compiles(view)
    for _ in range(5):
        view.lanes.repaint()
    assert laid_out == []  # paints drew what the tick laid out

    view.on_tick(busy_snapshot(hw=50_100, t=2.0), MonitorHistory())
    in_view = visible_lanes(view)
    assert laid_out == in_view  # laid out on the tick, before any paint
    assert 0 < len(in_view) < PARTITIONS  # the lanes scrolled out of view wait
    view.lanes.repaint()
    assert laid_out == in_view


def test_a_paint_draws_only_the_lanes_crossing_the_exposed_rectangle(view):
    drawn: list[int] = []
    real = view.lanes.drawing
    view.lanes.drawing = lambda i: (drawn.append(i), real(i))[1]  # type: ignore[method-assign]
    h = lane_height(GROUPS)
    view.lanes.repaint(QRect(0, h + 5, view.lanes.width(), 20))
    assert drawn == [1]


def test_tokens_of_one_colour_are_drawn_in_one_call(view):
    canvas = view.lanes
    tokens = [m for m in canvas.marks(0) if m.kind == Kind.TOKEN]
    colours = {canvas._painter.paints.token(m.key, m.sampled, m.age).rgba() for m in tokens}
    assert len(colours) > 2  # keys of several hues, and null keys
    batches = [args[0] for fn, args in canvas.drawing(0).ops if fn == LanePainter._tokens]
    assert len(batches) == 1
    (by_colour,) = batches
    assert len(by_colour) == len(colours)
    assert sum(len(rects) for _colour, rects in by_colour.values()) == len(tokens)
