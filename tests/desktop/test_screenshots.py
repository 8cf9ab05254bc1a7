"""``streamscope --screenshots DIR``: the packaged entry runs headless and saves every view
(the first step on the empty broker, then overview, topics, groups, clients, the Log page
with three groups' cursors, the Messages page with a decoded msgpack record selected, the
Produce dialog after a send, and the event log), each at 1280x720, the size of a
projector, each grabbed with the page it is meant to show current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from streamscope.desktop.screenshots import BROWSE_TOPIC, LOG_GROUPS, SHOT_PAGES, VIEWS

ROOT = Path(__file__).resolve().parents[2]
ISSUE_11_SHOTS = {"log", "messages", "produce"}


def colours(image: QImage) -> set[int]:
    return {
        image.pixel(x, y)
        for x in range(0, image.width(), 37)
        for y in range(0, image.height(), 29)
    }


def vivid_hues(image: QImage) -> int:
    """How many 20-degree hue bands the image's saturated, bright pixels fall in."""
    bands = set()
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = QColor(image.pixel(x, y))
            if c.hsvSaturation() > 140 and c.value() > 90:
                bands.add(c.hsvHue() // 20)
    return len(bands)


def test_screenshots_mode_saves_one_png_per_view_and_exits_0(tmp_path):
    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from streamscope.desktop.main import main; sys.exit(main())",
            "--listen",
            "127.0.0.1:0",
            "--screenshots",
            str(out),
            "--after",
            "1.5",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Fatal Python error" not in proc.stderr
    assert {"first_step", "overview", "topics", "groups", "clients", "event_log"} <= set(VIEWS)
    assert ISSUE_11_SHOTS <= set(VIEWS)
    assert set(SHOT_PAGES) == set(VIEWS)
    # No step gave up waiting for the app (a page read, a decoded record, a produce).
    assert "not ready in time" not in proc.stderr, proc.stderr[-3000:]
    for view in VIEWS:
        path = out / f"{view}.png"
        image = QImage(str(path))
        assert not image.isNull(), view
        assert (image.width(), image.height()) == (1280, 720), view
        # Not a blank frame: a real rendering has many distinct colours, and compresses
        # to far more than a flat one.
        assert len(colours(image)) > 20, view
        assert path.stat().st_size > 40_000, view
        # Grabbed with the page it is meant to show current.
        assert f"{view}.png ({SHOT_PAGES[view]} page)" in proc.stderr, view

    # The Log page's tokens are coloured by key: many vivid hues, where a page of tables
    # and text has a few accent colours.
    assert vivid_hues(QImage(str(out / "log.png"))) >= 8
    assert vivid_hues(QImage(str(out / "messages.png"))) < 8
    assert len(LOG_GROUPS) == 2  # beside the demo's own group: three cursors per lane
    # The Messages page selected one of the msgpack records written for it, decoded.
    m = re.search(r"messages selects (\S+)-(\d+) offset (\d+), decoded as (\w+)", proc.stderr)
    assert m is not None, proc.stderr[-3000:]
    assert m.group(1) == BROWSE_TOPIC and m.group(4) == "msgpack"
    # The Produce dialog was sent and says where the record went.
    assert re.search(rf"produce dialog says: Produced to {BROWSE_TOPIC}-\d+ at offset \d+",
                     proc.stderr), proc.stderr[-3000:]
    # The dialog is drawn over the window, not the window alone.
    assert QImage(str(out / "produce.png")) != QImage(str(out / "topics.png"))
