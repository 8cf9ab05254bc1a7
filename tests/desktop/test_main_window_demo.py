"""The main window as a new user meets it, on the real app over a real broker (Qt offscreen).

Issue 9: the window fits a 1280x720 projector whatever it shows (item 10); an empty broker
offers a first step, and the demo workload starts and stops from a menu (item 11); help
is one key away and ``streamscope --help`` lists the app's options (item 13); a second
instance shows the port it was asked for (item 14); a broker that stops answering is
reported as such (item 1b).
"""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from streamscope.core import cli
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread
from streamscope.desktop import format as fmt
from streamscope.desktop.app import Streamscope, parse_args
from streamscope.desktop.demo import GROUPS, TOPICS
from streamscope.desktop.dialogs.create_topic_dialog import CreateTopicDialog
from streamscope.desktop.dialogs.start_consumers_dialog import StartConsumersDialog
from streamscope.desktop.main import main as entry_point
from streamscope.desktop.main_window import VIEW_KEYS
from streamscope.desktop.options import GUI_THEMES
from streamscope.desktop.theme import THEME_NAMES

from tests.desktop.conftest import broker_threads, running_shell
from tests.desktop.helpers import create_topic

PROJECTOR = (1280, 720)
LONG_TOPIC = "rider-locations." + "x" * 180  # a legal name (249 max), far wider than a screen


def snapshot_has(shell: Streamscope, check) -> bool:
    snap = shell.ticker.snapshot
    return snap is not None and bool(check(snap))


@pytest.fixture
def long_path_shell(qapp, qtbot, settings, tmp_path):
    """The real app on a data dir whose path alone is wider than the screen."""
    data_dir = tmp_path / ("streamscope-data-" + "d" * 90) / ("nested-" + "e" * 90)
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir)
    yield from running_shell(qapp, qtbot, settings, config)


# -- item 10: fits a projector ----------------------------------------------------------


def test_window_minimum_size_is_fixed_and_long_names_or_paths_do_not_raise_it(
    long_path_shell, qtbot
):
    w = long_path_shell.window
    w.resize(*PROJECTOR)
    QApplication.processEvents()
    minimum = w.minimumSize().toTuple()
    assert minimum[0] <= PROJECTOR[0] and minimum[1] <= PROJECTOR[1]

    create_topic(long_path_shell, qtbot, LONG_TOPIC)
    long_path_shell.commands.start_consumers("g-" + "y" * 120, LONG_TOPIC, 1, "range")
    long_path_shell.ticker.refresh_now()
    qtbot.waitUntil(
        lambda: snapshot_has(long_path_shell, lambda s: s.topic(LONG_TOPIC) and s.groups),
        timeout=10_000,
    )
    w.topics.table.select_key(LONG_TOPIC)
    for key in VIEW_KEYS:
        w.show_view(key)
        long_path_shell.ticker.refresh_now()
        QApplication.processEvents()
        assert w.minimumSize().toTuple() == minimum, key
        assert w.size().toTuple() == PROJECTOR, key
    # The event log elides the long name in place and keeps the whole line as a tooltip.
    log = w.event_log
    row = next(r for r, (_k, text) in enumerate(log.row_texts()) if LONG_TOPIC in text)
    details = log.proxy.index(row, 2)
    assert details.data(Qt.ItemDataRole.ToolTipRole) == fmt.plain_tooltip(details.data())
    # The data dir is in the status bar, elided with the full path in its tooltip.
    data = w.status_data
    assert str(long_path_shell.service.config.data_dir) in data.text()
    assert data.is_elided() and data.toolTip() == fmt.plain_tooltip(data.text())


def test_every_view_fits_1280x720_with_the_event_log_open(long_path_shell, qtbot):
    w = long_path_shell.window
    w.resize(*PROJECTOR)
    w.dock.show()
    create_topic(long_path_shell, qtbot, LONG_TOPIC, 3)
    long_path_shell.commands.start_consumers("readers-" + "z" * 100, LONG_TOPIC, 2, "range")
    qtbot.waitUntil(
        lambda: snapshot_has(
            long_path_shell, lambda s: any(len(g.members) == 2 for g in s.groups)
        ),
        timeout=15_000,
    )
    w.topics.table.select_key(LONG_TOPIC)
    w.groups.select_group("readers-" + "z" * 100)
    for key in VIEW_KEYS:
        w.show_view(key)
        long_path_shell.ticker.refresh_now()
        QApplication.processEvents()
        # The view fits the area the window gives views: nothing clipped, nothing to scroll.
        view, area = w.views[key], w.stack.size()
        need = view.minimumSizeHint()
        assert need.width() <= area.width() and need.height() <= area.height(), (
            key, need.toTuple(), area.toTuple()
        )
        assert view.size() == area, key
    assert w.size().toTuple() == PROJECTOR


# -- item 11: a first step, and the demo workload from a menu ---------------------------


def test_an_empty_broker_offers_a_first_step_that_opens_the_real_dialogs(app_shell, qtbot):
    w = app_shell.window
    w.show_view("overview")
    app_shell.ticker.refresh_now()
    overview = w.overview
    qtbot.waitUntil(overview.showing_first_step, timeout=5000)
    first = overview.first_step
    assert first.isVisible()
    # No topic yet: consumers have nothing to read, and the button says so.
    assert not first.start_consumers.isEnabled()
    assert "Create a topic first" in first.start_consumers.toolTip()

    qtbot.mouseClick(first.create_topic, Qt.MouseButton.LeftButton)
    assert w.current_view() == "topics"
    assert isinstance(w.topics.dialog, CreateTopicDialog) and w.topics.dialog.isVisible()
    w.topics.dialog.reject()

    create_topic(app_shell, qtbot, "first-topic", 2)
    w.show_view("overview")
    app_shell.ticker.refresh_now()
    # A topic but nothing stored or consumed: still the first step, now with consumers.
    qtbot.waitUntil(first.start_consumers.isEnabled, timeout=5000)
    assert overview.showing_first_step()
    qtbot.mouseClick(first.start_consumers, Qt.MouseButton.LeftButton)
    assert w.current_view() == "groups"
    dialog = w.groups.dialog
    assert isinstance(dialog, StartConsumersDialog) and dialog.isVisible()
    dialog.reject()


def test_the_demo_workload_starts_from_the_first_step_and_stops_and_restarts_from_the_menu(
    app_shell, qtbot
):
    w = app_shell.window
    w.show_view("overview")
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(w.overview.showing_first_step, timeout=5000)
    assert w.demo_start_action.isEnabled() and not w.demo_stop_action.isEnabled()

    qtbot.mouseClick(w.overview.first_step.start_demo, Qt.MouseButton.LeftButton)
    assert app_shell.demo.running
    assert w.demo_stop_action.isEnabled() and not w.demo_start_action.isEnabled()
    demo_topics = {name for name, *_ in TOPICS}
    demo_groups = {group for group, *_ in GROUPS}

    def demo_live(s) -> bool:
        names = {t.name for t in s.topics}
        members = {g.group_id for g in s.groups if g.members}
        return demo_topics <= names and s.messages > 0 and "map-app" in members

    qtbot.waitUntil(lambda: snapshot_has(app_shell, demo_live), timeout=20_000)
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: not w.overview.showing_first_step(), timeout=5000)

    threads = list(app_shell.demo._threads)
    w.demo_stop_action.trigger()
    assert not app_shell.demo.running
    assert w.demo_start_action.isEnabled() and not w.demo_stop_action.isEnabled()
    qtbot.waitUntil(
        lambda: all(app_shell.commands.consumer_count(g) == 0 for g in demo_groups),
        timeout=20_000,
    )

    def in_process_members(s) -> int:
        return sum(len(g.members) for g in s.groups if g.group_id in demo_groups)

    qtbot.waitUntil(lambda: snapshot_has(app_shell, lambda s: in_process_members(s) == 0),
                    timeout=20_000)
    # Producers stopped too (in-process ones and the real client): the logs stop growing.
    qtbot.waitUntil(lambda: not [t for t in threads if t.is_alive()], timeout=20_000)
    since = time.monotonic()
    qtbot.waitUntil(lambda: app_shell.service.latest().monotonic > since, timeout=5000)
    stored = app_shell.service.latest().messages
    # Half a second of the broker's own snapshots later, nothing more was stored.
    later = time.monotonic() + 0.5
    qtbot.waitUntil(lambda: app_shell.service.latest().monotonic > later, timeout=5000)
    assert app_shell.service.latest().messages == stored

    # The menu starts it again.
    w.demo_start_action.trigger()
    assert app_shell.demo.running
    qtbot.waitUntil(lambda: app_shell.commands.consumer_count("map-app") == 4, timeout=20_000)


# -- item 13: help ----------------------------------------------------------------------


def test_f1_opens_what_am_i_looking_at_with_shortcuts_and_version(app_shell, qtbot):
    w = app_shell.window
    w.show_view("groups")
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: w.help_dialog is not None and w.help_dialog.isVisible(), timeout=5000)
    text = w.help_dialog.text()
    assert "What am I looking at?" in text
    for section in ("Overview", "Topics", "Consumer groups", "Clients", "Event log"):
        assert section in text
    assert cli.version() in text
    # The shortcuts listed are the menus' own.
    assert "Ctrl+1" in text and "F1" in text and "Create topic" in text
    # F1 opened the page at the view being looked at.
    bar = w.help_dialog.browser.verticalScrollBar()
    assert bar.value() > 0
    w.help_dialog.close()

    about = next(a for a in w.menuBar().actions() if a.text() == "&Help").menu().actions()[-1]
    about.trigger()
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and cli.version() in boxes[-1].text()
    boxes[-1].close()


def test_help_flag_lists_the_gui_options_and_the_app_parses_the_same_ones(capsys):
    assert entry_point(["--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--listen", "--data-dir", "--theme", "--screenshots", "--after"):
        assert option in out, option
    assert "streamscope broker" in out
    args = parse_args(["--listen", "127.0.0.1:0", "--theme", "dark", "--screenshots", "x"])
    assert args.listen == ("127.0.0.1", 0) and args.theme == "dark"
    assert tuple(GUI_THEMES) == tuple(THEME_NAMES)


# -- item 14: a second instance shows the port it was asked for -------------------------


def test_a_second_instance_shows_the_port_it_was_asked_for_not_the_default(
    qapp, qtbot, settings, tmp_path
):
    other = BrokerThread(
        BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "first"), name="first-instance"
    )
    other.start()
    shell = None
    try:
        taken = int(other.bootstrap.rsplit(":", 1)[1])
        config = BrokerConfig(host="127.0.0.1", port=taken, data_dir=tmp_path / "second")
        shell = Streamscope(qapp, config, settings, theme="light", interactive=True)
        shell.start()
        qtbot.waitUntil(lambda: shell.port_dialog is not None, timeout=15_000)
        overview = shell.window.overview
        asked = f"127.0.0.1:{taken}"
        for name, block in overview.snippet_blocks.items():
            text = block.edit.toPlainText()
            assert asked in text, name
            assert ":9092" not in text or taken == 9092, name
        assert asked in overview.address.text() and "in use" in overview.address.text()

        qtbot.mouseClick(shell.port_dialog.use_any, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
        bootstrap = shell.service.bootstrap
        shell.ticker.refresh_now()
        qtbot.waitUntil(
            lambda: bootstrap in overview.snippet_blocks["kcat"].edit.toPlainText(),
            timeout=5000,
        )
        assert overview.address.text() == bootstrap
    finally:
        if shell is not None:
            shell.close()
        other.stop()
    assert not broker_threads()


# -- item 1b: a broker that stops answering is not shown as live ------------------------


def test_status_bar_says_the_broker_is_not_responding_while_snapshots_stop(app_shell, qtbot):
    # The clock the ticker reads is the test's: the age shown is exact, not wall time.
    now = [time.monotonic()]
    app_shell.ticker.clock = lambda: now[0]
    status = app_shell.window.status_listener
    qtbot.waitUntil(lambda: status.text().startswith("Listening on"), timeout=5000)

    blocked, release = threading.Event(), threading.Event()

    def hold_the_loop(_broker) -> None:
        blocked.set()
        release.wait(30)  # a broker loop that stops answering, under the test's control

    held = app_shell.service.submit(hold_the_loop)
    try:
        qtbot.waitUntil(blocked.is_set, timeout=5000)
        # Whatever was built before the loop stopped has reached the GUI.
        qtbot.waitUntil(
            lambda: app_shell.ticker.snapshot is app_shell.service.latest(), timeout=5000
        )
        assert app_shell.service.running  # the service still says running
        now[0] += 4.2
        qtbot.waitUntil(
            lambda: status.text() == "Broker not responding: last update 4 s ago", timeout=5000
        )
        assert app_shell.window.status_rates.text() == ""  # no stale rates passed off as live
        now[0] += 3.0
        qtbot.waitUntil(
            lambda: status.text() == "Broker not responding: last update 7 s ago", timeout=5000
        )
    finally:
        release.set()
    held.result(10)
    qtbot.waitUntil(lambda: status.text().startswith("Listening on"), timeout=5000)
    assert "msg/s" in app_shell.window.status_rates.text()


def test_a_starting_or_stopped_service_is_never_reported_as_not_responding(
    qapp, qtbot, settings, broker_config
):
    now = [0.0]
    shell = Streamscope(
        qapp, broker_config, settings, theme="light", interactive=False, clock=lambda: now[0]
    )
    try:
        assert shell.ticker.snapshot_age() is None  # nothing asked of the broker yet
        shell.start()
        qtbot.waitUntil(lambda: shell.ticker.snapshot is not None, timeout=15_000)
        now[0] += 1.0
        assert shell.ticker.snapshot_age() == pytest.approx(1.0)
        assert not shell.ticker.is_stale()
        shell.service.stop()
        now[0] += 100.0
        assert shell.ticker.snapshot_age() is None and not shell.ticker.is_stale()
    finally:
        shell.close()


def test_quitting_with_the_demo_running_leaves_nothing_behind(
    qapp, qtbot, settings, broker_config
):
    shell = Streamscope(qapp, broker_config, settings, theme="light", interactive=False)
    shell.start()
    qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
    shell.window.start_demo()
    qtbot.waitUntil(lambda: shell.commands.consumer_count("map-app") == 4, timeout=20_000)
    qtbot.waitUntil(lambda: len(shell.demo._threads) >= 2, timeout=5000)  # real clients
    threads = list(shell.demo._threads)
    shell.close()
    assert not shell.demo.running
    assert not broker_threads()
    # The demo's real-client threads were joined before the broker stopped.
    assert not [t for t in threads if t.is_alive()]
