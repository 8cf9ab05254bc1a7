"""``streamscope --screenshots DIR --lesson fanout``: the packaged entry runs headless,
plays the fan-out lesson and saves its four shots (the customer map, the log with the
three groups' cursors, the lesson panel with its check, presentation mode), each a real
1280x720 rendering grabbed on the page it is meant to show; an unknown lesson exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from streamscope.desktop.screenshots import LESSON_SHOT_PAGES, LESSON_SHOTS

ROOT = Path(__file__).resolve().parents[2]


def run_app(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c",
         "import sys; from streamscope.desktop.main import main; sys.exit(main())", *args],
        cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True, text=True, timeout=timeout,
    )


def colours(image: QImage) -> set[int]:
    return {image.pixel(x, y) for x in range(0, image.width(), 37)
            for y in range(0, image.height(), 29)}


def dark_rows(image: QImage) -> int:
    """Rows of the image's bottom half whose pixels are mostly near-black."""
    rows = 0
    for y in range(image.height() // 2, image.height(), 4):
        dark = sum(QColor(image.pixel(x, y)).value() < 50 for x in range(0, image.width(), 16))
        rows += dark > image.width() // 16 * 0.6
    return rows


def test_lesson_screenshots_play_fanout_and_save_map_log_panel_and_presentation(tmp_path):
    out = tmp_path / "shots"
    proc = run_app("--listen", "127.0.0.1:0", "--screenshots", str(out), "--lesson", "fanout",
                   timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Fatal Python error" not in proc.stderr
    assert set(LESSON_SHOT_PAGES) == set(LESSON_SHOTS) == {
        "lesson_map", "lesson_log", "lesson_panel", "lesson_presentation"}
    for shot in LESSON_SHOTS:
        path = out / f"{shot}.png"
        image = QImage(str(path))
        assert not image.isNull(), shot
        assert (image.width(), image.height()) == (1280, 720), shot
        assert len(colours(image)) > 20, shot  # a rendering, not a blank frame
        assert path.stat().st_size > 40_000, shot
        assert f"{shot}.png ({LESSON_SHOT_PAGES[shot]} page)" in proc.stderr, shot
    # The log shot is the fan-out: one topic, the three groups' cursors on it.
    assert ("lesson_log shows deliveries with the cursors of analytics, customer-map, "
            "notifications") in proc.stderr, proc.stderr[-3000:]
    # ... grabbed while they stand apart: the apps read at different paces.
    assert "lesson_log cursors apart: customer-map at " in proc.stderr, proc.stderr[-3000:]
    # Presentation mode differs from the window it was entered from: a dark caption
    # banner across the bottom, which no other shot has.
    present = QImage(str(out / "lesson_presentation.png"))
    assert dark_rows(present) >= 20
    # ... no taller than its words need: the page keeps most of the screen.
    assert dark_rows(present) <= 75
    for shot in ("lesson_map", "lesson_log", "lesson_panel"):
        assert dark_rows(QImage(str(out / f"{shot}.png"))) < 5, shot


def test_an_unknown_lesson_exits_2_naming_the_lessons_there_are(tmp_path):
    proc = run_app("--screenshots", str(tmp_path / "shots"), "--lesson", "no-such-lesson",
                   timeout=60)
    assert proc.returncode == 2
    assert "no-such-lesson" in proc.stderr and "fanout" in proc.stderr
    assert not (tmp_path / "shots").exists()
