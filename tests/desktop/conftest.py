"""Fixtures for the desktop tests: Qt offscreen, a test-local QSettings file, the real app.

``QT_QPA_PLATFORM=offscreen`` is set here, before anything imports Qt. ``app_shell`` builds
the same :class:`desktop.app.Streamscope` users run, on a real broker listening on
127.0.0.1 port 0 with a fresh data dir and a throwaway settings file, waits until it is
listening, and closes it after the test (checking nothing is left running).

Every desktop test also fails if it leaves a top-level widget behind (``_no_leaked_windows``,
as napari's test fixture does): a window that outlives its test is a leak in the app, and
it would also show up, stale, in the next test's ``topLevelWidgets()``. Qt warnings fail
tests too (``qt_log_level_fail`` in pyproject.toml).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import gc  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402
from streamscope.core.config import BrokerConfig  # noqa: E402


def broker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("streamscope-broker")]


@pytest.fixture(autouse=True)
def _qt_application(qapp):
    """Every desktop test runs with the QApplication (pixmaps and fonts need it)."""
    return qapp


def leftover_windows(before: set[QWidget]) -> list[QWidget]:
    """Top-level widgets not in ``before``, once pending deletes and garbage are gone."""
    # deleteLater() only takes effect when the event loop sees DeferredDelete; Python
    # wrappers caught in reference cycles only release their widget on a collection.
    for _ in range(2):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
    return [w for w in QApplication.topLevelWidgets() if w not in before]


@pytest.fixture(autouse=True)
def _no_leaked_windows(_qt_application):
    """Fail the test if it leaves a top-level widget behind.

    Autouse fixtures are set up first, so this one is torn down last: after ``app_shell``
    closed the app and after qtbot closed the widgets registered with ``addWidget``.
    """
    before = set(QApplication.topLevelWidgets())
    yield
    leaked = leftover_windows(before)
    names = [f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in leaked]
    for widget in leaked:  # so one leak fails one test, not every test after it
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"top-level widgets left behind: {names}"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def broker_config(tmp_path) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data")


def running_shell(qapp, qtbot, settings, config: BrokerConfig):
    """The body of a fixture: the real app on ``config``, listening and with a first
    snapshot; closed afterwards, with nothing left running."""
    from streamscope.desktop.app import Streamscope

    shell = Streamscope(qapp, config, settings, theme="light", interactive=False)
    shell.start()
    qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
    qtbot.waitUntil(lambda: shell.ticker.snapshot is not None, timeout=5_000)
    yield shell
    shell.close()
    assert not shell.service.running
    assert not broker_threads(), "broker thread left running"


@pytest.fixture
def app_shell(qapp, qtbot, settings, broker_config):
    yield from running_shell(qapp, qtbot, settings, broker_config)
