"""``streamscope --screenshots DIR``: the packaged entry runs headless and saves every view
(the first step on the empty broker, then overview, topics, groups, clients, event log),
each at 1280x720, the size of a projector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage
from streamscope.desktop.screenshots import VIEWS

ROOT = Path(__file__).resolve().parents[2]


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
    for view in VIEWS:
        image = QImage(str(out / f"{view}.png"))
        assert not image.isNull(), view
        assert (image.width(), image.height()) == (1280, 720), view
        # Not a blank frame: a real rendering has many distinct colours.
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 37)
            for y in range(0, image.height(), 29)
        }
        assert len(colours) > 20, view
