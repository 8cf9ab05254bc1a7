"""Fixtures for the desktop tests: Qt offscreen, a test-local QSettings file, the real app.

``QT_QPA_PLATFORM=offscreen`` is set here, before anything imports Qt. ``app_shell`` builds
the same :class:`desktop.app.Streamscope` users run, on a real broker listening on
127.0.0.1 port 0 with a fresh data dir and a throwaway settings file, waits until it is
listening, and closes it after the test (checking nothing is left running).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import threading  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from core.config import BrokerConfig  # noqa: E402


def broker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("streamscope-broker")]


@pytest.fixture(autouse=True)
def _qt_application(qapp):
    """Every desktop test runs with the QApplication (pixmaps and fonts need it)."""
    return qapp


@pytest.fixture
def settings(tmp_path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def broker_config(tmp_path) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data")


@pytest.fixture
def app_shell(qapp, qtbot, settings, broker_config):
    from desktop.app import Streamscope

    shell = Streamscope(qapp, broker_config, settings, theme="light", interactive=False)
    shell.start()
    qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
    qtbot.waitUntil(lambda: shell.ticker.snapshot is not None, timeout=5_000)
    yield shell
    shell.close()
    assert not shell.service.running
    assert not broker_threads(), "broker thread left running"
