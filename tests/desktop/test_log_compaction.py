"""The Log page draws a compacted partition's clean and dirty sections, from the real
app on a real broker whose cleaner compacted what confluent-kafka produced; the numbers
are read from the marks and checked against the broker, and the page is saved at
1280x720 for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from streamscope.core.config import BrokerConfig
from streamscope.desktop.models.log_marks import Kind

from tests.desktop.helpers import create_topic

pytestmark = pytest.mark.timeout(120)

TOPIC = "prices"
COMPACT = {"cleanup.policy": "compact", "segment.bytes": "1024",
           "min.cleanable.dirty.ratio": "0.5"}


@pytest.fixture
def broker_config(tmp_path) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                        cleaner_interval_ms=50)


def produce(bootstrap: str, keys: range, rounds: int = 1) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for r in range(rounds):
        for i in keys:
            p.produce(TOPIC, key=b"item-%d" % i, value=b"price %d.%02d" % (i, r), partition=0)
            if i % 10 == 9:
                assert p.flush(15) == 0  # small batches: 1 KiB segments roll
    assert p.flush(15) == 0


def test_clean_and_dirty_sections_are_drawn_and_explained(app_shell, qtbot, tmp_path: Path):
    shell = app_shell
    bs = shell.service.bootstrap
    create_topic(shell, qtbot, TOPIC, configs=COMPACT)
    produce(bs, range(60), rounds=3)  # 3 prices per item: two thirds to compact away
    shell.window.show_log(TOPIC)
    view = shell.window.log
    # Settled: at least one pass, and nothing left that the 0.5 ratio would clean, so no
    # pass is due when the ratio is raised below (one already due could clean the new
    # keys before they are drawn).
    qtbot.waitUntil(lambda: bool(view.model.lanes)
                    and (c := view.model.lanes[0].compaction) is not None
                    and c.passes >= 1 and c.state == "idle" and c.dirty_ratio < 0.5,
                    timeout=20_000)
    clean_to = view.model.lanes[0].compaction.clean_offset
    # New keys stay dirty: the ratio that triggers a pass is raised first, so no pass
    # cleans them before they are drawn (how much they weigh depends on where segments
    # rolled, which a loaded machine changes).
    change = ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[
        ConfigEntry("min.cleanable.dirty.ratio", "0.99",
                    incremental_operation=AlterConfigOpType.SET)])
    admin = AdminClient({"bootstrap.servers": bs})  # kept alive until the answer
    admin.incremental_alter_configs([change])[change].result(timeout=15)
    produce(bs, range(100, 130))
    qtbot.waitUntil(lambda: (c := view.model.lanes[0].compaction) is not None
                    and c.dirty_end_offset > c.clean_offset >= clean_to, timeout=10_000)
    window = shell.window
    window.resize(1280, 720)
    view.whole_log()
    shell.ticker.refresh_now()
    lane = view.model.lanes[0]
    c = lane.compaction
    assert c is not None and c.state in ("idle", "cleaning") and 0 < c.dirty_ratio < 0.99
    assert c.clean_offset < c.dirty_end_offset <= lane.segment_bases[-1]  # never the active
    qtbot.waitUntil(lambda: bool(view.lanes.all_marks(Kind.DIRTY)), timeout=5_000)
    clean = view.lanes.all_marks(Kind.CLEAN)
    dirty = view.lanes.all_marks(Kind.DIRTY)
    lane = view.model.lanes[0]
    assert [(m.offset, m.end) for m in clean] == [(lane.log_start, lane.compaction.clean_offset)]
    assert [(m.offset, m.end) for m in dirty] == [
        (lane.compaction.clean_offset, lane.compaction.dirty_end_offset)]
    assert clean[0].x1 <= dirty[0].x0 + 0.5  # side by side, clean first
    m = clean[0]
    text = view.lanes.explain_at(qtbot_point(m))
    assert "compacted" in text and "gaps" in text
    text = view.lanes.explain_at(qtbot_point(dirty[0]))
    assert "dirty" in text and "min.cleanable.dirty.ratio" in text
    assert "compacted: the latest record per key" in view.summary.text()
    path = tmp_path / "log-compaction.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000
    print(f"\nscreenshot: {path}")


def qtbot_point(m):
    from PySide6.QtCore import QPointF

    return QPointF((m.x0 + m.x1) / 2, (m.y0 + m.y1) / 2)
