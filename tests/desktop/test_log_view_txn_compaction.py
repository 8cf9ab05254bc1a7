"""The log view on a compacted, transactional topic: the key grows the marks the lanes
use, the summary says what the cleaner is doing, and the lanes paint them (issue 14).

A LogView on a hand-built snapshot (tests/desktop/snapshots.py, the monitor's own
classes); the real cleaner and coordinator fill the same fields (tests/core).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from streamscope.core import monitor
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.models.log_marks import Kind
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.log_lanes import LogLegend
from streamscope.desktop.views.log_view import LogView

from tests.desktop import snapshots as S


def topic(compacted: bool, transactional: bool) -> monitor.TopicSnapshot:
    t = S.topic("partners", 2)
    parts = []
    for p in t.partitions:
        fields: dict = {"high_watermark": 1_000, "segment_bases": (0, 300, 600, 900),
                        "segment_count": 4}
        if compacted:
            fields["compaction"] = monitor.CompactionSnapshot(
                clean_offset=600, dirty_end_offset=900, dirty_ratio=0.3 + 0.4 * p.index,
                state="cleaning" if p.index == 1 else "idle", passes=1, bytes_read=100,
                bytes_written=50, last_run_ms=1, progress=0.5,
            )
        if transactional:
            fields["last_stable_offset"] = 950
            fields["aborted"] = (monitor.AbortedRange(9, 100, 299),)
        parts.append(dataclasses.replace(p, **fields))
    configs = (("cleanup.policy", "compact"), ("min.cleanable.dirty.ratio", "0.6"))
    return dataclasses.replace(t, partitions=tuple(parts), configs=configs if compacted else ())


def show(qtbot, t: monitor.TopicSnapshot) -> LogView:
    v = LogView(LIGHT)
    qtbot.addWidget(v)
    v.resize(1280, 720)
    v.show()
    qtbot.waitExposed(v)
    snap = S.snapshot(topics=[t])
    history = MonitorHistory()
    v.on_slow_tick(snap, history)
    assert v.show_topic(t.name)
    v.on_tick(snap, history)
    v.whole_log()
    return v


def test_a_plain_topic_keeps_the_plain_key(qtbot):
    v = show(qtbot, topic(compacted=False, transactional=False))
    assert v.legend.entries == LogLegend.ENTRIES
    assert "compacted" not in v.summary.text()


def test_compaction_and_transactions_join_the_key_and_the_summary(qtbot, tmp_path: Path):
    v = show(qtbot, topic(compacted=True, transactional=True))
    labels = [label for _key, label in v.legend.entries]
    assert "cleaned (compacted)" in labels and "dirty (not cleaned yet)" in labels
    assert "last stable offset" in labels and "aborted transaction" in labels
    # At 1280 px the longer key wraps onto a second row rather than losing entries.
    assert v.legend.rows == 2
    assert v.legend.height() >= 2 * 26
    text = v.summary.text()
    assert "compacted: the latest record per key" in text
    assert "cleaner running on 1 partition (50%), dirty ratio up to 0.70 (cleans at 0.6)" in text
    kinds = {m.kind for marks in v.lanes._marks.values() for m in marks}
    assert {Kind.CLEAN, Kind.DIRTY, Kind.STABLE, Kind.UNSTABLE, Kind.ABORTED} <= kinds
    path = tmp_path / "log.png"
    assert v.grab().save(str(path))
    # The cleaned strip is painted in the theme's "ok" colour somewhere on the canvas.
    image = QImage(str(path))
    ok = QColor(LIGHT.ok)
    found = any(
        abs(QColor(image.pixel(x, y)).green() - ok.green()) < 40
        and abs(QColor(image.pixel(x, y)).red() - ok.red()) < 40
        and abs(QColor(image.pixel(x, y)).blue() - ok.blue()) < 40
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 8)
    )
    assert found
