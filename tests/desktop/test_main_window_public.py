"""MainWindow's public methods for whoever drives it from outside (the screenshot mode).

Selecting a topic or a group by name, showing the event log at a height and sizing it to
the room the current view leaves; and ``desktop/screenshots.py`` uses only such public
methods of the window, never its widgets.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import streamscope.desktop.screenshots
from PySide6.QtWidgets import QApplication
from streamscope.core.clients import Consumer
from streamscope.desktop.main_window import EVENT_LOG_HEIGHT, MainWindow

from tests.desktop.helpers import create_topic


@pytest.fixture
def consumer(app_shell, qtbot):
    create_topic(app_shell, qtbot, "rides", 2)

    async def start(broker) -> Consumer:
        return await Consumer(broker, "fleet", ["rides"], client_id="c1").start()

    c = app_shell.service.submit(start).result(10)
    yield c

    async def close(_broker) -> None:
        await c.close()

    app_shell.service.submit(close).result(20)


def test_the_window_selects_a_topic_and_a_group_by_name(app_shell, qtbot, consumer):
    w = app_shell.window
    qtbot.waitUntil(lambda: w.select_topic("rides"), timeout=10_000)
    assert w.topics.selected_topic() == "rides"
    qtbot.waitUntil(lambda: w.select_group("fleet"), timeout=10_000)
    assert w.groups.selected_group_id() == "fleet"
    assert not w.select_topic("no-such-topic")
    assert not w.select_group("no-such-group")


def test_the_event_log_grows_only_as_tall_as_the_view_above_leaves_room_for(app_shell, qtbot):
    w = app_shell.window
    w.resize(1280, 720)
    w.show_view("topics")
    w.show_event_log(EVENT_LOG_HEIGHT)
    qtbot.waitUntil(lambda: w.dock.isVisible() and w.dock.height() > 0, timeout=5000)
    QApplication.processEvents()
    page = w.pages["topics"]
    tall = w.event_log_fit_height(360)
    assert EVENT_LOG_HEIGHT <= tall <= 360
    w.show_event_log(tall)
    qtbot.waitUntil(lambda: abs(w.dock.height() - tall) <= 2, timeout=5000)
    QApplication.processEvents()
    # The topics view above still fits: nothing to scroll.
    assert page.height() >= page.widget().minimumSizeHint().height()
    assert not page.verticalScrollBar().isVisible()
    w.show_event_log(EVENT_LOG_HEIGHT)
    qtbot.waitUntil(lambda: abs(w.dock.height() - EVENT_LOG_HEIGHT) <= 2, timeout=5000)


def test_the_screenshot_mode_uses_only_public_methods_of_the_window():
    tree = ast.parse(Path(streamscope.desktop.screenshots.__file__).read_text())
    calls = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    used = []
    for node in ast.walk(tree):
        # Every ``w.<name>`` (w is the window in screenshots.py) is a call of a public
        # method: no widget of the window (w.dock, w.pages, w.topics) is reached into.
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "w":
            used.append(node.attr)
            assert id(node) in calls, f"w.{node.attr} is not a method call"
            assert not node.attr.startswith("_"), node.attr
            assert callable(getattr(MainWindow, node.attr, None)), node.attr
    assert {"show_view", "select_topic", "select_group", "show_event_log"} <= set(used)
