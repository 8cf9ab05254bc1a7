"""The desktop tests' own rules hold: a leaked top-level window or a Qt warning fails a test.

A small test module is run by pytest in a subprocess with this project's pytest settings
(``pyproject.toml``) and the desktop fixtures (``tests/desktop/conftest.py``), and its
outcomes are read back: the leaking and the warning tests fail, the clean one passes,
including the offscreen platform's own messages (``qt_log_ignore``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_MODULE = '''
# The desktop fixtures, autouse ones included (private names: imported by name).
from tests.desktop.conftest import _no_leaked_windows, _qt_application  # noqa: F401

from PySide6.QtCore import qWarning
from PySide6.QtWidgets import QLabel, QWidget

kept = []


def test_leaks_a_window():
    window = QWidget()
    window.show()
    kept.append(window)  # never closed: still a top-level window after the test


def test_emits_a_qt_warning(qtbot):
    qWarning("something is wrong")


def test_cleans_up_its_windows(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()  # on offscreen this logs "does not support propagateSizeHints()"
    label = QLabel("plain")
    label.show()
    label.close()
    label.deleteLater()
'''


@pytest.mark.timeout(120)
def test_a_leaked_window_or_a_qt_warning_fails_a_desktop_test_and_clean_ones_pass(tmp_path):
    module = tmp_path / "test_rules_sample.py"
    module.write_text(_MODULE)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-rA",
         str(module)],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
    )
    outcomes = {
        (m.group(1), m.group(2))
        for m in re.finditer(r"^(PASSED|FAILED|ERROR) \S*::(test_\w+)", proc.stdout, re.M)
    }
    assert ("ERROR", "test_leaks_a_window") in outcomes, proc.stdout
    assert "top-level widgets left behind: [\"QWidget(''" in proc.stdout
    assert ("FAILED", "test_emits_a_qt_warning") in outcomes, proc.stdout
    assert ("PASSED", "test_cleans_up_its_windows") in outcomes, proc.stdout
    assert ("PASSED", "test_leaks_a_window") in outcomes  # the test ran; its teardown failed
