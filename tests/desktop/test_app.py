"""The desktop app end to end: real broker, real Kafka clients over 127.0.0.1, Qt offscreen."""

from __future__ import annotations

import asyncio
import gc
import socket

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QLabel
from streamscope.desktop.app import Streamscope
from streamscope.desktop.models.groups_model import GroupsModel
from streamscope.desktop.models.topics_model import TopicsModel

from tests.desktop.conftest import broker_threads
from tests.desktop.helpers import create_topic, wait_logged
from tests.kafka_clients import (
    ConsumerThread,
    ProducerThread,
    produce,
    topic_partitions,
)


def table_names(shell: Streamscope) -> list[str]:
    m = shell.window.topics.model
    return [m.index(r, TopicsModel.NAME).data() for r in range(m.rowCount())]


def test_app_starts_listening_and_stops_cleanly_without_leaks(qapp, qtbot, settings, broker_config):
    before = set(QApplication.topLevelWidgets())
    shell = Streamscope(qapp, broker_config, settings, theme="light", interactive=False)
    shell.start()
    qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
    host, port = shell.service.bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5):
        pass  # the listener accepts connections
    qtbot.waitUntil(lambda: shell.ticker.snapshot is not None, timeout=5000)
    assert shell.window.isVisible()
    assert "Listening on" in shell.window.status_listener.text()
    # Leave work running on the broker loop: in-process consumers and a background task.
    create_topic(shell, qtbot, "busy", 2)
    shell.commands.start_consumers("leftovers", "busy", 2, "range")
    qtbot.waitUntil(lambda: shell.commands.consumer_count("leftovers") == 2, timeout=10_000)

    async def forever(_broker):
        await asyncio.Event().wait()

    background = shell.service.spawn(forever)
    loop = shell.service._thread.loop

    shell.close()

    assert not shell.service.running
    assert not broker_threads()
    assert loop.is_closed()
    assert background.cancelled()
    assert not shell.service._background
    # Nothing was left pending on the broker's loop: consumers, pollers, server, flusher.
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before]
    assert leaked == [], [type(w).__name__ for w in leaked]
    shell.close()  # idempotent


def test_creating_a_topic_in_the_dialog_shows_it_in_the_table_and_to_real_clients(app_shell, qtbot):
    view = app_shell.window.topics
    app_shell.window.show_view("topics")
    view.create_action.trigger()
    dialog = view.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, "orders.v2")
    dialog.partitions.setValue(4)
    dialog.retention_time.amount.setValue(2)
    dialog.retention_time.unit.setCurrentText("hours")
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: view.dialog is not dialog, timeout=5000)
    qtbot.waitUntil(lambda: "orders.v2" in table_names(app_shell), timeout=5000)
    row = view.model.row_of("orders.v2")
    assert view.model.index(row, TopicsModel.PARTITIONS).data() == "4"
    assert view.model.index(row, TopicsModel.RETENTION).data() == "2 h"
    assert view.selected_topic() == "orders.v2"
    assert topic_partitions(app_shell.service.bootstrap, "orders.v2") == 4


def test_invalid_topic_names_are_explained_and_nothing_is_created(app_shell, qtbot):
    create_topic(app_shell, qtbot, "existing", 1)
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: "existing" in table_names(app_shell), timeout=5000)
    view = app_shell.window.topics
    dialog = view.open_create_dialog()

    for bad, reason in [
        ("", "Enter a topic name"),
        ("bad name!", "may contain only"),
        ("..", "cannot be"),
        ("x" * 250, "limit is 249"),
        ("existing", "already exists"),
    ]:
        dialog.name.setText(bad)
        assert not dialog.ok_button.isEnabled(), bad
        assert dialog.hint.isVisibleTo(dialog) and reason in dialog.hint.text(), bad
        dialog.accept()  # even forced, an invalid form sends nothing
        assert dialog.isVisible()

    dialog.name.setText("fine-name")
    assert dialog.ok_button.isEnabled() and not dialog.hint.isVisibleTo(dialog)
    dialog.reject()
    app_shell.ticker.refresh_now()
    assert table_names(app_shell) == ["existing"]
    assert topic_partitions(app_shell.service.bootstrap, "bad name!") is None


def test_a_broker_refusal_is_shown_inline_and_changes_nothing(app_shell, qtbot):
    create_topic(app_shell, qtbot, "three", 3)
    from streamscope.desktop.dialogs.add_partitions_dialog import AddPartitionsDialog

    # A stale view of the topic (1 partition) asks for 2: the broker says no.
    dialog = AddPartitionsDialog(app_shell.commands, "three", 1, parent=app_shell.window)
    dialog.open()
    dialog.total.setValue(2)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisibleTo(dialog), timeout=5000)
    assert dialog.error.text().startswith("INVALID_PARTITIONS:")
    assert dialog.isVisible()
    assert topic_partitions(app_shell.service.bootstrap, "three") == 3
    dialog.reject()
    dialog.deleteLater()


def test_adding_partitions_and_deleting_a_topic_through_the_gui(app_shell, qtbot):
    create_topic(app_shell, qtbot, "grow-me", 2)
    view = app_shell.window.topics
    app_shell.window.show_view("topics")
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: view.table.select_key("grow-me"), timeout=5000)

    dialog = view.open_add_partitions_dialog()
    dialog.total.setValue(5)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            view.model.index(view.model.row_of("grow-me"), TopicsModel.PARTITIONS).data() == "5"
        ),
        timeout=5000,
    )
    assert topic_partitions(app_shell.service.bootstrap, "grow-me") == 5

    confirm = view.open_delete_dialog()
    assert confirm.name_field.text() == "grow-me"
    qtbot.keyClicks(confirm.confirm, "grow-me")  # the name typed, as Kafka GUIs ask
    qtbot.mouseClick(confirm.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "grow-me" not in table_names(app_shell), timeout=5000)
    assert topic_partitions(app_shell.service.bootstrap, "grow-me") is None


def test_a_real_producer_makes_the_overview_rates_move(app_shell, qtbot):
    overview = app_shell.window.overview
    app_shell.window.show_view("overview")
    producer = ProducerThread(app_shell.service.bootstrap, "rates")
    producer.start()
    try:
        qtbot.waitUntil(lambda: app_shell.ticker.history.total_rates[0] > 500, timeout=15_000)
        qtbot.waitUntil(
            lambda: overview.cards["rate_in"].value.text() not in ("-", "0 msg/s"), timeout=5000
        )
        assert "msg/s" in app_shell.window.status_rates.text()
        x, y = overview.msg_chart._curves[0].getData()
        assert y is not None and y.max() > 500  # the chart line drawn from history
    finally:
        producer.stop()
    assert producer.sent > 0


def test_a_group_of_real_consumers_shows_its_members_and_assignment(app_shell, qtbot):
    create_topic(app_shell, qtbot, "events", 4)
    bootstrap = app_shell.service.bootstrap
    consumers = [ConsumerThread(bootstrap, "watchers", "events", f"watcher-{i}") for i in (1, 2)]
    for c in consumers:
        c.start()
    view = app_shell.window.groups
    app_shell.window.show_view("groups")
    try:

        def settled() -> bool:
            g = view.snapshot.group("watchers") if view.snapshot else None
            return (
                g is not None
                and g.state == "Stable"
                and len(g.members) == 2
                and all(len(c.assigned) == 2 for c in consumers)
                and sum(len(m.assignment) for m in g.members) == 4
            )

        qtbot.waitUntil(settled, timeout=30_000)
        assert view.select_group("watchers")
        row = view.model.row_of("watchers")
        assert view.model.index(row, GroupsModel.MEMBERS).data() == "2"
        assert view.model.index(row, GroupsModel.STATE).data() == "Stable"

        g = view.snapshot.group("watchers")
        by_client = {m.client_id: set(m.assignment) for m in g.members}
        # What the GUI shows is what each real consumer was actually given.
        assert by_client == {c.conf["client.id"]: c.assigned for c in consumers}
        members = view.members_model
        assert sorted(members.index(r, 0).data() for r in range(members.rowCount())) == [
            "watcher-1",
            "watcher-2",
        ]
        # The assignment drawing colours each partition by its owner, two colours in all.
        owners = [view.assignment.chip_owner("events", p) for p in range(4)]
        assert None not in owners and len(set(owners)) == 2
        assert view.lag_model.rowCount() == 4
    finally:
        for c in consumers:
            c.stop()
    assert all(c.error is None for c in consumers)


def test_offset_reset_in_the_gui_is_seen_by_a_real_consumer(app_shell, qtbot):
    create_topic(app_shell, qtbot, "replay", 1)
    bootstrap = app_shell.service.bootstrap
    produce(bootstrap, "replay", 20)
    first = ConsumerThread(
        bootstrap, "replayers", "replay", "replayer-1", **{"enable.auto.commit": False}
    )
    first.start()
    view = app_shell.window.groups
    app_shell.window.show_view("groups")

    def committed_at(offset: int) -> bool:
        g = view.snapshot.group("replayers") if view.snapshot else None
        return g is not None and any(o.committed_offset == offset for o in g.offsets)

    try:
        qtbot.waitUntil(lambda: len(first.offsets) == 20, timeout=30_000)
        qtbot.waitUntil(lambda: committed_at(20), timeout=10_000)
        assert view.select_group("replayers")
        # While the consumer is a member, the dialog explains why it cannot reset.
        busy = view.open_reset_dialog()
        assert not busy.ok_button.isEnabled()
        assert "only be reset while the group is empty" in busy.hint.text()
        busy.reject()
    finally:
        first.stop()
    qtbot.waitUntil(
        lambda: view.selected_group() is not None and not view.selected_group().members,
        timeout=15_000,
    )

    dialog = view.open_reset_dialog()
    dialog.kind.setCurrentIndex(dialog.kind.findData("offset"))
    dialog.offset.setValue(5)
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.dialog is not dialog, timeout=5000)
    qtbot.waitUntil(lambda: committed_at(5), timeout=5000)
    assert view.lag_model.index(0, 4).data() == "15"  # lag column: 20 - 5

    second = ConsumerThread(bootstrap, "replayers", "replay", "replayer-2")
    second.start()
    try:
        qtbot.waitUntil(lambda: len(second.offsets) >= 15, timeout=30_000)
    finally:
        second.stop()
    assert second.offsets[0] == (0, 5)  # resumed exactly where the GUI put the group
    assert [o for _, o in second.offsets[:15]] == list(range(5, 20))


def test_in_process_consumers_started_from_the_gui_join_and_leave(app_shell, qtbot):
    create_topic(app_shell, qtbot, "work", 6)
    app_shell.ticker.refresh_now()
    view = app_shell.window.groups
    app_shell.window.show_view("groups")
    qtbot.waitUntil(
        lambda: view.snapshot is not None and view.snapshot.topic("work") is not None, timeout=5000
    )
    dialog = view.open_start_dialog()
    dialog.group.setCurrentText("crew")
    dialog.set_selected_topics(["work"])
    dialog.count.setValue(3)
    dialog.assignor.setCurrentText("roundrobin")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.dialog is not dialog, timeout=10_000)

    def crew():
        return view.snapshot.group("crew") if view.snapshot else None

    qtbot.waitUntil(
        lambda: (
            crew() is not None
            and crew().state == "Stable"
            and len(crew().members) == 3
            and sum(len(m.assignment) for m in crew().members) == 6
        ),
        timeout=15_000,
    )
    assert crew().assignor == "roundrobin"
    assert {len(m.assignment) for m in crew().members} == {2}
    assert view.select_group("crew")
    assert view.stop_action.isEnabled()
    view.stop_action.trigger()
    qtbot.waitUntil(lambda: crew() is not None and not crew().members, timeout=15_000)
    assert app_shell.commands.consumer_count("crew") == 0


def test_deleting_an_empty_group_through_the_gui(app_shell, qtbot):
    create_topic(app_shell, qtbot, "solo", 1)
    produce(app_shell.service.bootstrap, "solo", 3)
    c = ConsumerThread(app_shell.service.bootstrap, "leaving", "solo", "leaver")
    c.start()
    view = app_shell.window.groups
    try:
        qtbot.waitUntil(lambda: len(c.offsets) == 3, timeout=30_000)
    finally:
        c.stop()
    qtbot.waitUntil(
        lambda: (
            view.snapshot.group("leaving") is not None
            and not view.snapshot.group("leaving").members
        ),
        timeout=10_000,
    )
    assert view.select_group("leaving")
    confirm = view.open_delete_dialog()
    qtbot.keyClicks(confirm.confirm, "leaving")  # the name typed, as Kafka GUIs ask
    qtbot.mouseClick(confirm.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of("leaving") < 0, timeout=5000)


def test_event_log_records_topic_and_group_events_and_filters_them(app_shell, qtbot):
    create_topic(app_shell, qtbot, "audit", 1)
    wait_logged(app_shell, qtbot, "Topic created", "Topic audit created with 1 partition")
    log = app_shell.window.event_log
    log.text.setText("nothing-matches-this")
    assert log.row_texts() == []
    log.text.setText("")
    log.kind.setCurrentIndex(log.kind.findData("topic_created"))
    assert all(label == "Topic created" for label, _ in log.row_texts())


def test_window_layout_theme_and_last_view_persist(qapp, qtbot, settings, broker_config):
    shell = Streamscope(qapp, broker_config, settings, interactive=False)
    shell.start()
    qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
    shell.window.show_view("clients")
    shell.window.set_theme("dark")
    shell.close()
    assert settings.value("view/current") == "clients"
    assert settings.value("theme") == "dark"

    again = Streamscope(qapp, broker_config, settings, interactive=False)
    try:
        assert again.window.current_view() == "clients"
        assert again.themes.name == "dark" and again.themes.theme.dark
    finally:
        again.close()
        again.themes.set_name("light")


def test_a_taken_port_is_reported_and_another_offered(qapp, qtbot, settings, broker_config):
    import dataclasses

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    config = dataclasses.replace(broker_config, port=taken)
    shell = Streamscope(qapp, config, settings, theme="light", interactive=True)
    try:
        shell.start()
        qtbot.waitUntil(lambda: shell.port_dialog is not None, timeout=15_000)
        dialog = shell.port_dialog
        assert (
            f"127.0.0.1:{taken} is already in use"
            in dialog.findChildren(QLabel)[0].text()
        )
        assert "in use" in shell.window.status_listener.text()
        qtbot.mouseClick(dialog.use_any, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: shell.service.running, timeout=15_000)
        port = int(shell.service.bootstrap.rsplit(":", 1)[1])
        assert port != taken
    finally:
        shell.close()
        blocker.close()
